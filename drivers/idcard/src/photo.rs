//! The card photo: 1024 raw WLT bytes, and the seam where a closed vendor decoder
//! library can be plugged in at run time. Everything works without one.

use std::fmt;
use std::path::{Path, PathBuf};

/// Size of the decoded photo: a 102x126 24-bit BMP.
pub const BMP_LEN: usize = 38862;

/// The raw WLT photo from the card.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Photo {
    wlt: Vec<u8>,
}

impl Photo {
    pub fn new(wlt: Vec<u8>) -> Self {
        Photo { wlt }
    }
    /// The undecoded WLT bytes (send these to the central API to decode).
    pub fn wlt(&self) -> &[u8] {
        &self.wlt
    }
    pub fn decode(&self, decoder: &dyn PhotoDecoder) -> Result<Vec<u8>, PhotoError> {
        decoder.decode_wlt(&self.wlt)
    }
}

impl fmt::Debug for Photo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Photo({} WLT bytes)", self.wlt.len())
    }
}

/// Turns WLT bytes into a BMP. Implemented by [`VendorPhotoDecoder`] or by a caller
/// that forwards the bytes elsewhere.
pub trait PhotoDecoder: Send + Sync {
    fn decode_wlt(&self, wlt: &[u8]) -> Result<Vec<u8>, PhotoError>;
}

#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    #[error(
        "cannot load the photo decoder library {path}: {source} (check the configured path and that the library matches this machine)"
    )]
    Load { path: PathBuf, source: libloading::Error },
    #[error("photo decoder library {path} has no function {symbol:?}: wrong library, or set the symbol name")]
    Symbol { path: PathBuf, symbol: String },
    #[error("photo decoder returned {code}: the vendor library rejected the photo (often a SAM licence mismatch)")]
    Rejected { code: i32 },
    #[error("photo has {0} bytes; WLT photos are 1024")]
    Length(usize),
}

/// `int unpack(char *wlt, char *bmp_out, int save_to_file)`: the usual vendor signature
/// (returns 1 on success, writes 38862 BMP bytes).
type UnpackFn = unsafe extern "C" fn(*const u8, *mut u8, i32) -> i32;

/// A vendor WLT decoder loaded from a shared library at run time.
pub struct VendorPhotoDecoder {
    path: PathBuf,
    unpack: UnpackFn,
    // Keeps the code `unpack` points into mapped; must outlive it.
    _library: libloading::Library,
}

impl fmt::Debug for VendorPhotoDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VendorPhotoDecoder({})", self.path.display())
    }
}

impl VendorPhotoDecoder {
    /// Loads `path` and looks up `symbol` (usually `"unpack"`).
    #[allow(unsafe_code)]
    pub fn load(path: &Path, symbol: &str) -> Result<Self, PhotoError> {
        // SAFETY: loading a library runs its initialisers; the path is an operator-configured
        // vendor decoder, which is the trust this feature exists to extend.
        let library = unsafe { libloading::Library::new(path) }
            .map_err(|source| PhotoError::Load { path: path.to_path_buf(), source })?;
        // SAFETY: the symbol is declared with the vendor's documented C signature; the fn
        // pointer is copied out and `library` is stored beside it so it is never unmapped first.
        let unpack = unsafe { library.get::<UnpackFn>(symbol.as_bytes()) }
            .map(|s| *s)
            .map_err(|_| PhotoError::Symbol { path: path.to_path_buf(), symbol: symbol.to_string() })?;
        Ok(VendorPhotoDecoder { path: path.to_path_buf(), unpack, _library: library })
    }
}

impl PhotoDecoder for VendorPhotoDecoder {
    #[allow(unsafe_code)]
    fn decode_wlt(&self, wlt: &[u8]) -> Result<Vec<u8>, PhotoError> {
        if wlt.len() != 1024 {
            return Err(PhotoError::Length(wlt.len()));
        }
        let input = wlt.to_vec();
        // Vendor decoders have been seen writing past 38862 bytes; give them slack.
        let mut out = vec![0u8; BMP_LEN + 1024];
        // SAFETY: input is 1024 readable bytes, out is larger than the documented 38862
        // writable bytes; 0 asks the library not to write a file.
        let code = unsafe { (self.unpack)(input.as_ptr(), out.as_mut_ptr(), 0) };
        if code != 1 {
            return Err(PhotoError::Rejected { code });
        }
        out.truncate(BMP_LEN);
        Ok(out)
    }
}
