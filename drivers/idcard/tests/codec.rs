//! The frame codec against every byte-exact vector in the protocol document.

#![allow(clippy::unwrap_used, clippy::panic)] // test helpers may fail loudly

use idcard::frame::{
    BaudRate, CardBlocks, Command, Decoder, FrameError, MAX_FRAME_LEN, Reply, Status, decode_all, encode_frame,
};

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace().map(|b| u8::from_str_radix(b, 16).unwrap()).collect()
}

fn decode_one(bytes: &[u8]) -> Reply {
    let mut events = decode_all(bytes);
    assert_eq!(events.len(), 1, "{events:?}");
    Reply::from_frame(events.remove(0).unwrap()).unwrap()
}

#[test]
fn every_command_encodes_to_the_documented_request_bytes() {
    let vectors = [
        (Command::ResetSam, "AA AA AA 96 69 00 03 10 FF EC"),
        (Command::SamStatus, "AA AA AA 96 69 00 03 11 FF ED"),
        (Command::SamId, "AA AA AA 96 69 00 03 12 FF EE"),
        (Command::FindCard, "AA AA AA 96 69 00 03 20 01 22"),
        (Command::SelectCard, "AA AA AA 96 69 00 03 20 02 21"),
        (Command::ReadText, "AA AA AA 96 69 00 03 30 01 32"),
        (Command::ReadTextAndFingerprint, "AA AA AA 96 69 00 03 30 10 23"),
        (Command::ReadNewestAddress, "AA AA AA 96 69 00 03 30 03 30"),
        (Command::SetBaud(BaudRate::B115200), "AA AA AA 96 69 00 03 60 00 63"),
        (Command::MaxRfFrameBytes(0x50), "AA AA AA 96 69 00 04 61 FF 50 CA"),
    ];
    for (command, bytes) in vectors {
        assert_eq!(command.encode(), hex(bytes), "{command:?}");
        // And the simulator's side recognises it.
        let frame = decode_all(&hex(bytes)).remove(0).unwrap();
        assert_eq!(Command::from_frame(&frame), Some(command));
    }
}

#[test]
fn set_baud_codes_cover_all_five_rates() {
    let rates = [BaudRate::B115200, BaudRate::B57600, BaudRate::B38400, BaudRate::B19200, BaudRate::B9600];
    for (n, rate) in rates.into_iter().enumerate() {
        let bytes = Command::SetBaud(rate).encode();
        assert_eq!(bytes[7..9], [0x60, n as u8]);
        assert_eq!(bytes[9], 0x03 ^ 0x60 ^ n as u8);
    }
    assert_eq!(BaudRate::from_code(5), None);
}

#[test]
fn known_replies_decode_to_their_status_and_data() {
    let vectors = [
        ("AA AA AA 96 69 00 04 00 00 90 94", Status::Ok, 0),
        ("AA AA AA 96 69 00 08 00 00 9F 00 00 00 00 97", Status::CardFound, 4),
        ("AA AA AA 96 69 00 04 00 00 80 84", Status::FindFailed, 0),
        ("AA AA AA 96 69 00 0C 00 00 90 00 00 00 00 00 00 00 00 9C", Status::Ok, 8),
        ("AA AA AA 96 69 00 04 00 00 81 85", Status::SelectFailed, 0),
        ("AA AA AA 96 69 00 04 00 00 41 45", Status::ReadFailed, 0),
    ];
    for (bytes, status, data_len) in vectors {
        let reply = decode_one(&hex(bytes));
        assert_eq!(reply.status, status);
        assert_eq!(reply.data.len(), data_len);
        // Re-encoding gives the same bytes back.
        assert_eq!(reply.encode().unwrap(), hex(bytes));
    }
}

#[test]
fn card_reply_sizes_match_the_documented_layouts() {
    let blocks = |fp: Option<usize>| CardBlocks {
        text: vec![0x20; 256],
        photo: vec![0x11; 1024],
        fingerprint: fp.map(|n| vec![0x22; n]),
    };
    let frame = Reply::new(Status::Ok, blocks(None).encode()).encode().unwrap();
    assert_eq!(frame.len(), 1295);
    assert_eq!(frame[5..14], [0x05, 0x08, 0x00, 0x00, 0x90, 0x01, 0x00, 0x04, 0x00]);
    assert_eq!(frame[14], 0x20, "text starts at 14");
    assert_eq!(frame[270], 0x11, "photo starts at 270");
    for (fp, total) in [(0, 1297), (512, 1809), (1024, 2321)] {
        let frame = Reply::new(Status::Ok, blocks(Some(fp)).encode()).encode().unwrap();
        assert_eq!(frame.len(), total);
        assert_eq!(frame[16], 0x20, "text at 16");
        assert_eq!(frame[272], 0x11, "photo at 272");
        if fp > 0 {
            assert_eq!(frame[1296], 0x22, "fingerprint at 1296");
        }
        let reply = decode_one(&frame);
        assert_eq!(CardBlocks::parse(&reply.data, true).unwrap(), blocks(Some(fp)));
    }
}

#[test]
fn one_byte_at_a_time_gives_the_same_frames_as_one_buffer() {
    let mut stream = hex("AA AA AA 96 69 00 04 00 00 90 94");
    stream.extend(hex("AA AA AA 96 69 00 08 00 00 9F 00 00 00 00 97"));
    let mut decoder = Decoder::new();
    let mut frames = Vec::new();
    for b in &stream {
        decoder.push(std::slice::from_ref(b));
        while let Some(e) = decoder.next_event() {
            frames.push(e.unwrap());
        }
    }
    assert_eq!(frames.len(), 2);
    assert_eq!(Reply::from_frame(frames[1].clone()).unwrap().status, Status::CardFound);
}

#[test]
fn garbage_before_a_frame_is_skipped_and_counted() {
    let mut stream = hex("00 FF AA AA 13 AA AA AA 96");
    stream.extend(hex("AA AA AA 96 69 00 04 00 00 80 84"));
    let mut decoder = Decoder::new();
    decoder.push(&stream);
    let reply = Reply::from_frame(decoder.next_event().unwrap().unwrap()).unwrap();
    assert_eq!(reply.status, Status::FindFailed);
    assert_eq!(decoder.skipped_bytes(), 9);
    assert!(decoder.next_event().is_none());
}

#[test]
fn bad_checksum_is_reported_then_the_next_frame_decodes() {
    let mut stream = hex("AA AA AA 96 69 00 04 00 00 90 95");
    stream.extend(hex("AA AA AA 96 69 00 04 00 00 41 45"));
    let events = decode_all(&stream);
    assert_eq!(events[0], Err(FrameError::BadChecksum { computed: 0x94, received: 0x95 }));
    assert_eq!(Reply::from_frame(events[1].clone().unwrap()).unwrap().status, Status::ReadFailed);
    assert_eq!(events.len(), 2);
}

#[test]
fn bad_length_is_rejected_and_resynchronised() {
    // LEN 0x0002 (too small) and LEN 0x0910 (2321 + ... too large), each followed by a good frame.
    for bad in ["AA AA AA 96 69 00 02 00 00", "AA AA AA 96 69 09 0C 00 00"] {
        let mut stream = hex(bad);
        stream.extend(hex("AA AA AA 96 69 00 04 00 00 90 94"));
        let events = decode_all(&stream);
        assert!(matches!(events[0], Err(FrameError::BadLength { .. })), "{events:?}");
        assert_eq!(Reply::from_frame(events[1].clone().unwrap()).unwrap().status, Status::Ok);
    }
}

#[test]
fn truncated_frame_does_not_swallow_the_frame_after_it() {
    // A 30 01 reply cut after 40 bytes, then a complete status reply.
    let full =
        Reply::new(Status::Ok, CardBlocks { text: vec![0x20; 256], photo: vec![1; 1024], fingerprint: None }.encode())
            .encode()
            .unwrap();
    let mut stream = full[..40].to_vec();
    stream.extend(hex("AA AA AA 96 69 00 04 00 00 90 94"));
    let events = decode_all(&stream);
    assert!(matches!(events[0], Err(FrameError::Truncated { expected: 1295, .. })), "{events:?}");
    assert_eq!(Reply::from_frame(events[1].clone().unwrap()).unwrap().status, Status::Ok);
}

#[test]
fn the_largest_frame_is_accepted_and_one_byte_more_is_not() {
    let body = vec![0x5A; MAX_FRAME_LEN - 8];
    let frame = encode_frame(&body).unwrap();
    assert_eq!(frame.len(), MAX_FRAME_LEN);
    assert_eq!(decode_all(&frame).len(), 1);
    assert!(decode_all(&frame)[0].is_ok());
    assert!(matches!(encode_frame(&vec![0; MAX_FRAME_LEN - 7]), Err(FrameError::BadLength { .. })));
    // Hand-build a 2322-byte frame: LEN 0x090B.
    let mut too_big = vec![0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x09, 0x0B];
    too_big.extend(vec![0u8; 2314]);
    too_big.push(0x09 ^ 0x0B);
    assert_eq!(decode_all(&too_big)[0], Err(FrameError::BadLength { declared: 0x090B }));
}

#[test]
fn every_documented_status_code_round_trips_with_a_message() {
    let codes = [
        0x90, 0x91, 0x9F, 0x10, 0x11, 0x21, 0x23, 0x24, 0x31, 0x32, 0x33, 0x37, 0x3F, 0x40, 0x41, 0x47, 0x60, 0x66,
        0x80, 0x81,
    ];
    for code in codes {
        let status = Status::from_byte(code);
        assert_ne!(status, Status::Other(code), "{code:02X} must be a named status");
        assert_eq!(status.byte(), code);
        assert!(status.to_string().starts_with(&format!("{code:02X}: ")));
    }
    assert_eq!(Status::from_byte(0x55), Status::Other(0x55));
    assert!(Status::SamNotAuthorised.message().contains("not authorised"));
    assert!(Status::ReadFailed.message().contains("hold the card"));
    assert!(Status::SamNotAuthorised.is_sam_fault());
    assert!(!Status::FindFailed.is_sam_fault());
}

#[test]
fn unknown_request_is_not_mistaken_for_a_command() {
    let frame = decode_all(&encode_frame(&[0x42, 0x42]).unwrap()).remove(0).unwrap();
    assert_eq!(Command::from_frame(&frame), None);
}

#[test]
fn frame_debug_does_not_print_the_body() {
    let frame = decode_all(&encode_frame(&[0, 0, 0x90, 0x41, 0x42, 0x43, 0x44]).unwrap()).remove(0).unwrap();
    let debug = format!("{frame:?}");
    assert!(debug.contains("7 bytes"));
    assert!(!debug.contains("44"));
}
