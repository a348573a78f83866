//! The calendar citizens and the registry live in: China time, from the contract (the
//! one definition terminal and central share), and the month arithmetic the reference
//! registry needs on `YYYY-MM` strings.

pub use contract::china_time::{CHINA_TIME, china_date, ymd};
use time::OffsetDateTime;

/// The month in China at instant `at`, as `YYYY-MM`.
pub fn china_month(at: OffsetDateTime) -> String {
    let d = china_date(at);
    format!("{:04}-{:02}", d.year(), u8::from(d.month()))
}

/// The month after `ym` (`YYYY-MM`).
pub fn next_month(ym: &str) -> Option<String> {
    let y: i32 = ym.get(..4)?.parse().ok()?;
    let m: u32 = ym.get(5..)?.parse().ok()?;
    Some(if m == 12 { format!("{:04}-01", y + 1) } else { format!("{y:04}-{:02}", m + 1) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_first_hours_of_a_china_month_belong_to_that_month_not_the_utc_one() {
        // 2026-12-01 01:00 in China is still 30 November in UTC.
        let at = datetime!(2026-11-30 17:00 UTC);
        assert_eq!(china_month(at), "2026-12");
        assert_eq!(ymd(china_date(at)), "2026-12-01");
        // 07:59:59 China time on the 1st is the last second of the previous UTC day.
        assert_eq!(china_month(datetime!(2026-12-31 23:59:59 UTC)), "2027-01");
        assert_eq!(china_month(datetime!(2026-12-31 15:59:59 UTC)), "2026-12");
    }

    #[test]
    fn next_month_rolls_the_year() {
        assert_eq!(next_month("2024-12").as_deref(), Some("2025-01"));
        assert_eq!(next_month("2024-03").as_deref(), Some("2024-04"));
    }
}
