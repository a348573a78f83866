//! Any answers from a card: the response parser, the T=0 loop and the whole read
//! procedure never panic, every loop ends, and whatever is read becomes card data.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sscard::apdu::Response;
use sscard::{Exchange, SsCard, TransportError, read_records};

/// Answers with the next length-prefixed slice of the input, then says the card is gone.
struct Answers<'a> {
    rest: &'a [u8],
    sent: usize,
}

impl Exchange for Answers<'_> {
    fn exchange(&mut self, _: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.sent += 1;
        assert!(self.sent < 2_000, "the read procedure must not loop");
        let Some((&len, rest)) = self.rest.split_first() else { return Err(TransportError::CardRemoved) };
        let len = usize::from(len).min(rest.len());
        let (answer, rest) = rest.split_at(len);
        self.rest = rest;
        Ok(answer.to_vec())
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = Response::parse(data) {
        assert_eq!(r.encode(), data);
    }
    let mut card = Answers { rest: data, sent: 0 };
    if let Ok(records) = read_records(&mut card, None) {
        let c = SsCard::from_records(&records, time::macros::date!(2026 - 01 - 01));
        let _ = (c.social_security_number_valid(), format!("{c:?}"));
        let _ = sscard::json::card_json(&c, false).to_string();
    }
    let mut frames = sscard::sim::vpcd::FrameDecoder::default();
    frames.push(data);
    while frames.next_payload().is_some() {}
});
