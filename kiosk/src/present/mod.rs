//! The presenter: turns the session core's screens into the `ui` crate's view model and
//! the window's intents into core events. The core decides what happens; the presenter
//! decides how it looks and holds what is being typed or picked before it is confirmed
//! (keypad digits, chips, the chosen grade), which it forgets whenever the core moves on.

mod maintenance;
mod mapping;
#[cfg(test)]
mod tests;

use crate::config::PIN_DIGITS;
use session::maintenance::Pin;
use session::{Event, Intent as CoreIntent, Screen as CoreScreen};
use ui::model::{
    CertificateKind, CertificatePeriod, District, IdleCountdown, Intent, JobKind, Language, LocalTime, RatingGrade,
    RatingReason, Screen, TextSize, UnemploymentReason, View,
};

/// Digits of a mainland mobile number.
const PHONE_LEN: u8 = 11;
/// Digits typed for a tracking number (date + serial, see `central::service`).
const TRACKING_MAX: u8 = 20;

/// What the window shows, built from the core's last screen plus the drafts.
#[derive(Debug, Default)]
pub struct Presenter {
    /// The terminal's configured start language; every new citizen starts in it.
    home_language: Language,
    language: Language,
    text_size: TextSize,
    /// Whether every citizen starts with the voice on (the terminal's `voice.on_by_default`).
    home_voice: bool,
    /// Spoken guidance is on for this citizen.
    voice: bool,
    /// The citizen used the voice toggle: large text no longer changes it.
    voice_chosen: bool,
    screen: Option<CoreScreen>,
    idle: Option<u32>,
    drafts: Drafts,
    /// This terminal's device id, for the maintenance screen.
    terminal_id: String,
    /// The terminal also reads social security cards: the prompts name both cards.
    social_security_card: bool,
    /// The printing bar's percent; it belongs to the screen it was reported on.
    printing: u8,
}

/// Picks and keypad input not yet confirmed. The phone number is personal data: it is
/// dropped with everything else when the core shows a new form or the start screen.
#[derive(Debug, Default, PartialEq)]
struct Drafts {
    kind: Option<CertificateKind>,
    period: Option<CertificatePeriod>,
    phone: String,
    reason: Option<UnemploymentReason>,
    /// The contribution band picked on the flexible employment form (its percent).
    band: Option<u16>,
    /// The job seeker's chips.
    job_kind: Option<JobKind>,
    district: Option<District>,
    tracking: String,
    grade: Option<RatingGrade>,
    rating_reasons: Vec<RatingReason>,
    /// "Try again" after a refused card: show the plain prompt until the next card.
    card_problem_dismissed: bool,
    /// A technician PIN being typed; dropped whenever the core shows a screen.
    pin: Pin,
}

impl Presenter {
    pub fn new() -> Self {
        Self::default()
    }

    /// A presenter whose citizens start in `language`.
    pub fn with_language(language: Language) -> Self {
        Self { home_language: language, language, ..Self::default() }
    }

    /// Every new citizen starts with the voice on (`true`) or off. Large text turns it on
    /// either way, unless the citizen turned it off.
    pub fn set_voice_default(&mut self, on: bool) {
        self.home_voice = on;
        if !self.voice_chosen && self.text_size == TextSize::Normal {
            self.voice = on;
        }
    }

    /// Names the terminal on the maintenance screen (known once it is enrolled).
    pub fn set_terminal_id(&mut self, id: impl Into<String>) {
        self.terminal_id = id.into();
    }

    /// Says the terminal has a social security card reader (its prompts name both cards).
    pub fn set_social_security_card(&mut self, yes: bool) {
        self.social_security_card = yes;
    }

    /// The core showed `screen` (an `Effect::Show`).
    pub fn show(&mut self, screen: CoreScreen) {
        self.printing = 0;
        let fresh = |d: &mut Drafts| *d = Drafts::default();
        match &screen {
            // A finished session: the next person starts in the terminal's language.
            CoreScreen::Welcome { .. } => {
                if !matches!(self.screen, None | Some(CoreScreen::Welcome { .. })) {
                    self.language = self.home_language;
                    self.text_size = TextSize::default();
                    self.voice = self.home_voice;
                    self.voice_chosen = false;
                }
                fresh(&mut self.drafts);
            }
            CoreScreen::CertificateChoice { .. }
            | CoreScreen::Rating { .. }
            | CoreScreen::PlaceCard { .. }
            | CoreScreen::MaintenancePin { .. }
            | CoreScreen::Maintenance(_) => fresh(&mut self.drafts),
            // A rejected form keeps what was typed so it can be corrected.
            CoreScreen::RegistrationForm { error: None, .. }
            | CoreScreen::TrackingEntry { error: None, .. }
            | CoreScreen::FlexibleOffer { error: None, .. }
            | CoreScreen::JobSeekerForm { error: None, .. } => fresh(&mut self.drafts),
            _ => {}
        }
        self.screen = Some(screen);
    }

    /// The idle countdown overlay (`Effect::Countdown`).
    pub fn countdown(&mut self, seconds_left: Option<u32>) {
        self.idle = seconds_left;
    }

    /// How far the printout on the printing screen got (`ScreenSink::printing`).
    pub fn printing(&mut self, percent: u8) {
        self.printing = percent.min(100);
    }

    /// A touch on the window. Returns the events for the core; every intent also
    /// changes what is drawn, so the caller redraws with [`Presenter::view`].
    pub fn intent(&mut self, intent: Intent) -> Vec<Event> {
        let touch = |i: CoreIntent| vec![Event::Touch(i)];
        // Local changes still tell the core the citizen is there (idle clock).
        let here = || vec![Event::Touch(CoreIntent::StillHere)];
        let d = &mut self.drafts;
        match intent {
            Intent::ToggleLanguage => {
                self.language = self.language.toggled();
                here()
            }
            Intent::ToggleLargeText => {
                self.text_size = self.text_size.toggled();
                // Large text is asked for by those who see badly: they get the voice too,
                // unless they turned it off (or on) themselves.
                if !self.voice_chosen {
                    self.voice = self.text_size == TextSize::Large || self.home_voice;
                }
                here()
            }
            Intent::ToggleVoice => {
                self.voice = !self.voice;
                self.voice_chosen = true;
                here()
            }
            Intent::StillHere => here(),
            Intent::ChooseService(s) => touch(CoreIntent::Choose(s)),
            Intent::Back => touch(CoreIntent::Back),
            Intent::Cancel => touch(CoreIntent::Exit),
            Intent::Print => touch(CoreIntent::Print),
            Intent::SkipRating => touch(CoreIntent::SkipRating),
            Intent::Retry => match &self.screen {
                Some(CoreScreen::PlaceCard { .. }) => {
                    d.card_problem_dismissed = true;
                    here()
                }
                Some(CoreScreen::Failed { .. }) => touch(CoreIntent::RetryCapture),
                _ => here(),
            },
            Intent::KeypadDigit(n) => {
                let digit = char::from(b'0' + n.min(9));
                match &self.screen {
                    Some(CoreScreen::RegistrationForm { .. } | CoreScreen::JobSeekerForm { .. })
                        if d.phone.len() < usize::from(PHONE_LEN) =>
                    {
                        d.phone.push(digit)
                    }
                    Some(CoreScreen::TrackingEntry { .. }) if d.tracking.len() < usize::from(TRACKING_MAX) => {
                        d.tracking.push(digit)
                    }
                    Some(CoreScreen::MaintenancePin { .. }) if d.pin.len() < PIN_DIGITS => d.pin.push(digit),
                    _ => {}
                }
                here()
            }
            Intent::KeypadBackspace | Intent::KeypadClear
                if matches!(self.screen, Some(CoreScreen::MaintenancePin { .. })) =>
            {
                if intent == Intent::KeypadClear {
                    d.pin.clear();
                } else {
                    d.pin.pop();
                }
                here()
            }
            Intent::KeypadBackspace | Intent::KeypadClear => {
                let field = match &self.screen {
                    Some(CoreScreen::RegistrationForm { .. } | CoreScreen::JobSeekerForm { .. }) => Some(&mut d.phone),
                    Some(CoreScreen::TrackingEntry { .. }) => Some(&mut d.tracking),
                    _ => None,
                };
                if let Some(field) = field {
                    if intent == Intent::KeypadClear {
                        field.clear();
                    } else {
                        field.pop();
                    }
                }
                here()
            }
            Intent::PickCertificateKind(k) => {
                d.kind = Some(k);
                here()
            }
            Intent::PickCertificatePeriod(p) => {
                d.period = Some(p);
                here()
            }
            Intent::PickUnemploymentReason(r) => {
                d.reason = Some(r);
                here()
            }
            Intent::PickJobKind(k) => {
                d.job_kind = Some(k);
                here()
            }
            Intent::PickDistrict(district) => {
                d.district = Some(district);
                here()
            }
            Intent::PickBand(percent) => {
                if let Some(CoreScreen::FlexibleOffer { bands, .. }) = &self.screen
                    && bands.iter().any(|b| b.percent == percent)
                {
                    d.band = Some(percent);
                }
                here()
            }
            Intent::Rate(grade) => {
                if d.grade != Some(grade) {
                    d.grade = Some(grade);
                    // Reasons belong to a grade's side (praise or complaint).
                    let offered = grade.reasons();
                    d.rating_reasons.retain(|r| offered.contains(r));
                }
                here()
            }
            Intent::ToggleRatingReason(r) => {
                match d.rating_reasons.iter().position(|x| *x == r) {
                    Some(i) => {
                        d.rating_reasons.remove(i);
                    }
                    None => d.rating_reasons.push(r),
                }
                here()
            }
            Intent::Confirm => self.confirm(),
            // The core opens the PIN pad only from the start screen with nobody in session.
            Intent::MaintenanceGesture => touch(CoreIntent::Maintenance),
            Intent::SelfTest(subject) => touch(CoreIntent::SelfTest(subject)),
            Intent::ReprintProvisioningReceipt => touch(CoreIntent::ReprintProvisioningReceipt),
            Intent::RedetectDevices => touch(CoreIntent::RedetectDevices),
            Intent::ApplyDetectedPorts => touch(CoreIntent::ApplyDetectedPorts),
            Intent::CloseDetection => touch(CoreIntent::CloseDetection),
            Intent::ExitMaintenance => touch(CoreIntent::ExitMaintenance),
        }
    }

    /// The screen's primary action, completed with the drafts.
    fn confirm(&mut self) -> Vec<Event> {
        let d = &self.drafts;
        let intent = match &self.screen {
            Some(CoreScreen::Identity { .. }) => CoreIntent::Confirm,
            Some(CoreScreen::CertificateChoice { .. }) => match (d.kind, d.period) {
                (Some(kind), Some(period)) => CoreIntent::ChooseCertificate { kind, period },
                _ => CoreIntent::StillHere,
            },
            Some(CoreScreen::CertificatePreview { .. }) => CoreIntent::Print,
            Some(CoreScreen::RegistrationForm { .. }) => {
                CoreIntent::SubmitRegistration { phone: d.phone.clone(), reason: d.reason }
            }
            Some(CoreScreen::TrackingEntry { .. }) => CoreIntent::SubmitTracking(d.tracking.clone()),
            Some(CoreScreen::FlexibleOffer { .. }) => CoreIntent::SubmitFlexibleRegistration { percent: d.band },
            Some(CoreScreen::SubsidyOffer { .. } | CoreScreen::Openings { .. }) => CoreIntent::Confirm,
            Some(CoreScreen::JobSeekerForm { .. }) => {
                CoreIntent::SubmitJobSeeker { phone: d.phone.clone(), kind: d.job_kind, district: d.district }
            }
            Some(CoreScreen::MaintenancePin { .. }) if !d.pin.is_empty() => CoreIntent::SubmitPin(d.pin.clone()),
            Some(CoreScreen::Rating { .. }) => match d.grade {
                Some(grade) => CoreIntent::Rate { grade, reasons: d.rating_reasons.clone() },
                None => CoreIntent::StillHere,
            },
            Some(
                CoreScreen::Receipt { .. }
                | CoreScreen::Printed { .. }
                | CoreScreen::Failed { .. }
                | CoreScreen::Progress(_)
                | CoreScreen::Contributions { .. }
                | CoreScreen::PensionPayments { .. }
                | CoreScreen::NotEligible { .. },
            ) => CoreIntent::Done,
            _ => CoreIntent::StillHere,
        };
        vec![Event::Touch(intent)]
    }

    /// The view for the window, with `now` for the clock on the start screen.
    pub fn view(&self, now: LocalTime) -> View {
        let mut screen = match &self.screen {
            Some(s) => mapping::screen(s, &self.drafts, self.language, now, &self.terminal_id),
            None => Screen::default(),
        };
        if let Screen::Printing { percent, .. } = &mut screen {
            *percent = self.printing;
        }
        View {
            screen,
            language: self.language,
            text_size: self.text_size,
            social_security_card: self.social_security_card,
            voice: self.voice,
            idle: self.idle.map(|s| IdleCountdown { seconds_left: u8::try_from(s).unwrap_or(u8::MAX) }),
        }
    }

    /// True while a draft holds something the citizen typed or picked.
    pub fn holds_drafts(&self) -> bool {
        self.drafts != Drafts::default()
    }
}

/// The wall-clock time for the start screen, China time.
pub fn local_time(now: time::OffsetDateTime) -> LocalTime {
    let t = contract::china_time::in_china(now);
    LocalTime { date: t.date(), hour: t.hour(), minute: t.minute() }
}
