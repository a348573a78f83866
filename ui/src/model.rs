//! The typed view model: plain Rust data the runtime builds for every screen, and the
//! intents the screen sends back. No Slint types here, so the presenter can produce and
//! test these without a window. The words inside (services, certificate kinds, reasons,
//! grades, face hints) are the session core's vocabulary, used as they are: the screens
//! are this crate's own, the meanings are not.
//!
//! Personal data arrives already masked (`MaskedIdentity`); the UI shows what it is given
//! and keeps nothing once the next `View` replaces it.

use std::fmt;

pub use session::maintenance::TestSubject;
pub use session::{
    ApplicationStatus, CertificateKind, CertificatePeriod, ContributionYear, District, FaceHint, IneligibleReason,
    JobKind, LivenessPrompt, RatingGrade, RatingReason, Service, UnemploymentReason, YearMonth,
};

/// Everything the window shows at one moment: one screen plus the cross-cutting state
/// (language, text size, the idle countdown overlay). The runtime owns all of it and
/// sends a fresh `View` whenever something changes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct View {
    pub screen: Screen,
    pub language: Language,
    pub text_size: TextSize,
    /// `Some` while the "are you still there?" countdown is over the screen.
    pub idle: Option<IdleCountdown>,
    /// The terminal also takes social security cards: the prompts name both cards.
    pub social_security_card: bool,
    /// Spoken guidance is on: the voice toggle shows checked and the runtime speaks
    /// each screen's instruction (`KioskWindow::on_prompt`).
    pub voice: bool,
}

impl View {
    /// A view of `screen` in the default language and text size, without overlay.
    pub fn new(screen: Screen) -> Self {
        Self { screen, ..Self::default() }
    }
}

/// The language the screen is shown in. Chinese first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Language {
    #[default]
    ZhCn,
    En,
}

impl Language {
    /// The gettext locale name of the bundled translation ("zh_CN", "en").
    pub fn locale(self) -> &'static str {
        match self {
            Language::ZhCn => "zh_CN",
            Language::En => "en",
        }
    }

    pub fn toggled(self) -> Self {
        match self {
            Language::ZhCn => Language::En,
            Language::En => Language::ZhCn,
        }
    }
}

/// Normal text, or large text for elderly citizens (about 1.35x).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TextSize {
    #[default]
    Normal,
    Large,
}

impl TextSize {
    pub fn toggled(self) -> Self {
        match self {
            TextSize::Normal => TextSize::Large,
            TextSize::Large => TextSize::Normal,
        }
    }
}

/// How the touchscreen is mounted: 1920x1080 landscape or 1080x1920 portrait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Orientation {
    #[default]
    Landscape,
    Portrait,
}

impl Orientation {
    /// Physical size in pixels of the screen in this orientation.
    pub fn size(self) -> (u32, u32) {
        match self {
            Orientation::Landscape => (1920, 1080),
            Orientation::Portrait => (1080, 1920),
        }
    }
}

/// One variant per screen, carrying exactly what that screen shows.
#[derive(Debug, Clone, PartialEq)]
pub enum Screen {
    /// Start screen: clock, service tiles, "choose a service / place your ID card".
    /// With a `holder` (the card was placed before a service was chosen) it greets the
    /// masked name, asks only to choose a service, and offers "finish, take your card"
    /// (`Intent::Cancel`). `notice` is one line about how the last session ended.
    Home { now: LocalTime, tiles: Vec<ServiceTile>, holder: Option<MaskedIdentity>, notice: Option<HomeNotice> },
    /// Waiting for / reading the ID card for `service`, or why reading failed.
    CardReading { service: Service, state: CardReadState },
    /// "Is this you?" with the masked name and ID number.
    IdentityConfirm { service: Service, identity: MaskedIdentity },
    /// Pick which certificate and which period. `can_continue` is decided by the runtime.
    CertificateChoice {
        kinds: Vec<CertificateKind>,
        selected_kind: Option<CertificateKind>,
        periods: Vec<CertificatePeriod>,
        selected_period: Option<CertificatePeriod>,
        can_continue: bool,
    },
    /// What will be printed, before printing.
    CertificatePreview { kind: CertificateKind, period: CertificatePeriod, rows: Vec<PreviewRow> },
    /// "Please wait" while the terminal works for `service` (talking to the central
    /// service). Back/Exit are offered except while `Activity::Submitting`: a
    /// submission must not be abandoned half way.
    Waiting { service: Service, activity: Activity },
    /// Printing in progress (0..=100).
    Printing { printout: Printout, percent: u8 },
    /// Printed: "take your receipt / certificate".
    TakeReceipt { printout: Printout },
    /// Face capture with live preview, guidance from the camera's hint code, countdown
    /// and liveness challenge. The preview is normally updated alone at 30 fps with
    /// `KioskHandle::show_frame`; `frame: None` keeps the last one while this screen
    /// stays up, and a capture screen shown after another screen starts blank.
    FaceCapture {
        service: Service,
        hint: FaceHint,
        countdown: Option<u8>,
        liveness: Option<LivenessPrompt>,
        frame: Option<Frame>,
    },
    /// Years of contributions as a table and a bar chart; optional print.
    ContributionRecord { identity: MaskedIdentity, years: Vec<ContributionYear>, total_months: u32, can_print: bool },
    /// The last months of pension paid (oldest first) and their total; optional print.
    PensionPayments { identity: MaskedIdentity, payments: Vec<PaymentLine>, total_fen: u64, can_print: bool },
    /// Flexible employment: one chip per contribution band with its monthly cost, and
    /// when the first payment is due.
    FlexibleOffer {
        bands: Vec<BandChoice>,
        selected: Option<u16>,
        first_payment_due: Option<time::Date>,
        /// A band must be chosen first; the runtime says when one was not.
        missing_band: bool,
    },
    /// The "4050" subsidy: how much is paid back each month and for how long; Confirm applies.
    SubsidyOffer { monthly_fen: u64, months: u32 },
    /// Job seeker registration: phone number on the keypad, job kind and district chips.
    JobSeekerForm {
        phone: KeypadField,
        kinds: Vec<JobKind>,
        selected_kind: Option<JobKind>,
        districts: Vec<District>,
        selected_district: Option<District>,
        can_submit: bool,
    },
    /// The openings that match the job seeker's profile, with their contact codes;
    /// Confirm registers and prints them. `found: false`: they could not be looked up.
    Openings { kind: JobKind, district: District, openings: Vec<OpeningLine>, found: bool },
    /// Unemployment registration: phone number on the keypad, reason chips.
    RegistrationForm {
        phone: KeypadField,
        reasons: Vec<UnemploymentReason>,
        selected_reason: Option<UnemploymentReason>,
        can_submit: bool,
    },
    /// Type the tracking number from an earlier receipt.
    ProgressLookup { tracking: KeypadField, can_submit: bool },
    /// Status of one application found by tracking number.
    ProgressStatus {
        tracking_number: String,
        service: Service,
        status: ApplicationStatus,
        /// The day it was submitted, or for `ApplicationStatus::Queued` the day it was saved.
        submitted_on: time::Date,
        deadline: Option<time::Date>,
    },
    /// How a service ended, with the tracking number when there is one, and what
    /// became of the receipt that carries it.
    Result {
        service: Service,
        kind: ResultKind,
        tracking_number: Option<String>,
        receipt: ReceiptNote,
        /// A flexible worker's monthly payment and its first due date, stated with the number.
        terms: Option<PaymentTerms>,
    },
    /// 好差评: five grades, then optional reason chips offered for that grade.
    Rating {
        service: Service,
        selected: Option<RatingGrade>,
        reasons: Vec<RatingReason>,
        selected_reasons: Vec<RatingReason>,
    },
    /// A service (or, with `None`, the whole terminal) cannot be used right now.
    Unavailable { service: Option<Service>, reason: UnavailableReason },
    /// Technician PIN pad after the hidden gesture. Only the number of digits is shown.
    MaintenancePin { entered: u8, length: u8, error: Option<PinError> },
    /// Technician screen after a correct PIN.
    Maintenance { terminal_id: String, software_version: String, devices: Vec<DeviceHealth>, tools: MaintenanceTools },
}

impl Default for Screen {
    fn default() -> Self {
        Screen::Home {
            now: LocalTime::default(),
            tiles: Service::ALL.iter().map(|&s| ServiceTile::available(s)).collect(),
            holder: None,
            notice: None,
        }
    }
}

/// One line on the home screen about how the previous session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HomeNotice {
    /// Nobody answered the idle countdown; the session was closed.
    SessionTimedOut,
    /// The ID card was taken off the reader; the session was closed.
    CardRemoved,
    /// The service is finished: "thank you".
    ThankYou,
    /// The chosen service stopped being available; choose another or come back later.
    ServiceBecameUnavailable,
    /// A card placed on the start screen cannot be used, and why.
    CardRefused(CardError),
}

/// What the terminal is doing while the `Waiting` screen shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Activity {
    /// The central service is issuing the certificate (before printing).
    IssuingCertificate,
    /// Sending an application; cannot be abandoned.
    Submitting,
    /// Fetching the contribution record.
    LoadingRecord,
    /// Looking up an application by tracking number.
    LookingUpApplication,
    /// Fetching the pension payment record.
    LoadingPayments,
    /// Asking the registry whether the person may register, and on what terms.
    CheckingEligibility,
    /// Looking up the openings that match a job seeker's profile.
    LookingUpOpenings,
}

impl Activity {
    /// Whether the person may leave (Back/Exit) while this runs.
    pub fn can_leave(self) -> bool {
        self != Activity::Submitting
    }
}

/// What became of the receipt on the `Result` screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ReceiptNote {
    /// No receipt for this result.
    #[default]
    None,
    /// The receipt is being printed.
    Printing,
    /// "Take your receipt."
    Printed,
    /// The printer could not print it: "please note your tracking number" (shown large).
    NotPrinted(UnavailableReason),
}

/// Wall-clock time as the runtime read it, China time (the UI never reads the clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    pub date: time::Date,
    pub hour: u8,
    pub minute: u8,
}

impl Default for LocalTime {
    /// The epoch: a clock that has not been set yet.
    fn default() -> Self {
        Self { date: time::OffsetDateTime::UNIX_EPOCH.date(), hour: 0, minute: 0 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceTile {
    pub service: Service,
    pub availability: Availability,
}

impl ServiceTile {
    pub fn available(service: Service) -> Self {
        Self { service, availability: Availability::Available }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    Available,
    Unavailable(UnavailableReason),
}

/// Why a service (or the terminal) cannot be used; shown to the citizen in one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnavailableReason {
    PrinterOutOfPaper,
    PrinterFault,
    CameraUnavailable,
    CardReaderFault,
    /// The central service cannot be reached and the item needs it live.
    CentralOffline,
    /// A technician is working on the terminal.
    Maintenance,
    /// Operations retired the terminal (decommissioned): nothing is offered until a
    /// technician enrolls it again.
    OutOfService,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardReadState {
    /// "Place your ID card on the reader."
    WaitingForCard,
    /// Card detected, reading; "keep the card still".
    Reading,
    Failed(CardError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CardError {
    /// Could not be read: move it / place it again.
    Unreadable,
    /// The card has expired.
    Expired,
    /// Not a second-generation resident ID card.
    WrongCardType,
    /// Read, but the data failed its checks (damaged or forged card): ask staff.
    Invalid,
    /// A social security card reported lost or no longer valid: use the ID card.
    Blocked,
    /// A card this terminal cannot read (its data needs a security module): use the ID card.
    Unsupported,
}

/// Name and ID number, already masked by the runtime (`张*三`, `1101**********002X`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MaskedIdentity {
    pub name: String,
    pub id_number: String,
}

/// One month of pension paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentLine {
    pub month: YearMonth,
    pub amount_fen: u64,
    pub paid_on: time::Date,
}

/// A contribution band on the flexible employment form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BandChoice {
    /// Percent of the city's average wage; what the citizen picks.
    pub percent: u16,
    pub base_fen: u64,
    pub monthly_fen: u64,
}

/// One job opening as listed: no personal data (the employer is reached by the code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpeningLine {
    pub contact_code: String,
    pub title: String,
    pub employer: String,
    pub wage_min_fen: u64,
    pub wage_max_fen: u64,
}

/// What a flexible worker pays each month and when the first payment is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentTerms {
    pub monthly_fen: u64,
    pub first_payment_due: Option<time::Date>,
}

/// One labelled line of the certificate preview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewRow {
    pub field: PreviewField,
    pub value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PreviewField {
    Name,
    IdNumber,
    Insurance,
    Period,
    Employer,
    Status,
    MonthsPaid,
    VerificationCode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Printout {
    Certificate,
    ContributionRecord,
    PensionPayments,
    /// A tracking receipt (qualification check, registration, check-in).
    Receipt,
}

/// One camera preview frame: tightly packed RGB8, row-major, `width * height * 3` bytes.
/// Its Debug never prints the pixels (a face is personal data).
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Frame({}x{}, {} bytes)", self.width, self.height, self.rgb.len())
    }
}

/// A numeric field typed on the on-screen keypad.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeypadField {
    /// Digits typed so far (the runtime appends/removes on keypad intents).
    pub value: String,
    pub max_len: u8,
    pub error: Option<InputError>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InputError {
    /// Not a valid mainland mobile number.
    InvalidPhone,
    /// The tracking number is too short or fails its check digit.
    InvalidTrackingNumber,
    /// No application has that tracking number.
    TrackingNumberNotFound,
    /// A certificate's verification code was scanned, not a receipt's tracking number.
    NotAnApplication,
}

/// How a service ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResultKind {
    /// Finished on the spot (printed, shown).
    Done,
    /// Delivered to the central service.
    Submitted,
    /// Saved on the terminal; sent when the network is back. Nothing is lost.
    Queued,
    /// Accepted, a person will review it (e.g. qualification check).
    PendingReview,
    Failed(FailureReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureReason {
    /// The face did not match the ID card photo.
    FaceNotMatched,
    /// Liveness challenge not passed.
    LivenessFailed,
    PrinterFault,
    /// The central service refused (e.g. not eligible); visit a counter.
    Refused,
    /// The registry says the person cannot have this service, and why.
    NotEligible(IneligibleReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdleCountdown {
    pub seconds_left: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PinError {
    WrongPin { attempts_left: u8 },
    LockedOut,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceHealth {
    /// The device (or the network) the line is about, as the technician tests it.
    pub device: TestSubject,
    /// `None` when the device works.
    pub problem: Option<UnavailableReason>,
    /// What the last self-test from this screen found; `None` before the first.
    pub test: Option<SelfTest>,
}

/// A self-test's progress and finding, shown under the device's state on the maintenance screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelfTest {
    /// Started; waiting for the device.
    Running,
    /// The reader works: place a (test) card on it to read one.
    PlaceCard,
    /// A card was read; only its masked number is shown (`1101**********002X`).
    CardRead { masked_id: String },
    /// A card was placed but cannot be used, and why.
    CardRefused(CardError),
    /// The test page came out of the printer.
    TestPagePrinted,
    /// The camera delivers analysed frames.
    CameraWorks,
    /// The central service answered, in this many milliseconds.
    CentralAnswered { millis: u32 },
    /// The scanner works: scan a (test) receipt to read its code.
    ScanCode,
    /// The scanner read this code (a receipt's tracking number or reference).
    Scanned { code: String },
    /// The test failed, and why.
    Failed(UnavailableReason),
}

/// The maintenance screen's tools beyond the self-tests: what the guided install did,
/// done again without a shell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MaintenanceTools {
    /// The last reprint of the provisioning receipt; `None` before the first.
    pub reprint: Option<ReceiptReprint>,
    /// The last re-detection of the devices; `None` before the first (or once put away).
    pub redetect: Option<Redetection>,
}

/// The provisioning receipt's reprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptReprint {
    Printing,
    Printed,
    /// This terminal was not installed with `kiosk-provision install` (or its record is gone).
    NoInstallRecord,
    /// The install record is there but damaged.
    RecordUnreadable,
    /// The printer failed, and why.
    PrinterFailed(UnavailableReason),
}

/// Re-detection of the devices, from running to applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redetection {
    Running,
    /// Each device's configured port beside the one found; `can_apply` when one changed.
    Found {
        ports: Vec<PortLine>,
        can_apply: bool,
    },
    /// Detection gave no answer; `detail` is the tool's own words (may be empty).
    Failed {
        why: DetectFailure,
        detail: String,
    },
    /// The changes are being written to the configuration.
    Applying {
        ports: Vec<PortLine>,
    },
    /// Written: the terminal restarts on the new ports.
    Applied,
    /// Not written (the configuration is as it was), and why.
    ApplyFailed {
        detail: String,
    },
}

/// One device on the re-detection list. Device paths only: nothing personal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortLine {
    pub device: TestSubject,
    pub change: PortChange,
    /// The configured port (empty when none is).
    pub configured: String,
    /// Where it was found (empty when it was not).
    pub found: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortChange {
    Same,
    Moved,
    Missing,
    New,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DetectFailure {
    ToolMissing,
    ToolFailed,
    Unreadable,
    TimedOut,
    NothingFound,
}

/// Everything a person at the screen can do. Sent on the intent channel; the runtime
/// decides what happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Intent {
    ChooseService(Service),
    /// The screen's primary action (continue, print, submit, "this is me", done).
    Confirm,
    /// One step back.
    Back,
    /// Abandon the service and return home.
    Cancel,
    /// Try again after an error (card unreadable, face not matched).
    Retry,
    KeypadDigit(u8),
    KeypadBackspace,
    KeypadClear,
    PickCertificateKind(CertificateKind),
    PickCertificatePeriod(CertificatePeriod),
    PickUnemploymentReason(UnemploymentReason),
    /// A contribution band (its percent) on the flexible employment form.
    PickBand(u16),
    PickJobKind(JobKind),
    PickDistrict(District),
    /// Print the contribution record shown on screen.
    Print,
    Rate(RatingGrade),
    ToggleRatingReason(RatingReason),
    /// Leave without rating.
    SkipRating,
    ToggleLanguage,
    ToggleLargeText,
    /// The voice toggle: spoken guidance on or off.
    ToggleVoice,
    /// Touched the screen during the idle countdown.
    StillHere,
    /// The hidden maintenance gesture was performed (five taps on the top-left corner).
    MaintenanceGesture,
    /// Technician asks for a self-test of one device.
    SelfTest(TestSubject),
    /// Print the provisioning receipt again.
    ReprintProvisioningReceipt,
    /// Look for the devices again.
    RedetectDevices,
    /// Write the re-detected ports into the configuration (and restart).
    ApplyDetectedPorts,
    /// Back to the device list from re-detection's findings.
    CloseDetection,
    ExitMaintenance,
}
