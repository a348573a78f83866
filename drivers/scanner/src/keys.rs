//! The sans-IO key-event decoder for a USB HID keyboard-wedge scanner with a US layout:
//! Linux key codes and press/release values in, the bytes they type out (fed to the
//! [`crate::line::LineAssembler`]). Shift and Caps Lock are followed; a key that types
//! nothing a barcode holds yields a marker byte that makes its line garbage, so a scan is
//! never silently changed by a dropped character.

/// What an unknown key (or a key typed with Ctrl, Alt or Meta held) becomes: a control byte,
/// so the line assembler rejects the line.
pub const UNKNOWN_KEY: u8 = 0x00;

/// `EV_KEY` values.
pub const RELEASED: i32 = 0;
pub const PRESSED: i32 = 1;
pub const REPEATED: i32 = 2;

// Linux input-event-codes.h
const KEY_LEFTSHIFT: u16 = 42;
const KEY_RIGHTSHIFT: u16 = 54;
const KEY_CAPSLOCK: u16 = 58;
const KEY_LEFTCTRL: u16 = 29;
const KEY_RIGHTCTRL: u16 = 97;
const KEY_LEFTALT: u16 = 56;
const KEY_RIGHTALT: u16 = 100;
const KEY_LEFTMETA: u16 = 125;
const KEY_RIGHTMETA: u16 = 126;
const KEY_NUMLOCK: u16 = 69;
pub const KEY_ENTER: u16 = 28;
pub const KEY_KPENTER: u16 = 96;

/// (key code, unshifted, shifted) for the keys that type a character on a US layout.
const US_LAYOUT: &[(u16, u8, u8)] = &[
    (2, b'1', b'!'),
    (3, b'2', b'@'),
    (4, b'3', b'#'),
    (5, b'4', b'$'),
    (6, b'5', b'%'),
    (7, b'6', b'^'),
    (8, b'7', b'&'),
    (9, b'8', b'*'),
    (10, b'9', b'('),
    (11, b'0', b')'),
    (12, b'-', b'_'),
    (13, b'=', b'+'),
    (16, b'q', b'Q'),
    (17, b'w', b'W'),
    (18, b'e', b'E'),
    (19, b'r', b'R'),
    (20, b't', b'T'),
    (21, b'y', b'Y'),
    (22, b'u', b'U'),
    (23, b'i', b'I'),
    (24, b'o', b'O'),
    (25, b'p', b'P'),
    (26, b'[', b'{'),
    (27, b']', b'}'),
    (30, b'a', b'A'),
    (31, b's', b'S'),
    (32, b'd', b'D'),
    (33, b'f', b'F'),
    (34, b'g', b'G'),
    (35, b'h', b'H'),
    (36, b'j', b'J'),
    (37, b'k', b'K'),
    (38, b'l', b'L'),
    (39, b';', b':'),
    (40, b'\'', b'"'),
    (41, b'`', b'~'),
    (43, b'\\', b'|'),
    (44, b'z', b'Z'),
    (45, b'x', b'X'),
    (46, b'c', b'C'),
    (47, b'v', b'V'),
    (48, b'b', b'B'),
    (49, b'n', b'N'),
    (50, b'm', b'M'),
    (51, b',', b'<'),
    (52, b'.', b'>'),
    (53, b'/', b'?'),
    (57, b' ', b' '),
    // The keypad, as scanners send it (Num Lock on): digits and operators, shift or not.
    (55, b'*', b'*'),
    (71, b'7', b'7'),
    (72, b'8', b'8'),
    (73, b'9', b'9'),
    (74, b'-', b'-'),
    (75, b'4', b'4'),
    (76, b'5', b'5'),
    (77, b'6', b'6'),
    (78, b'+', b'+'),
    (79, b'1', b'1'),
    (80, b'2', b'2'),
    (81, b'3', b'3'),
    (82, b'0', b'0'),
    (83, b'.', b'.'),
    (98, b'/', b'/'),
];

/// The key code and shift state that type `c` on a US layout (for simulators and tests).
pub fn key_for(c: char) -> Option<(u16, bool)> {
    let b = u8::try_from(c).ok()?;
    US_LAYOUT.iter().filter(|(code, _, _)| *code < 55 || *code == 57).find_map(|&(code, plain, shifted)| {
        if plain == b {
            Some((code, false))
        } else if shifted == b {
            Some((code, true))
        } else {
            None
        }
    })
}

/// Turns key events into typed bytes.
#[derive(Clone, Debug, Default)]
pub struct KeyDecoder {
    left_shift: bool,
    right_shift: bool,
    caps_lock: bool,
    /// Ctrl, Alt or Meta keys held (a bit each).
    other_modifiers: u8,
}

impl KeyDecoder {
    pub fn new() -> KeyDecoder {
        KeyDecoder::default()
    }

    /// One `EV_KEY` event: `value` is 0 release, 1 press, 2 autorepeat. Returns the byte
    /// the key typed: a character, `\r` for Enter, or [`UNKNOWN_KEY`].
    pub fn key(&mut self, code: u16, value: i32) -> Option<u8> {
        let pressed = value == PRESSED;
        match code {
            KEY_LEFTSHIFT => self.left_shift = value != RELEASED,
            KEY_RIGHTSHIFT => self.right_shift = value != RELEASED,
            KEY_CAPSLOCK if pressed => self.caps_lock = !self.caps_lock,
            KEY_CAPSLOCK | KEY_NUMLOCK => {}
            KEY_LEFTCTRL | KEY_RIGHTCTRL | KEY_LEFTALT | KEY_RIGHTALT | KEY_LEFTMETA | KEY_RIGHTMETA => {
                let bit = match code {
                    KEY_LEFTCTRL | KEY_RIGHTCTRL => 1,
                    KEY_LEFTALT | KEY_RIGHTALT => 2,
                    _ => 4,
                };
                if value == RELEASED {
                    self.other_modifiers &= !bit;
                } else {
                    self.other_modifiers |= bit;
                }
            }
            // Scanners never hold a key down: a repeat is not a second character.
            _ if !pressed => {}
            KEY_ENTER | KEY_KPENTER => return Some(b'\r'),
            _ => return Some(self.character(code).unwrap_or(UNKNOWN_KEY)),
        }
        None
    }

    fn character(&self, code: u16) -> Option<u8> {
        if self.other_modifiers != 0 {
            return None;
        }
        let &(_, plain, shifted) = US_LAYOUT.iter().find(|(c, _, _)| *c == code)?;
        let shift = self.left_shift || self.right_shift;
        // Caps Lock shifts letters only.
        let shift = if plain.is_ascii_lowercase() { shift != self.caps_lock } else { shift };
        Some(if shift { shifted } else { plain })
    }

    /// Forgets held modifiers (the device was reopened: its key state is unknown).
    pub fn reset(&mut self) {
        *self = KeyDecoder::default();
    }
}
