//! Citizen ID numbers (GB 11643, ISO 7064 MOD 11-2) and the masking every log,
//! Debug impl, screen and audit record uses for personal data. One implementation for
//! the ID card driver, the social security card driver, the terminal and the central
//! service.

use std::fmt;

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// The check character for the first 17 digits, or `None` if they are not 17 ASCII digits.
pub fn check_digit(first17: &str) -> Option<char> {
    let digits: Vec<u32> = first17.chars().map(|c| c.to_digit(10)).collect::<Option<_>>()?;
    if digits.len() != 17 {
        return None;
    }
    let sum: u32 = digits.iter().zip(WEIGHTS).map(|(d, w)| d * w).sum();
    Some(CHECK_CHARS[(sum % 11) as usize])
}

/// Completes 17 digits into a valid 18-character number (for synthetic test data).
pub fn with_check_digit(first17: &str) -> Option<String> {
    check_digit(first17).map(|c| format!("{first17}{c}"))
}

/// What is wrong with an ID number, as read from the card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdNumberProblem {
    /// Not 18 characters (15 for a 2017 foreigner's card).
    WrongLength { found: usize },
    /// Characters other than digits (and a final X).
    BadCharacters,
    /// The check character does not match the other digits.
    CheckDigit { expected: char, found: char },
    /// The birth date inside the number is not a real date.
    BirthDateInvalid,
    /// The number encodes a different birth date than the card's birth date field.
    BirthDateMismatch,
    /// The number's sequence digit encodes a different gender than the card's gender field.
    GenderMismatch,
    /// A foreigner's number whose nationality letters differ from the nationality field.
    NationalityMismatch,
}

impl fmt::Display for IdNumberProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdNumberProblem::WrongLength { found } => write!(f, "ID number has {found} characters"),
            IdNumberProblem::BadCharacters => write!(f, "ID number contains invalid characters"),
            IdNumberProblem::CheckDigit { expected, found } => {
                write!(f, "ID number check digit is {found}, digits say {expected}")
            }
            IdNumberProblem::BirthDateInvalid => write!(f, "ID number holds no valid birth date"),
            IdNumberProblem::BirthDateMismatch => {
                write!(f, "ID number birth date differs from the card's birth date")
            }
            IdNumberProblem::GenderMismatch => write!(f, "ID number gender differs from the card's gender"),
            IdNumberProblem::NationalityMismatch => {
                write!(f, "ID number nationality differs from the card's nationality")
            }
        }
    }
}

/// Masks an ID number for logs and screens: first 4 and last 4 kept (`4501**********0034`).
/// Anything of 8 characters or fewer is masked entirely.
pub fn mask_id_number(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let n = chars.len();
    chars.iter().enumerate().map(|(i, &c)| if i < 4 || i >= n - 4 { c } else { '*' }).collect()
}

/// Masks a name: the first character (the surname for most Chinese names) is kept and
/// every other one starred (`张**`). A one-character name is starred entirely: keeping
/// its only character would show the whole name.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        None => String::new(),
        Some(first) => {
            let rest = chars.count();
            if rest == 0 { "*".to_string() } else { format!("{first}{}", "*".repeat(rest)) }
        }
    }
}

/// True for an 18-character resident ID number with a correct check character.
pub fn is_valid(id: &str) -> bool {
    let b = id.as_bytes();
    // ASCII first: slicing at byte 17 must not cut a character in two.
    b.len() == 18
        && id.is_ascii()
        && check_digit(&id[..17]).is_some_and(|c| c == char::from(b[17].to_ascii_uppercase()))
}

/// The sex a resident ID number encodes in its 17th digit (odd: male).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    Male,
    Female,
}

/// The birth date inside an 18-character number (`YYYYMMDD` at 7..=14), if it is a
/// real date from 1800 on.
pub fn birth_date(id: &str) -> Option<time::Date> {
    let digits = id.get(6..14)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year: i32 = digits[..4].parse().ok()?;
    let month = time::Month::try_from(digits[4..6].parse::<u8>().ok()?).ok()?;
    let day: u8 = digits[6..].parse().ok()?;
    (year >= 1800).then(|| time::Date::from_calendar_date(year, month, day).ok()).flatten()
}

/// The sex an 18-character number encodes.
pub fn sex(id: &str) -> Option<Sex> {
    let digit = id.chars().nth(16)?.to_digit(10)?;
    Some(if digit % 2 == 1 { Sex::Male } else { Sex::Female })
}

/// Everything wrong with a resident ID number (18 characters, GB 11643), checked
/// against what the same card says elsewhere: its birth date and sex records, when it
/// has them. An empty list means the number is sound and agrees with the card.
pub fn resident_number_problems(
    id: &str,
    card_birth_date: Option<time::Date>,
    card_sex: Option<Sex>,
) -> Vec<IdNumberProblem> {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() != 18 {
        return vec![IdNumberProblem::WrongLength { found: chars.len() }];
    }
    let first17: String = chars[..17].iter().collect();
    let last = chars[17];
    let Some(expected) = check_digit(&first17) else {
        return vec![IdNumberProblem::BadCharacters];
    };
    if !(last.is_ascii_digit() || last == 'X') {
        return vec![IdNumberProblem::BadCharacters];
    }
    let mut problems = Vec::new();
    if expected != last {
        problems.push(IdNumberProblem::CheckDigit { expected, found: last });
    }
    match birth_date(id) {
        None => problems.push(IdNumberProblem::BirthDateInvalid),
        Some(d) if card_birth_date.is_some_and(|b| b != d) => problems.push(IdNumberProblem::BirthDateMismatch),
        Some(_) => {}
    }
    if card_sex.is_some_and(|s| sex(id) != Some(s)) {
        problems.push(IdNumberProblem::GenderMismatch);
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digit_matches_the_published_examples() {
        assert!(is_valid("11010519491231002X"));
        assert!(is_valid("440524188001010014"));
        assert!(!is_valid("440524188001010015"));
        assert!(!is_valid("44052418800101001"));
        assert!(!is_valid("1101051949123100２X"), "non-ASCII digits");
        assert!(!is_valid("1101051949123100é"), "18 bytes, not 18 characters");
    }

    #[test]
    fn masks_keep_four_and_four_and_the_surname() {
        assert_eq!(mask_id_number("450103199001010034"), "4501**********0034");
        assert_eq!(mask_id_number("1234"), "****");
        assert_eq!(mask_name("张三丰"), "张**");
        assert_eq!(mask_name("张"), "*", "a one-character name is starred entirely");
        assert_eq!(mask_name(""), "");
    }

    #[test]
    fn a_number_is_cross_checked_with_the_card_it_came_from() {
        let id = "11010519491231002X";
        let born = time::macros::date!(1949 - 12 - 31);
        assert_eq!(birth_date(id), Some(born));
        assert_eq!(sex(id), Some(Sex::Female));
        assert!(resident_number_problems(id, Some(born), Some(Sex::Female)).is_empty());
        assert_eq!(resident_number_problems(id, Some(born), Some(Sex::Male)), vec![IdNumberProblem::GenderMismatch]);
        assert_eq!(
            resident_number_problems(id, time::Date::from_calendar_date(1950, time::Month::January, 1).ok(), None),
            vec![IdNumberProblem::BirthDateMismatch]
        );
        assert_eq!(
            resident_number_problems("110105194912310021", None, None),
            vec![IdNumberProblem::CheckDigit { expected: 'X', found: '1' }]
        );
        assert_eq!(
            resident_number_problems("1101051949", None, None),
            vec![IdNumberProblem::WrongLength { found: 10 }]
        );
        let bad_date = with_check_digit("11010519491331002").unwrap();
        assert_eq!(resident_number_problems(&bad_date, None, None), vec![IdNumberProblem::BirthDateInvalid]);
    }
}
