//! The vocabulary of the session core: services, devices and their health, events in,
//! effects out, and the audit records the core asks the runtime to write.

use super::maintenance::{DetectError, Detection, LeftBy, Pin, Port, ReprintProblem, TestSubject};
use super::personal::{Citizen, ContributionRecord, FaceCapture, IssuedCertificate, PaymentRecord, PersonName, Phone};
use super::screen::{ApplicationProgress, CaptureHint, Delivery, Failure, Screen, ServiceTile, Unavailable};
use serde::{Deserialize, Serialize};

/// Monotonic milliseconds since the runtime started.
pub type Millis = u64;

/// Correlates a request effect with the event that answers it, so that a late reply
/// for an ended session can never reach the next person's screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ticket(pub u64);

pub use contract::{
    CertificateKind, ContributionBand, District, IneligibleReason, JobKind, JobOpening, RatingGrade, RatingReason,
    Service, UnemploymentReason,
};

/// Whether `service` is for the card holder (an application's progress is not: anyone
/// holding the receipt may look it up).
pub fn needs_card(service: Service) -> bool {
    service != Service::ApplicationProgress
}

/// The devices without which `service` cannot be offered at all. Receipts are shown on
/// screen when the printer is down, so only certificate printing needs it. Every
/// service is audited, so every one needs the terminal's storage; and every one needs
/// the terminal to be enrolled (the first reason shown when it is not).
pub fn devices_needed(service: Service) -> &'static [Device] {
    match service {
        Service::Certificate => &[Device::Enrollment, Device::Storage, Device::Reader, Device::Printer],
        Service::QualificationCheck | Service::UnemploymentCheckIn => {
            &[Device::Enrollment, Device::Storage, Device::Reader, Device::Camera]
        }
        // The payment record prints only when asked (the print button says why not).
        Service::ContributionRecord
        | Service::PensionPayments
        | Service::UnemploymentRegistration
        | Service::FlexibleEmploymentRegistration
        | Service::EmploymentSubsidy
        | Service::JobSeekerRegistration => &[Device::Enrollment, Device::Storage, Device::Reader],
        Service::ApplicationProgress => &[Device::Enrollment, Device::Storage],
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Device {
    /// The ID card reader (SAM, serial): every terminal has one.
    Reader,
    Camera,
    Printer,
    /// The social security card reader (PC/SC), where the terminal has one.
    SocialSecurityReader,
    /// The receipt barcode scanner, where the terminal has one.
    Scanner,
    /// The terminal's own disk, where the outbox and the audit trail are written.
    /// When either cannot be written (a full disk), nothing may be submitted or go
    /// unaudited, so every service stops until it can.
    Storage,
    /// The terminal's enrollment at the central service. Operations retiring the
    /// terminal (decommissioning) makes it `Missing`: every service stops for good,
    /// until a technician enrolls the terminal again.
    Enrollment,
}

impl Device {
    /// The device's name in telemetry events and metrics (its serde name).
    pub fn code(self) -> &'static str {
        match self {
            Self::Reader => "reader",
            Self::Camera => "camera",
            Self::Printer => "printer",
            Self::SocialSecurityReader => "social_security_reader",
            Self::Scanner => "scanner",
            Self::Storage => "storage",
            Self::Enrollment => "enrollment",
        }
    }
}

/// The identity document a card holder presented.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityDocument {
    /// The second-generation resident ID card (居民身份证).
    IdCard,
    /// The social security card (社会保障卡), which carries the same number.
    SocialSecurityCard,
}

impl IdentityDocument {
    /// The reader this document is read by.
    pub fn reader(self) -> Device {
        match self {
            Self::IdCard => Device::Reader,
            Self::SocialSecurityCard => Device::SocialSecurityReader,
        }
    }
}

/// A device problem. `PaperNearEnd` is a warning: the printer still prints.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    PaperNearEnd,
    PaperOut,
    CoverOpen,
    CutterError,
    Missing,
    Error(String),
}

impl Problem {
    pub fn disables(&self) -> bool {
        !matches!(self, Self::PaperNearEnd)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    #[default]
    Ok,
    Problem(Problem),
}

/// Current health of every device, as the supervisor reports it. The devices some
/// terminals lack are `None` until the runtime reports on them (it reports only on the
/// devices it runs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Devices {
    pub reader: Health,
    pub camera: Health,
    pub printer: Health,
    pub social_security_reader: Option<Health>,
    pub scanner: Option<Health>,
    pub storage: Health,
    pub enrollment: Health,
}

impl Devices {
    /// Records `device`'s health; reporting on an optional device installs it.
    pub fn set(&mut self, device: Device, health: Health) {
        *self.slot(device) = health;
    }

    fn slot(&mut self, device: Device) -> &mut Health {
        match device {
            Device::Reader => &mut self.reader,
            Device::Camera => &mut self.camera,
            Device::Printer => &mut self.printer,
            Device::SocialSecurityReader => self.social_security_reader.get_or_insert_with(Health::default),
            Device::Scanner => self.scanner.get_or_insert_with(Health::default),
            Device::Storage => &mut self.storage,
            Device::Enrollment => &mut self.enrollment,
        }
    }

    /// The device's health; `None` when the terminal has no such device.
    pub fn health(&self, device: Device) -> Option<&Health> {
        match device {
            Device::Reader => Some(&self.reader),
            Device::Camera => Some(&self.camera),
            Device::Printer => Some(&self.printer),
            Device::SocialSecurityReader => self.social_security_reader.as_ref(),
            Device::Scanner => self.scanner.as_ref(),
            Device::Storage => Some(&self.storage),
            Device::Enrollment => Some(&self.enrollment),
        }
    }

    /// Whether the terminal has `device`.
    pub fn installed(&self, device: Device) -> bool {
        self.health(device).is_some()
    }

    /// Why `device` cannot be used, if it cannot (a device the terminal lacks cannot).
    pub fn unusable(&self, device: Device) -> Option<Unavailable> {
        match self.health(device) {
            Some(Health::Problem(p)) if p.disables() => Some(Unavailable { device, problem: p.clone() }),
            Some(_) => None,
            None => Some(Unavailable { device, problem: Problem::Missing }),
        }
    }

    /// Why `service` cannot be offered, if it cannot. A service for the card holder
    /// needs a card reader: either reader will do, so it stays offered while one works
    /// (the ID card reader's problem is the one shown when both are down).
    pub fn unavailable(&self, service: Service) -> Option<Unavailable> {
        devices_needed(service).iter().find_map(|d| match d {
            Device::Reader if self.unusable(Device::SocialSecurityReader).is_none() => None,
            d => self.unusable(*d),
        })
    }

    pub fn tiles(&self) -> Vec<ServiceTile> {
        Service::ALL.iter().map(|s| ServiceTile { service: *s, unavailable: self.unavailable(*s) }).collect()
    }
}

/// How long a certificate covers; the citizen picks it with the kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CertificatePeriod {
    /// The last n months (e.g. 6, 12, 36), this month included.
    LastMonths(u8),
    /// Every month ever insured.
    FullHistory,
}

/// Why a card placed on a reader cannot start a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardProblem {
    /// The reader could not read it (moved too soon, damaged, not a card).
    Unreadable,
    /// Read, but past its expiry date.
    Expired,
    /// Read, but not a resident ID card (or its number fails the check digit).
    WrongType,
    /// A social security card reported lost or otherwise invalidated (挂失、注销).
    Blocked,
    /// Read, but its records disagree with each other (the number's birth date or sex
    /// is not the card's): damaged or forged, a person must look at it.
    Invalid,
    /// The card keeps the holder's data behind an authentication this terminal cannot
    /// do (no security module): the citizen is asked for their ID card instead.
    Unsupported,
}

/// A code read by the receipt scanner, already recognised as one this service issued
/// (anything else never reaches the core).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScannedCode {
    /// A receipt's tracking number (or its digits), or a queued receipt's local
    /// reference: what the progress item looks up.
    Application(String),
    /// A certificate's verification QR (its verification code): not an application.
    Certificate { verification_code: String },
}

/// What the citizen touched. The UI sends these; the core decides what they mean.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Intent {
    Choose(Service),
    /// Back to the menu from a flow's first step (or to the start screen without a card).
    Back,
    /// End the session now ("finish" on the menu).
    Exit,
    /// "I'm still here" on the idle countdown.
    StillHere,
    /// The screen's primary action ("this is me" on the identity check).
    Confirm,
    ChooseCertificate {
        kind: CertificateKind,
        period: CertificatePeriod,
    },
    Print,
    /// Leave a result screen: on to the rating.
    Done,
    RetryCapture,
    SubmitRegistration {
        phone: String,
        reason: Option<UnemploymentReason>,
    },
    /// Register as a flexible worker at the band chosen (`None`: none chosen yet).
    SubmitFlexibleRegistration {
        percent: Option<u16>,
    },
    /// The job seeker's profile: mobile number, the work wanted and where.
    SubmitJobSeeker {
        phone: String,
        kind: Option<JobKind>,
        district: Option<District>,
    },
    SubmitTracking(String),
    Rate {
        grade: RatingGrade,
        reasons: Vec<RatingReason>,
    },
    SkipRating,
    /// The hidden maintenance gesture (start screen only).
    Maintenance,
    /// A technician's PIN from the PIN pad.
    SubmitPin(Pin),
    SelfTest(TestSubject),
    /// Print the provisioning receipt again (the install's record, today's time).
    ReprintProvisioningReceipt,
    /// Look for the devices again, as `kiosk-provision detect` does.
    RedetectDevices,
    /// Write the ports re-detection found into the configuration and restart.
    ApplyDetectedPorts,
    /// Put re-detection's findings away (back to the device list) without applying them.
    CloseDetection,
    ExitMaintenance,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// Monotonic time; the only way time enters the core.
    Tick(Millis),
    CardPlaced(Citizen),
    /// The card was taken out of the reader for this document.
    CardRemoved(IdentityDocument),
    /// A card was put on a reader but cannot be used.
    CardRefused {
        document: IdentityDocument,
        problem: CardProblem,
    },
    /// The scanner read a receipt's (or certificate's) code.
    Scanned(ScannedCode),
    Touch(Intent),
    DeviceHealth {
        device: Device,
        health: Health,
    },
    CaptureHint {
        ticket: Ticket,
        hint: CaptureHint,
    },
    Captured {
        ticket: Ticket,
        result: Result<FaceCapture, String>,
    },
    CertificateIssued {
        ticket: Ticket,
        result: Result<IssuedCertificate, Failure>,
    },
    ContributionsLoaded {
        ticket: Ticket,
        result: Result<ContributionRecord, Failure>,
    },
    PensionPaymentsLoaded {
        ticket: Ticket,
        result: Result<PaymentRecord, Failure>,
    },
    EligibilityChecked {
        ticket: Ticket,
        result: Result<Eligibility, Failure>,
    },
    OpeningsLoaded {
        ticket: Ticket,
        result: Result<Vec<JobOpening>, Failure>,
    },
    /// `Ok(None)`: no application with that tracking number.
    ApplicationFound {
        ticket: Ticket,
        result: Result<Option<ApplicationProgress>, Failure>,
    },
    Submitted {
        ticket: Ticket,
        result: Result<Delivery, Failure>,
    },
    Printed {
        ticket: Ticket,
        result: Result<(), Problem>,
    },
    /// The runtime's verdict on a technician PIN.
    PinChecked {
        ticket: Ticket,
        accepted: bool,
    },
    /// A camera self-test: analysed frames arrived, or why not.
    CameraTested {
        ticket: Ticket,
        result: Result<(), Problem>,
    },
    /// A check of the central service: its answer time in milliseconds, or why none.
    CentralChecked {
        ticket: Ticket,
        result: Result<u32, String>,
    },
    /// The provisioning receipt came out, or why not.
    ProvisioningReceiptPrinted {
        ticket: Ticket,
        result: Result<(), ReprintProblem>,
    },
    /// Re-detection ran: what is configured and what was found, or why it could not run.
    DevicesDetected {
        ticket: Ticket,
        result: Result<Detection, DetectError>,
    },
    /// The found ports were written to the configuration, or why not.
    DevicePortsApplied {
        ticket: Ticket,
        result: Result<(), String>,
    },
}

/// Something for a submission to the central service, via the outbox.
#[derive(Clone, Debug, PartialEq)]
pub enum Submission {
    Qualification {
        citizen: Citizen,
        face: FaceCapture,
    },
    Registration {
        citizen: Citizen,
        phone: Phone,
        reason: UnemploymentReason,
    },
    CheckIn {
        citizen: Citizen,
        face: FaceCapture,
    },
    /// Flexible employment registration at `band` (one of the offer's).
    FlexibleEmployment {
        citizen: Citizen,
        band: ContributionBand,
    },
    EmploymentSubsidy {
        citizen: Citizen,
    },
    JobSeeker {
        citizen: Citizen,
        phone: Phone,
        kind: JobKind,
        district: District,
    },
}

/// What the registry says about a registration the citizen asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Eligibility {
    Eligible(Offer),
    NotEligible(IneligibleReason),
}

/// The terms offered to an eligible person.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Offer {
    /// Flexible employment: the bases to choose from, lowest first.
    pub bands: Vec<ContributionBand>,
    pub first_payment_due: Option<time::Date>,
    /// Employment subsidy: monthly amount and for how many months.
    pub subsidy: Option<(i64, u32)>,
}

/// What a receipt states beyond the tracking number: a flexible worker's monthly
/// payment and when the first one is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Terms {
    pub monthly_fen: i64,
    pub first_payment_due: Option<time::Date>,
}

/// A receipt for a submission; carries only a masked id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    pub service: Service,
    pub masked_id: Option<String>,
    pub delivery: Delivery,
    pub terms: Option<Terms>,
    /// A job seeker's recommended openings, printed with their contact codes.
    pub openings: Vec<JobOpening>,
}

/// What a receipt states beyond the tracking number, kept from the flow's earlier
/// screens until the receipt is printed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReceiptExtras {
    pub terms: Option<Terms>,
    pub openings: Vec<JobOpening>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrintJob {
    Certificate(IssuedCertificate),
    Contributions {
        holder: PersonName,
        masked_id: String,
        record: ContributionRecord,
    },
    PensionPayments {
        holder: PersonName,
        masked_id: String,
        record: PaymentRecord,
    },
    Receipt(Receipt),
    /// A technician's printer self-test from the maintenance screen: no personal data.
    TestPage,
}

/// A rating, sent to the central service through the outbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RatingRecord {
    pub session: u64,
    pub service: Service,
    /// `None`: the citizen skipped the rating.
    pub grade: Option<RatingGrade>,
    pub reasons: Vec<RatingReason>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    Finished,
    IdleTimeout,
    CardRemoved,
    /// Another card was placed: the previous holder's session ends first.
    OtherCard,
}

/// One audit-trail entry. Never carries personal data in clear.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum AuditRecord {
    SessionStarted {
        session: u64,
    },
    CardRead {
        session: u64,
        masked_id: String,
        document: IdentityDocument,
    },
    CardRefused {
        document: IdentityDocument,
        problem: CardProblem,
    },
    ServiceChosen {
        session: u64,
        service: Service,
    },
    Submitted {
        session: u64,
        service: Service,
        delivered: bool,
        reference: String,
    },
    SubmissionFailed {
        session: u64,
        service: Service,
        reason: String,
    },
    PrintResult {
        session: u64,
        service: Service,
        ok: bool,
        problem: Option<Problem>,
    },
    Rated {
        session: u64,
        service: Service,
        grade: Option<RatingGrade>,
    },
    DeviceFault {
        device: Device,
        problem: Option<Problem>,
    },
    CertificateRejected {
        session: u64,
        reason: String,
    },
    SessionEnded {
        session: u64,
        reason: EndReason,
    },
    /// A technician's PIN opened the maintenance screen.
    MaintenanceEntered,
    /// A wrong technician PIN; `locked_out` when it locked the pad.
    MaintenancePinRefused {
        locked_out: bool,
    },
    SelfTest {
        subject: TestSubject,
        passed: bool,
    },
    MaintenanceLeft {
        by: LeftBy,
    },
    /// The provisioning receipt was printed again (or not) from the maintenance screen.
    ProvisioningReceiptReprinted {
        ok: bool,
    },
    /// A technician wrote re-detected ports into the configuration.
    DevicePortsChanged {
        devices: Vec<Device>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    Show(Screen),
    /// The idle countdown overlay: seconds left, or `None` to hide it.
    Countdown(Option<u32>),
    Audit(AuditRecord),
    IssueCertificate {
        ticket: Ticket,
        citizen: Citizen,
        kind: CertificateKind,
        period: CertificatePeriod,
    },
    FetchContributions {
        ticket: Ticket,
        citizen: Citizen,
    },
    FetchPensionPayments {
        ticket: Ticket,
        citizen: Citizen,
    },
    /// The openings of `kind` in `district`; answer `Event::OpeningsLoaded`.
    FetchOpenings {
        ticket: Ticket,
        kind: JobKind,
        district: District,
    },
    /// Ask whether `citizen` may have `service` (a registration with terms); answer
    /// `Event::EligibilityChecked`.
    CheckEligibility {
        ticket: Ticket,
        citizen: Citizen,
        service: Service,
    },
    LookUpApplication {
        ticket: Ticket,
        tracking: String,
    },
    StartCapture {
        ticket: Ticket,
        service: Service,
    },
    StopCapture,
    Submit {
        ticket: Ticket,
        submission: Submission,
    },
    Print {
        ticket: Ticket,
        job: PrintJob,
    },
    SubmitRating(RatingRecord),
    /// Check a technician PIN against the configured hash; answer `Event::PinChecked`.
    CheckPin {
        ticket: Ticket,
        pin: Pin,
    },
    /// Run the camera until analysed frames arrive (or a time limit); answer `Event::CameraTested`.
    TestCamera {
        ticket: Ticket,
    },
    /// Send the central service a heartbeat now; answer `Event::CentralChecked`.
    CheckCentral {
        ticket: Ticket,
    },
    /// Print the provisioning receipt again from the install's record; answer
    /// `Event::ProvisioningReceiptPrinted`.
    PrintProvisioningReceipt {
        ticket: Ticket,
    },
    /// Run device detection; answer `Event::DevicesDetected`. The devices in `working`
    /// answer on their configured ports right now: detection leaves those ports alone
    /// (probing them would garble the running drivers' exchanges) and counts them as found.
    DetectDevices {
        ticket: Ticket,
        working: Vec<Device>,
    },
    /// Write these devices' new ports into the configuration (keeping a copy of the
    /// old one); answer `Event::DevicePortsApplied`.
    ApplyDevicePorts {
        ticket: Ticket,
        ports: Vec<(Device, Port)>,
    },
    /// Start the terminal over, so every driver opens the ports now configured.
    Restart,
    /// Keep the PIN pad's guard where a restart finds it (give it back with
    /// [`crate::State::with_pin_guard`]).
    RememberPinGuard(PinGuardState),
}

/// Wrong technician PINs so far, and how much longer the pad stays locked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinGuardState {
    pub failures: u8,
    pub locked_for: Option<Millis>,
}

/// Timing of the session; the defaults suit a hall kiosk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionTiming {
    /// No touch for this long shows the countdown.
    pub idle_after: Millis,
    /// The countdown's length; at zero the session is wiped.
    pub countdown: Millis,
    /// No touch for this long on the PIN pad or maintenance screen returns to the start screen.
    pub maintenance_idle: Millis,
    /// How long the PIN pad stays locked after too many wrong PINs.
    pub pin_lockout: Millis,
}

impl Default for SessionTiming {
    fn default() -> Self {
        Self { idle_after: 60_000, countdown: 15_000, maintenance_idle: 120_000, pin_lockout: 15 * 60_000 }
    }
}
