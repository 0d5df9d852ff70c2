//! UTC calendar days, without a date library: a day is `time_ms / 86_400_000`.

/// Milliseconds in a day.
pub const MS_PER_DAY: u64 = 86_400_000;

/// The UTC day (days since 1970-01-01) that `time_ms` falls in; midnight starts a new day.
pub fn day_of(time_ms: u64) -> u64 {
    time_ms / MS_PER_DAY
}

/// `YYYY-MM-DD` of a day number (proleptic Gregorian calendar, H. Hinnant's algorithm).
pub fn date(day: u64) -> String {
    let z = day as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(day_of(1_709_164_800_000)), "2024-02-29");
        assert_eq!(date(day_of(1_735_689_599_999)), "2024-12-31");
        assert_eq!(date(day_of(1_735_689_600_000)), "2025-01-01");
    }
}
