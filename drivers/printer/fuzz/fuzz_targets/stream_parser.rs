//! Any ESC/POS stream, split anywhere: the parser never panics and the split never
//! changes the commands.
#![no_main]

use libfuzzer_sys::fuzz_target;
use printer::virtual_printer::parser::StreamParser;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, bytes)) = data.split_first() else { return };
    let at = usize::from(cut).min(bytes.len());
    let whole = StreamParser::new(true).push(bytes);
    let mut p = StreamParser::new(true);
    let mut parts = p.push(&bytes[..at]);
    parts.extend(p.push(&bytes[at..]));
    assert_eq!(whole, parts);
});
