//! Any ESC/POS stream through the whole virtual printer (parse, print, status, cut).
#![no_main]

use libfuzzer_sys::fuzz_target;
use printer::Profile;
use printer::virtual_printer::VirtualPrinter;

fuzz_target!(|data: &[u8]| {
    let vp = VirtualPrinter::new(Profile::CLONE_58);
    let replies = vp.feed(data);
    for b in replies {
        // Real-time replies and status back bytes have their fixed bits.
        assert_eq!(b & 0x80, 0);
    }
    vp.control().finish();
});
