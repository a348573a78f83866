//! Any text block, photo and address bytes: card parsing never panics.
#![no_main]

use idcard::Card;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = &data[..data.len().min(256)];
    if let Ok(card) = Card::parse(text, data.to_vec(), None) {
        let _ = card.id_number_valid();
        let _ = idcard::json::card_json(&card, false).to_string();
        let _ = format!("{card:?}");
    }
    let _ = Card::parse_newest_address(data);
    let _ = idcard::mask_id_number(&String::from_utf8_lossy(data));
});
