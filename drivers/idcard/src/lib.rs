//! Second-generation ID card reader: GA/T 467 SAM protocol, card data, reader task, simulator.
//!
//! Layers, bottom up: [`frame`] (sans-IO codec), [`card`] (text block -> [`Card`]),
//! [`link`] (the drivers' shared device-link layer: serial port, in-memory pipe, pty
//! server, reconnect), [`reader`] (blocking [`CardReader`] over any [`Link`]),
//! [`watch()`] (polling task with events), [`sim`] (device-side simulator).

pub mod card;
pub mod frame;
pub mod json;
pub mod photo;
pub mod reader;
pub mod sim;
pub mod watch;

pub use card::{Card, CardDate, CardExtra, CardParseError, CardType, Expiry, FieldProblem, Gender, ethnic_group_name};
/// The GB 11643 rule and masking, shared with the terminal and the central service.
pub use contract::idnumber::{self, IdNumberProblem, mask_id_number, mask_name};
/// The drivers' device-link layer, re-exported so users of this crate need not name it.
pub use device_link as link;
pub use device_link::{Link, LinkError, PipeEnd, SerialLink, pipe};
pub use frame::{Command, Decoder, Frame, FrameError, Reply, Status};
pub use photo::{Photo, PhotoDecoder, PhotoError, VendorPhotoDecoder};
pub use reader::{CardReader, ReadOptions, ReaderError, SamId, Timeouts};
pub use watch::{Opener, ReaderConfig, ReaderEvent, WatchHandle, watch};
