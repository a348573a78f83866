//! China Standard Time (UTC+8, no daylight saving): the calendar citizens, receipts,
//! certificates and the registry live in. The whole country shares it, so a day or a
//! month starts at midnight here, not at UTC midnight; and it is a constant, because
//! the process's time zone setting cannot be read safely in a multi-threaded program.

use time::{Date, OffsetDateTime, UtcOffset};

pub const CHINA_TIME: UtcOffset = time::macros::offset!(+8);

/// The instant `at` on China's clock.
pub fn in_china(at: OffsetDateTime) -> OffsetDateTime {
    at.to_offset(CHINA_TIME)
}

/// The calendar day in China at instant `at`.
pub fn china_date(at: OffsetDateTime) -> Date {
    in_china(at).date()
}

/// `YYYY-MM-DD`, the API's form of a calendar day.
pub fn ymd(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Reads the API's `YYYY-MM-DD`.
pub fn parse_ymd(s: &str) -> Option<Date> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let month = time::Month::try_from(s.get(5..7)?.parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(s.get(..4)?.parse().ok()?, month, s.get(8..)?.parse().ok()?).ok()
}

/// `2026年11月21日`, as printed.
pub fn date_zh(d: Date) -> String {
    format!("{:04}年{:02}月{:02}日", d.year(), u8::from(d.month()), d.day())
}

/// `2026年11月21日 15:04:05` on China's clock, as printed.
pub fn date_time_zh(at: OffsetDateTime) -> String {
    let t = in_china(at);
    format!("{} {:02}:{:02}:{:02}", date_zh(t.date()), t.hour(), t.minute(), t.second())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn the_first_hours_of_a_china_day_belong_to_that_day_not_the_utc_one() {
        // 2026-12-01 01:00 in China is still 30 November in UTC.
        assert_eq!(china_date(datetime!(2026-11-30 17:00 UTC)), date!(2026 - 12 - 01));
        assert_eq!(china_date(datetime!(2026-12-31 15:59:59 UTC)), date!(2026 - 12 - 31));
        assert_eq!(date_time_zh(datetime!(2026-12-31 16:00:00 UTC)), "2027年01月01日 00:00:00");
    }

    #[test]
    fn api_dates_round_trip() {
        assert_eq!(ymd(date!(2026 - 03 - 09)), "2026-03-09");
        assert_eq!(parse_ymd("2026-03-09"), Some(date!(2026 - 03 - 09)));
        for bad in ["2026-3-09", "2026-02-30", "20260309", "", "2026-13-01", "２０２６-03-09"] {
            assert_eq!(parse_ymd(bad), None, "{bad}");
        }
    }
}
