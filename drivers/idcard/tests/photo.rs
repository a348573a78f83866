//! The photo seam: raw WLT bytes always available; a vendor-style decoder library
//! (a stand-in built here with the system C compiler) loaded at run time by path.

#![allow(clippy::unwrap_used, clippy::panic)] // test helpers may fail loudly

use std::path::{Path, PathBuf};
use std::process::Command;

use idcard::photo::BMP_LEN;
use idcard::{Photo, PhotoError, VendorPhotoDecoder};

/// Same C signature as vendor `libwlt.so`: `int unpack(char *wlt, char *bmp, int save)`.
const STAND_IN: &str = r#"
#include <string.h>
int unpack(const unsigned char *wlt, unsigned char *bmp, int save) {
    if (save != 0 || wlt[0] == 0xFF) return -2;
    memset(bmp, wlt[1], 38862);
    bmp[0] = 'B'; bmp[1] = 'M';
    return 1;
}
"#;

fn build_stand_in(dir: &Path) -> PathBuf {
    let src = dir.join("wlt.c");
    let lib = dir.join("libwlt.so");
    std::fs::write(&src, STAND_IN).unwrap();
    let status = Command::new("cc").args(["-shared", "-fPIC", "-o"]).arg(&lib).arg(&src).status().unwrap();
    assert!(status.success());
    lib
}

#[test]
fn vendor_library_loaded_from_a_path_decodes_the_photo() {
    let dir = tempfile::tempdir().unwrap();
    let decoder = VendorPhotoDecoder::load(&build_stand_in(dir.path()), "unpack").unwrap();
    let mut wlt = vec![0u8; 1024];
    wlt[1] = 0x42;
    let bmp = Photo::new(wlt).decode(&decoder).unwrap();
    assert_eq!(bmp.len(), BMP_LEN);
    assert_eq!(&bmp[..3], b"BMB");
}

#[test]
fn vendor_rejection_and_wrong_sizes_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let decoder = VendorPhotoDecoder::load(&build_stand_in(dir.path()), "unpack").unwrap();
    let mut wlt = vec![0u8; 1024];
    wlt[0] = 0xFF;
    assert!(matches!(Photo::new(wlt).decode(&decoder), Err(PhotoError::Rejected { code: -2 })));
    assert!(matches!(Photo::new(vec![0; 10]).decode(&decoder), Err(PhotoError::Length(10))));
}

#[test]
fn missing_library_or_symbol_names_the_path() {
    let err = VendorPhotoDecoder::load(Path::new("/nonexistent/libwlt.so"), "unpack").unwrap_err();
    assert!(err.to_string().contains("/nonexistent/libwlt.so"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let lib = build_stand_in(dir.path());
    let err = VendorPhotoDecoder::load(&lib, "no_such_fn").unwrap_err();
    assert!(matches!(err, PhotoError::Symbol { .. }), "{err}");
}

#[test]
fn photo_stays_raw_without_a_decoder() {
    let photo = Photo::new(vec![7; 1024]);
    assert_eq!(photo.wlt(), &[7; 1024][..]);
    assert_eq!(format!("{photo:?}"), "Photo(1024 WLT bytes)");
}
