//! The calendar citizens and the registry live in: China Standard Time (UTC+8, no
//! daylight saving), so a day or month starts at local midnight, not UTC midnight.

use time::{Date, OffsetDateTime, UtcOffset};

/// China Standard Time; central's own, it must not depend on the kiosk's copy.
pub const CHINA_TIME: UtcOffset = time::macros::offset!(+8);

/// The calendar day in China at instant `at`.
pub fn china_date(at: OffsetDateTime) -> Date {
    at.to_offset(CHINA_TIME).date()
}

/// `YYYY-MM-DD`
pub fn ymd(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

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
