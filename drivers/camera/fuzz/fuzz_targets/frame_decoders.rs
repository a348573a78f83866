//! YUYV and MJPEG decoders must return a frame or a typed error for any camera bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let (w, h) = (u32::from(data[0] % 64), u32::from(data[1] % 64));
    let _ = camera::decode_yuyv(w, h, &data[2..]);
    let _ = camera::decode_mjpeg(&data[2..]);
});
