//! Social security card (社会保障卡) over PC/SC: a sans-IO APDU layer with the T=0 rules,
//! the card's files and records, card data checked like the ID card, a transport over the
//! real pcsc-lite daemon, a watch task with events, and a card simulator for vpcd.
//!
//! Layers, bottom up: [`apdu`] (commands, responses, status words, [`Exchange`], T=0),
//! [`items`] (files, records, encodings), [`card`] (records -> [`SsCard`]), [`read`] (the
//! read procedure, [`ReadError`], [`SecurityModule`]), [`transport`] (PC/SC), [`watch()`]
//! (the task), [`sim`] (the card side of vpcd) and [`harness`] (the shared test rig).

pub mod apdu;
pub mod card;
pub mod harness;
pub mod items;
pub mod json;
pub mod read;
pub mod sim;
pub mod transport;
pub mod watch;

pub use apdu::{ApduError, Command, Exchange, Response, StatusKind, StatusWord, TransportError, transmit};
pub use card::{CardProblem, CardRecords, Gender, RecordOutcome, SsCard};
/// The GB 11643 rule and masking, shared with the ID card driver, the terminal and central.
pub use contract::idnumber::{self, IdNumberProblem, mask_id_number, mask_name};
pub use items::{File, Item, ValueProblem};
pub use read::{Authentication, ReadError, SecurityError, SecurityModule, Step, read_card, read_records};
pub use transport::{ReaderInfo, ServiceError, choose_reader, read_from_reader};
pub use watch::{FaultKind, WatchConfig, WatchEvent, WatchHandle, watch};
