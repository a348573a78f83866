//! The read procedure over any [`Exchange`]: select the application, then each file, read
//! its records, and turn the answers into an [`SsCard`] or a [`ReadError`] that names the
//! step and says what to do. Items a card protects (`69 82`) go through the configured
//! [`SecurityModule`], or are reported by name when none is configured.

use std::fmt;

use crate::apdu::{ApduError, Command, Exchange, Response, StatusKind, StatusWord, TransportError, transmit};
use crate::card::{CardRecords, RecordOutcome, SsCard};
use crate::items::{File, Item};

/// Authentication some cards require before they give protected items (third generation:
/// mutual authentication with a security module, SM4). Vendor-specific, so it lives
/// behind this trait; the terminal configures one or none.
pub trait SecurityModule: Send {
    /// A short name for messages and logs (model, slot).
    fn name(&self) -> &str;

    /// Authenticates the terminal to the card after the card refused `item` with `69 82`,
    /// exchanging whatever APDUs the scheme needs. The reader then selects the item's file
    /// again and retries the read once.
    fn authenticate(&mut self, card: &mut dyn Exchange, item: Item) -> Result<(), SecurityError>;
}

/// The security module could not authenticate the terminal.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SecurityError(pub String);

/// Which command of the read procedure failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    SelectApplication,
    SelectFile(File),
    ReadRecord(Item),
    Authenticate(Item),
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::SelectApplication => f.write_str("selecting the social security application"),
            Step::SelectFile(file) => write!(f, "selecting {file}"),
            Step::ReadRecord(item) => write!(f, "reading the {item}"),
            Step::Authenticate(item) => write!(f, "authenticating to read the {item}"),
        }
    }
}

/// What the security module did about a refused item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Authentication {
    /// No security module is configured on this terminal.
    NotConfigured,
    /// The module authenticated, and the card still refused.
    StillRefused { module: String },
    /// The module failed.
    Failed { module: String, error: SecurityError },
}

/// Why a card could not be read. `Display` is a plain-language message a technician (or
/// the citizen's screen, shortened) can act on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error(
        "this is not a social security card, or it is inserted the wrong way round: \
         the card has no social security application ({status})"
    )]
    NotSocialSecurityCard { status: StatusWord },
    #[error("the card refused {}: {status}; {}", refused(step), authentication_advice(authentication))]
    Refused { step: Step, status: StatusWord, authentication: Authentication },
    #[error("the card failed while {step}: {status}")]
    Card { step: Step, status: StatusWord },
    #[error("the card's answer while {step} makes no sense: {detail}")]
    Malformed { step: Step, detail: String },
    #[error("{}", transport_message(step, error))]
    Transport { step: Step, error: TransportError },
}

fn refused(step: &Step) -> String {
    match step {
        Step::ReadRecord(item) | Step::Authenticate(item) => format!("to give the {item}"),
        other => format!("access while {other}"),
    }
}

fn authentication_advice(a: &Authentication) -> String {
    match a {
        Authentication::NotConfigured => "this card protects that item and requires terminal authentication \
                                          with a security module (PSAM); none is configured on this terminal"
            .into(),
        Authentication::StillRefused { module } => {
            format!("the security module {module} authenticated but the card still refuses: check the module's keys")
        }
        Authentication::Failed { module, error } => format!("the security module {module} failed: {error}"),
    }
}

fn transport_message(step: &Step, error: &TransportError) -> String {
    match error {
        TransportError::CardRemoved => {
            format!("the card was taken out while {step}: insert it again and leave it in until the reading is done")
        }
        other => format!("{other} (while {step})"),
    }
}

impl ReadError {
    /// The card left the reader during the read (the citizen pulled it).
    pub fn is_card_removed(&self) -> bool {
        matches!(self, ReadError::Transport { error: TransportError::CardRemoved, .. })
    }

    /// The transport failed (card gone, reader gone, service gone), not the card's data.
    pub fn transport(&self) -> Option<&TransportError> {
        match self {
            ReadError::Transport { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The item a `69 82` refusal named, if this is one.
    pub fn refused_item(&self) -> Option<Item> {
        match self {
            ReadError::Refused { step: Step::ReadRecord(item) | Step::Authenticate(item), .. } => Some(*item),
            _ => None,
        }
    }
}

/// Reads the whole card: application, EF05 records 1..=7, EF06 records 1..=6. `today` is
/// the China date for the expiry check.
pub fn read_card(
    card: &mut dyn Exchange,
    today: time::Date,
    security: Option<&mut dyn SecurityModule>,
) -> Result<SsCard, ReadError> {
    read_records(card, security).map(|records| SsCard::from_records(&records, today))
}

/// The records of a card, uninterpreted (see [`SsCard::from_records`]).
pub fn read_records(
    card: &mut dyn Exchange,
    mut security: Option<&mut dyn SecurityModule>,
) -> Result<CardRecords, ReadError> {
    let mut records = CardRecords::default();
    let step = Step::SelectApplication;
    let answer = send(card, step, &Command::select_application())?;
    match answer.status.kind() {
        StatusKind::Ok => {}
        StatusKind::Invalidated => records.invalidated = true,
        StatusKind::FileNotFound | StatusKind::InsNotSupported | StatusKind::ClaNotSupported => {
            return Err(ReadError::NotSocialSecurityCard { status: answer.status });
        }
        StatusKind::SecurityNotSatisfied | StatusKind::AuthenticationBlocked => {
            return Err(ReadError::Refused {
                step,
                status: answer.status,
                authentication: Authentication::NotConfigured,
            });
        }
        _ => return Err(ReadError::Card { step, status: answer.status }),
    }
    let mut authenticated = false;
    for file in File::ALL {
        select_file(card, file, &mut records)?;
        for item in file.items() {
            let step = Step::ReadRecord(item);
            let mut answer = send(card, step, &Command::read_record(item.record(), item.expected_le()))?;
            if answer.status.kind() == StatusKind::SecurityNotSatisfied {
                let Some(module) = security.as_deref_mut() else {
                    return Err(ReadError::Refused {
                        step,
                        status: answer.status,
                        authentication: Authentication::NotConfigured,
                    });
                };
                if authenticated {
                    return Err(ReadError::Refused {
                        step,
                        status: answer.status,
                        authentication: Authentication::StillRefused { module: module.name().into() },
                    });
                }
                tracing::info!(item = item.label(), module = module.name(), "card wants authentication");
                module.authenticate(card, item).map_err(|error| ReadError::Refused {
                    step: Step::Authenticate(item),
                    status: answer.status,
                    authentication: Authentication::Failed { module: module.name().into(), error },
                })?;
                authenticated = true;
                // Authentication may leave another file selected.
                select_file(card, file, &mut records)?;
                answer = send(card, step, &Command::read_record(item.record(), item.expected_le()))?;
                if answer.status.kind() == StatusKind::SecurityNotSatisfied {
                    return Err(ReadError::Refused {
                        step,
                        status: answer.status,
                        authentication: Authentication::StillRefused { module: module.name().into() },
                    });
                }
            }
            let outcome = match answer.status.kind() {
                StatusKind::Ok => RecordOutcome::Record(answer.data),
                StatusKind::Invalidated if !answer.data.is_empty() => {
                    records.invalidated = true;
                    RecordOutcome::Record(answer.data)
                }
                StatusKind::Invalidated => {
                    records.invalidated = true;
                    RecordOutcome::Missing(answer.status)
                }
                StatusKind::RecordNotFound => RecordOutcome::Missing(answer.status),
                StatusKind::AuthenticationBlocked => {
                    return Err(ReadError::Refused {
                        step,
                        status: answer.status,
                        authentication: match security.as_deref() {
                            None => Authentication::NotConfigured,
                            Some(m) => Authentication::StillRefused { module: m.name().into() },
                        },
                    });
                }
                // A second 6C after the resend: the card contradicts itself.
                StatusKind::WrongLe(_) => {
                    return Err(ReadError::Malformed {
                        step,
                        detail: format!("the card asked for another length twice ({})", answer.status),
                    });
                }
                _ => return Err(ReadError::Card { step, status: answer.status }),
            };
            records.records.insert(item, outcome);
        }
    }
    Ok(records)
}

fn select_file(card: &mut dyn Exchange, file: File, records: &mut CardRecords) -> Result<(), ReadError> {
    let step = Step::SelectFile(file);
    let answer = send(card, step, &Command::select_file(file.fid()))?;
    match answer.status.kind() {
        StatusKind::Ok => Ok(()),
        StatusKind::Invalidated => {
            records.invalidated = true;
            Ok(())
        }
        StatusKind::SecurityNotSatisfied | StatusKind::AuthenticationBlocked => {
            Err(ReadError::Refused { step, status: answer.status, authentication: Authentication::NotConfigured })
        }
        _ => Err(ReadError::Card { step, status: answer.status }),
    }
}

fn send(card: &mut dyn Exchange, step: Step, command: &Command) -> Result<Response, ReadError> {
    transmit(card, command).map_err(|e| match e {
        ApduError::Transport(error) => ReadError::Transport { step, error },
        other => ReadError::Malformed { step, detail: other.to_string() },
    })
}
