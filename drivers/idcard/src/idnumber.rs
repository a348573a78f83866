//! Citizen ID numbers (GB 11643, ISO 7064 MOD 11-2) and the masking every log,
//! Debug impl and audit record uses for personal data.

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

/// Masks a name: the first character (the surname for most Chinese names) is kept.
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
