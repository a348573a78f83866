//! Tracking numbers: `QC-20261121-0004837` is the kind, the China date, the day's
//! sequence number (six digits, one sequence a day shared by every kind, so no two
//! applications ever get the same digits) and a Damm check digit. A citizen types the
//! 15 digits on a terminal's keypad (`202611210004837`); the check digit catches every
//! single mistyped digit and every swap of two neighbours, so a typo finds nothing
//! instead of someone else's application.

/// Digits of a tracking number of this form (date, sequence, check digit). Never 16,
/// the length of a client reference; numbers issued before had 14.
pub const TRACKING_DIGITS_LEN: usize = 15;
/// Most applications one day's sequence can number.
pub const SEQUENCE_MAX: u64 = 999_999;

/// Damm's quasigroup of order 10 (weakly totally anti-symmetric).
const DAMM: [[u8; 10]; 10] = [
    [0, 3, 1, 7, 5, 9, 8, 6, 4, 2],
    [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
    [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
    [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
    [6, 1, 2, 3, 0, 4, 5, 9, 7, 8],
    [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
    [5, 8, 6, 9, 7, 2, 0, 1, 3, 4],
    [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
    [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
    [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
];

/// The Damm interim digit of `digits`; `None` if any character is not an ASCII digit.
fn damm(digits: &str) -> Option<u8> {
    digits
        .bytes()
        .try_fold(0u8, |interim, b| b.is_ascii_digit().then(|| DAMM[usize::from(interim)][usize::from(b - b'0')]))
}

/// The check digit that makes `digits` followed by it pass [`check_digit_matches`].
pub fn check_digit(digits: &str) -> Option<char> {
    damm(digits).map(|d| char::from(b'0' + d))
}

/// Whether `digits` ends in the right check digit.
pub fn check_digit_matches(digits: &str) -> bool {
    !digits.is_empty() && damm(digits) == Some(0)
}

/// The tracking number of the `sequence`-th application of China day `yyyymmdd`.
pub fn tracking_number(kind_prefix: &str, yyyymmdd: &str, sequence: u64) -> Option<String> {
    if sequence == 0 || sequence > SEQUENCE_MAX || yyyymmdd.len() != 8 {
        return None;
    }
    let body = format!("{yyyymmdd}{sequence:06}");
    let check = check_digit(&body)?;
    Some(format!("{kind_prefix}-{yyyymmdd}-{sequence:06}{check}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damm_matches_the_published_example() {
        // 572 -> 4 (Damm 2004; the example every description of the algorithm uses).
        assert_eq!(check_digit("572"), Some('4'));
        assert!(check_digit_matches("5724"));
        assert!(!check_digit_matches("5723"));
        assert_eq!(check_digit("12a"), None);
    }

    #[test]
    fn every_single_digit_typo_and_neighbour_swap_is_caught() {
        let number = tracking_number("QC", "20261121", 4837).unwrap();
        assert!(number.starts_with("QC-20261121-004837") && number.len() == 19, "{number}");
        let digits: String = number.chars().filter(char::is_ascii_digit).collect();
        assert_eq!(digits.len(), TRACKING_DIGITS_LEN);
        assert!(check_digit_matches(&digits));
        let bytes = digits.as_bytes();
        for i in 0..bytes.len() {
            for d in b'0'..=b'9' {
                if d != bytes[i] {
                    let mut typo = bytes.to_vec();
                    typo[i] = d;
                    assert!(!check_digit_matches(std::str::from_utf8(&typo).unwrap()), "digit {i} -> {d}");
                }
            }
            if i + 1 < bytes.len() && bytes[i] != bytes[i + 1] {
                let mut swapped = bytes.to_vec();
                swapped.swap(i, i + 1);
                assert!(!check_digit_matches(std::str::from_utf8(&swapped).unwrap()), "swap {i}");
            }
        }
    }

    #[test]
    fn numbers_keep_the_kind_date_form_and_are_never_client_reference_length() {
        let n = tracking_number("UR", "20261101", 1).unwrap();
        assert!(n.starts_with("UR-20261101-000001"), "{n}");
        assert_ne!(TRACKING_DIGITS_LEN, contract::CLIENT_REFERENCE_LEN);
        assert_eq!(tracking_number("UR", "20261101", 0), None);
        assert_eq!(tracking_number("UR", "20261101", SEQUENCE_MAX + 1), None);
        assert!(tracking_number("UR", "20261101", SEQUENCE_MAX).is_some());
    }
}
