//! What the voice says: the screen's instruction and error lines, read back from the
//! Slint `Speech` global the pages show them from (`ui/components/speech.slint`), so the
//! spoken words are the shown words, in the shown language, with no second copy here.

use std::cell::RefCell;
use std::rc::Rc;

use slint::ComponentHandle;

use crate::model::Language;
use crate::slint_ui as g;

/// The words for the view on screen now, for the runtime's voice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpokenPrompt {
    /// Which screen (or "idle" for the countdown over it). Log this, never `text`: the
    /// text can hold the citizen's (masked) name.
    pub screen: &'static str,
    pub language: Language,
    /// Whether the citizen has the voice on (the top bar's toggle).
    pub voice: bool,
    /// The instruction and the errors shown, as one utterance.
    pub text: String,
    /// The face-capture guidance line, which changes quickly: the runtime decides when
    /// it is steady enough to say (`None` on other screens).
    pub hint: Option<String>,
}

/// Where each view's prompt goes (the runtime's voice).
pub(crate) type PromptSink = Rc<dyn Fn(SpokenPrompt)>;

thread_local! {
    // Set once by `KioskWindow::on_prompt`; the UI thread is the only one that reads it.
    static SINK: RefCell<Option<PromptSink>> = RefCell::new(None);
}

pub(crate) fn set_sink(sink: PromptSink) {
    SINK.with(|s| *s.borrow_mut() = Some(sink));
}

/// Hands the prompt of what is on screen to the sink, if there is one. Called after every
/// applied view; cheap (a few string lookups), so camera hints may call it often.
pub(crate) fn announce(ui: &g::KioskWindow) {
    let Some(sink) = SINK.with(|s| s.borrow().clone()) else { return };
    sink(prompt(ui));
}

/// The prompt of what `ui` shows now.
pub(crate) fn prompt(ui: &g::KioskWindow) -> SpokenPrompt {
    let vm = ui.global::<g::Vm>();
    let speech = ui.global::<g::Speech>();
    let hint = speech.invoke_hint();
    SpokenPrompt {
        screen: if vm.get_idle_visible() { "idle" } else { screen_name(vm.get_screen()) },
        language: if ui.get_english() { Language::En } else { Language::ZhCn },
        voice: vm.get_voice(),
        text: speech.invoke_prompt().to_string(),
        hint: (!hint.is_empty()).then(|| hint.to_string()),
    }
}

fn screen_name(s: g::ScreenId) -> &'static str {
    use g::ScreenId as S;
    match s {
        S::Home => "home",
        S::CardReading => "card-reading",
        S::IdentityConfirm => "identity-confirm",
        S::CertificateChoice => "certificate-choice",
        S::CertificatePreview => "certificate-preview",
        S::Waiting => "waiting",
        S::Printing => "printing",
        S::TakeReceipt => "take-receipt",
        S::FaceCapture => "face-capture",
        S::ContributionRecord => "contribution-record",
        S::PensionPayments => "pension-payments",
        S::FlexibleOffer => "flexible-offer",
        S::SubsidyOffer => "subsidy-offer",
        S::JobSeekerForm => "job-seeker-form",
        S::Openings => "openings",
        S::RegistrationForm => "registration-form",
        S::ProgressLookup => "progress-lookup",
        S::ProgressStatus => "progress-status",
        S::Result => "result",
        S::Rating => "rating",
        S::Unavailable => "unavailable",
        S::MaintenancePin => "maintenance-pin",
        S::Maintenance => "maintenance",
    }
}
