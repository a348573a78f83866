//! CODE128: turning a tracking number into the `GS k 73` data form (code set C for digit
//! runs) and turning that data form into bars, for raster mode and the virtual printer.

/// Bar/space widths of the 107 CODE128 symbols (103..=105 start A/B/C, 106 stop).
pub const WIDTHS: [&str; 107] = [
    "212222", "222122", "222221", "121223", "121322", "131222", "122213", "122312", "132212", "221213", "221312",
    "231212", "112232", "122132", "122231", "113222", "123122", "123221", "223211", "221132", "221231", "213212",
    "223112", "312131", "311222", "321122", "321221", "312212", "322112", "322211", "212123", "212321", "232121",
    "111323", "131123", "131321", "112313", "132113", "132311", "211313", "231113", "231311", "112133", "112331",
    "132131", "113123", "113321", "133121", "313121", "211331", "231131", "213113", "213311", "213131", "311123",
    "311321", "331121", "312113", "312311", "332111", "314111", "221411", "431111", "111224", "111422", "121124",
    "121421", "141122", "141221", "112214", "112412", "122114", "122411", "142112", "142211", "241211", "221114",
    "413111", "241112", "134111", "111242", "121142", "121241", "114212", "124112", "124211", "411212", "421112",
    "421211", "212141", "214121", "412121", "111143", "111341", "131141", "114113", "114311", "411113", "411311",
    "113141", "114131", "311141", "411131", "211412", "211214", "211232", "2331112",
];

const START_A: u8 = 103;
const START_B: u8 = 104;
const START_C: u8 = 105;
const STOP: u8 = 106;

/// Why a text cannot be a CODE128 symbol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Code128Error {
    #[error("barcode is empty")]
    Empty,
    #[error("barcode character {0:?} is not printable ASCII")]
    NotAscii(char),
    #[error("barcode needs {0} bytes, the printer takes at most 255")]
    TooLong(usize),
}

/// Encodes printable ASCII as `GS k 73` data: `{C` with two digits per byte for digit
/// runs of four or more (or an all-digit text), `{B` otherwise, `{{` for a literal brace.
pub fn to_escpos(content: &str) -> Result<Vec<u8>, Code128Error> {
    if content.is_empty() {
        return Err(Code128Error::Empty);
    }
    if let Some(c) = content.chars().find(|c| !(' '..='~').contains(c)) {
        return Err(Code128Error::NotAscii(c));
    }
    let bytes = content.as_bytes();
    let all_digits = bytes.iter().all(u8::is_ascii_digit);
    let mut out = Vec::with_capacity(bytes.len() + 4);
    let mut set_c = None::<bool>;
    let mut i = 0;
    while i < bytes.len() {
        let run = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        let use_c = run >= 4 || (all_digits && run >= 2);
        if use_c {
            // An odd run keeps its first digit in set B so the rest pairs up.
            if run % 2 == 1 {
                push_b(&mut out, &mut set_c, bytes[i]);
                i += 1;
            }
            let pairs = run / 2;
            if set_c != Some(true) {
                out.extend_from_slice(b"{C");
                set_c = Some(true);
            }
            for p in 0..pairs {
                let hi = bytes[i + 2 * p] - b'0';
                let lo = bytes[i + 2 * p + 1] - b'0';
                out.push(hi * 10 + lo);
            }
            i += pairs * 2;
        } else {
            push_b(&mut out, &mut set_c, bytes[i]);
            i += 1;
        }
    }
    if out.len() > 255 {
        return Err(Code128Error::TooLong(out.len()));
    }
    Ok(out)
}

fn push_b(out: &mut Vec<u8>, set_c: &mut Option<bool>, b: u8) {
    if *set_c != Some(false) {
        out.extend_from_slice(b"{B");
        *set_c = Some(false);
    }
    if b == b'{' {
        out.extend_from_slice(b"{{");
    } else {
        out.push(b);
    }
}

/// A decoded `GS k 73` payload: symbol values (start .. checksum, stop) and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    pub values: Vec<u8>,
    pub text: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Set {
    A,
    B,
    C,
}

/// Parses ESC/POS CODE128 data (starting with `{A`, `{B` or `{C`) into symbol values the
/// way a printer does. Returns None for data a printer would refuse to print.
pub fn parse_escpos(data: &[u8]) -> Option<Symbol> {
    let (mut set, start) = match data.get(..2)? {
        b"{A" => (Set::A, START_A),
        b"{B" => (Set::B, START_B),
        b"{C" => (Set::C, START_C),
        _ => return None,
    };
    let mut values = vec![start];
    let mut text = String::new();
    let mut i = 2;
    while i < data.len() {
        let b = data[i];
        if b == b'{' {
            let code = *data.get(i + 1)?;
            i += 2;
            let v = match (code, set) {
                (b'{', Set::A | Set::B) => {
                    text.push('{');
                    b'{' - 32
                }
                (b'A', Set::A) | (b'B', Set::B) | (b'C', Set::C) => continue,
                (b'A', _) => {
                    set = Set::A;
                    101
                }
                (b'B', _) => {
                    set = Set::B;
                    100
                }
                (b'C', _) => {
                    set = Set::C;
                    99
                }
                (b'1', _) => 102,
                (b'2', Set::A | Set::B) => 97,
                (b'3', Set::A | Set::B) => 96,
                (b'4', Set::A) => 101,
                (b'4', Set::B) => 100,
                (b'S', Set::A | Set::B) => 98,
                _ => return None,
            };
            values.push(v);
            continue;
        }
        let v = match set {
            Set::C => {
                if b > 99 {
                    return None;
                }
                text.push(char::from(b'0' + b / 10));
                text.push(char::from(b'0' + b % 10));
                b
            }
            Set::A => match b {
                0x20..=0x5F => {
                    text.push(char::from(b));
                    b - 32
                }
                0x00..=0x1F => b + 64,
                _ => return None,
            },
            Set::B => match b {
                0x20..=0x7F => {
                    text.push(char::from(b));
                    b - 32
                }
                _ => return None,
            },
        };
        values.push(v);
        i += 1;
    }
    if values.len() < 2 {
        return None;
    }
    let sum: u32 = values.iter().enumerate().map(|(i, &v)| (i.max(1) as u32) * u32::from(v)).sum();
    values.push((sum % 103) as u8);
    values.push(STOP);
    Some(Symbol { values, text })
}

/// The bars of a symbol as module widths, alternating bar, space, bar, ... (starts with a bar).
pub fn element_widths(values: &[u8]) -> Vec<u8> {
    values.iter().filter_map(|&v| WIDTHS.get(usize::from(v))).flat_map(|w| w.bytes().map(|c| c - b'0')).collect()
}

/// Total modules of a symbol (without quiet zones).
pub fn module_count(values: &[u8]) -> usize {
    element_widths(values).iter().map(|&w| usize::from(w)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_is_eleven_modules_and_unique() {
        for (i, w) in WIDTHS.iter().enumerate() {
            let sum: u32 = w.bytes().map(|c| u32::from(c - b'0')).sum();
            assert_eq!(sum, if i == 106 { 13 } else { 11 }, "pattern {i}");
        }
        let mut all = WIDTHS.to_vec();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 107);
    }

    #[test]
    fn digit_runs_use_code_set_c() {
        assert_eq!(to_escpos("202611210001").unwrap(), b"{C\x14\x1A\x0B\x15\x00\x01");
        assert_eq!(to_escpos("SF1234567").unwrap(), b"{BSF1{C\x17\x2D\x43");
        assert_eq!(to_escpos("AB12").unwrap(), b"{BAB12");
        assert_eq!(to_escpos("12345").unwrap(), b"{B1{C\x17\x2D");
        assert_eq!(to_escpos("a{b").unwrap(), b"{Ba{{b");
    }

    #[test]
    fn non_ascii_and_empty_are_refused() {
        assert_eq!(to_escpos(""), Err(Code128Error::Empty));
        assert_eq!(to_escpos("号123"), Err(Code128Error::NotAscii('号')));
    }

    #[test]
    fn parsing_round_trips_text_and_checksum() {
        // 104 + 48*1 + 42*2 + 42*3 + 17*4 + 18*5 + 19*6 + 35*7 = 879; 879 mod 103 = 55.
        let s = parse_escpos(b"{BPJJ123C").unwrap();
        assert_eq!(s.text, "PJJ123C");
        assert_eq!(s.values[s.values.len() - 2], 55);
        let s = parse_escpos(&to_escpos("SF1234567").unwrap()).unwrap();
        assert_eq!(s.text, "SF1234567");
        assert!(parse_escpos(b"12").is_none());
        assert!(parse_escpos(b"{C\xC8").is_none());
    }
}
