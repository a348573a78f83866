//! What the session core asks the touchscreen to show: plain data snapshots, one
//! variant per screen, mapped onto the `ui` crate's view model by the runtime's
//! presenter. The words inside them (services, kinds, hints) are the shared vocabulary
//! the UI uses as well.

use super::maintenance::{PinRefusal, SelfTests};
use super::personal::{ContributionRecord, IssuedCertificate, PaymentRecord, PersonName};
use super::{
    CardProblem, CertificateKind, CertificatePeriod, ContributionBand, Device, District, IneligibleReason, JobKind,
    JobOpening, Problem, Service, Terms,
};

/// Why a service cannot be offered right now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unavailable {
    pub device: Device,
    pub problem: Problem,
}

/// A service tile on the menu: enabled, or disabled with the reason shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceTile {
    pub service: Service,
    pub unavailable: Option<Unavailable>,
}

/// A one-line message shown on top of a screen (why the previous session ended, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice {
    CardRemoved,
    TimedOut,
    ThankYou,
    /// A card was placed on the start screen but cannot be used.
    Card(CardProblem),
    ServiceBecameUnavailable,
}

/// What the citizen waits for while a spinner turns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Waiting {
    IssuingCertificate,
    Printing,
    Submitting,
    LoadingContributions,
    LookingUpApplication,
    LoadingPayments,
    CheckingEligibility,
    LookingUpOpenings,
}

/// Face capture guidance as the camera reports it: where the face should go, the
/// seconds left (when the camera counts down) and the liveness step asked for now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CaptureHint {
    pub guide: FaceHint,
    pub countdown: Option<u8>,
    pub liveness: Option<LivenessPrompt>,
}

/// Guidance for the person in front of the camera, from the camera's analysis of the
/// current frame. Left and right are the citizen's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaceHint {
    NoFace,
    MultipleFaces,
    MoveCloser,
    MoveBack,
    MoveLeft,
    MoveRight,
    LookStraight,
    TooDark,
    TooBright,
    /// The picture is not sharp.
    Blurry,
    HoldStill,
    /// Face found and well placed.
    Good,
}

/// The liveness step the person is asked for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LivenessPrompt {
    Blink,
    TurnHeadLeft,
    TurnHeadRight,
    OpenMouth,
    Nod,
}

/// Outcome of a submission as the receipt states it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// The central service accepted it; the tracking number is the server's.
    Submitted { tracking: String, decision: Decision },
    /// Stored on the terminal and sent when the network returns; `reference` is
    /// the local reference printed on the receipt (derived from the idempotency key).
    Queued { reference: String },
}

/// The central service's decision on a submission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Approved,
    Rejected,
    PendingReview,
    /// Registrations and check-ins: recorded, no decision to show.
    Recorded,
}

/// Whether the receipt came out of the printer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReceiptState {
    Printing,
    Printed,
    /// The printer is unavailable or failed: the screen is the receipt.
    ScreenOnly(Option<Problem>),
}

/// Progress of an earlier application (no personal data: found by tracking number).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplicationProgress {
    pub tracking: String,
    pub service: Service,
    pub status: ApplicationStatus,
    /// The day it was submitted (China time), or for `Queued` the day it was saved.
    pub submitted_on: time::Date,
    /// When the office must have decided.
    pub deadline: Option<time::Date>,
}

/// Where an application stands, as the citizen is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApplicationStatus {
    Received,
    UnderReview,
    Approved,
    Rejected,
    /// Done, nothing to decide (a monthly check-in).
    Completed,
    /// Saved on this terminal and not yet sent (the network was down); it is sent by
    /// itself when the network is back.
    Queued,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Screen {
    /// No session: "place your ID card", with the services that are down listed.
    Welcome {
        tiles: Vec<ServiceTile>,
        notice: Option<Notice>,
    },
    /// The card was read: the holder's name (masked) and the menu.
    Menu {
        holder: Option<PersonName>,
        /// The holder's ID number, masked (`1101**********002X`).
        masked_id: Option<String>,
        tiles: Vec<ServiceTile>,
        notice: Option<Notice>,
    },
    /// A service was chosen before the card: "place your ID card", or why the card
    /// just placed cannot be used.
    PlaceCard {
        service: Service,
        problem: Option<CardProblem>,
    },
    /// "Is this you?" before a service starts for the card holder.
    Identity {
        service: Service,
        holder: PersonName,
        masked_id: String,
    },
    /// A spinner while `what` happens for `service`.
    Waiting {
        service: Service,
        what: Waiting,
    },
    CertificateChoice {
        kinds: Vec<CertificateKind>,
        periods: Vec<CertificatePeriod>,
    },
    CertificatePreview {
        certificate: IssuedCertificate,
    },
    /// Face capture with guidance; `service` is the flow it belongs to.
    Capture {
        service: Service,
        hint: Option<CaptureHint>,
    },
    Contributions {
        holder: PersonName,
        masked_id: String,
        record: ContributionRecord,
        can_print: Option<Unavailable>,
    },
    PensionPayments {
        holder: PersonName,
        masked_id: String,
        record: PaymentRecord,
        can_print: Option<Unavailable>,
    },
    RegistrationForm {
        phone: String,
        error: Option<FormError>,
    },
    /// Flexible employment: the bands with their monthly cost, to choose one.
    FlexibleOffer {
        bands: Vec<ContributionBand>,
        first_payment_due: Option<time::Date>,
        error: Option<FormError>,
    },
    /// The "4050" subsidy offered: how much each month, for how long; confirm to apply.
    SubsidyOffer {
        monthly_fen: i64,
        months: u32,
    },
    /// The job seeker's profile: mobile number on the keypad, job kind and district chips.
    JobSeekerForm {
        phone: String,
        error: Option<FormError>,
    },
    /// The openings that match the profile (`found: false`: they could not be looked up
    /// now; registering still works); confirm registers and prints them.
    Openings {
        kind: JobKind,
        district: District,
        openings: Vec<JobOpening>,
        found: bool,
    },
    /// The registry says no, and why: the citizen goes to a counter (or nowhere).
    NotEligible {
        service: Service,
        reason: IneligibleReason,
    },
    TrackingEntry {
        typed: String,
        error: Option<FormError>,
    },
    Progress(ApplicationProgress),
    /// A finished submission: what was sent, whether it was submitted or queued.
    Receipt {
        service: Service,
        delivery: Delivery,
        receipt: ReceiptState,
        /// What else the receipt states (a flexible worker's payments).
        terms: Option<Terms>,
    },
    /// A certificate or record went to the printer (or failed to).
    Printed {
        service: Service,
        result: Result<(), Problem>,
    },
    /// Something failed in a way the citizen can only retry later.
    Failed {
        service: Service,
        reason: Failure,
    },
    Rating {
        service: Service,
    },
    /// The technician PIN pad, with why the last PIN was refused.
    MaintenancePin {
        error: Option<PinRefusal>,
    },
    /// The maintenance screen: device health and self-test findings.
    Maintenance(SelfTests),
}

impl Screen {
    /// The screen's name, for logs: which screen, never what is on it (a typed phone
    /// number, a holder's name, a tracking number).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Welcome { .. } => "welcome",
            Self::Menu { .. } => "menu",
            Self::PlaceCard { .. } => "place_card",
            Self::Identity { .. } => "identity",
            Self::Waiting { .. } => "waiting",
            Self::CertificateChoice { .. } => "certificate_choice",
            Self::CertificatePreview { .. } => "certificate_preview",
            Self::Capture { .. } => "capture",
            Self::Contributions { .. } => "contributions",
            Self::PensionPayments { .. } => "pension_payments",
            Self::RegistrationForm { .. } => "registration_form",
            Self::FlexibleOffer { .. } => "flexible_offer",
            Self::SubsidyOffer { .. } => "subsidy_offer",
            Self::NotEligible { .. } => "not_eligible",
            Self::JobSeekerForm { .. } => "job_seeker_form",
            Self::Openings { .. } => "openings",
            Self::TrackingEntry { .. } => "tracking_entry",
            Self::Progress(..) => "progress",
            Self::Receipt { .. } => "receipt",
            Self::Printed { .. } => "printed",
            Self::Failed { .. } => "failed",
            Self::Rating { .. } => "rating",
            Self::MaintenancePin { .. } => "maintenance_pin",
            Self::Maintenance(..) => "maintenance",
        }
    }
}

/// Why a form was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormError {
    InvalidPhone,
    MissingReason,
    InvalidTracking,
    NotFound,
    /// A certificate's verification code was scanned where an application's was wanted.
    NotAnApplication,
    /// No contribution band was chosen.
    MissingBand,
    /// No kind of work was chosen.
    MissingJobKind,
    /// No district was chosen.
    MissingDistrict,
}

/// Failures a citizen is told about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The central service could not be reached or answered with an error.
    CentralUnavailable(String),
    /// The central service answered, and said no (not eligible, unknown person, a
    /// registration already open): the citizen is sent to a counter, not told to retry.
    Refused(String),
    /// The certificate's server signature did not verify: never printed.
    BadSignature,
    DeviceFailed(Unavailable),
    CaptureFailed(String),
    /// The outbox refused the submission (disk full): nothing was stored.
    NotStored(String),
    /// The registry says the person cannot have the service (checked again when a
    /// registration arrives, or for a record only some people have).
    NotEligible(IneligibleReason),
}
