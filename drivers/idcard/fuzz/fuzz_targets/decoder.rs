//! Any byte stream, in any chunking: the decoder never panics and stays bounded.
#![no_main]

use idcard::frame::{CardBlocks, Decoder, MAX_FRAME_LEN, Reply};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the chunk size, so chunk boundaries are explored too.
    let Some((&chunk, rest)) = data.split_first() else { return };
    let chunk = usize::from(chunk).max(1);
    let mut decoder = Decoder::new();
    for piece in rest.chunks(chunk) {
        decoder.push(piece);
        while let Some(event) = decoder.next_event() {
            if let Ok(frame) = event {
                assert!(frame.wire_len() <= MAX_FRAME_LEN);
                if let Some(reply) = Reply::from_frame(frame) {
                    let _ = CardBlocks::parse(&reply.data, false);
                    let _ = CardBlocks::parse(&reply.data, true);
                }
            }
        }
        assert!(decoder.buffered() < MAX_FRAME_LEN);
    }
    while decoder.abandon_partial().is_some() {
        while decoder.next_event().is_some() {}
    }
});
