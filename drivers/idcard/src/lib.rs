//! Second-generation ID card reader: GA/T 467 SAM protocol, card data, reader task, simulator.
//!
//! Layers, bottom up: [`frame`] (sans-IO codec), [`card`] (text block -> [`Card`]),
//! [`transport`] (serial port, in-memory pipe), [`reader`] (blocking [`CardReader`]),
//! [`watch()`] (polling task with events), [`sim`] (device-side simulator).

pub mod card;
pub mod frame;
pub mod idnumber;
pub mod json;
pub mod photo;
pub mod reader;
pub mod sim;
pub mod transport;
pub mod watch;

pub use card::{Card, CardDate, CardExtra, CardParseError, CardType, Expiry, FieldProblem, Gender, ethnic_group_name};
pub use frame::{Command, Decoder, Frame, FrameError, Reply, Status};
pub use idnumber::{IdNumberProblem, mask_id_number, mask_name};
pub use photo::{Photo, PhotoDecoder, PhotoError, VendorPhotoDecoder};
pub use reader::{CardReader, ReadOptions, ReaderError, SamId, Timeouts};
pub use transport::{PipeEnd, SerialTransport, Transport, pipe};
pub use watch::{Opener, ReaderConfig, ReaderEvent, WatchHandle, watch};
