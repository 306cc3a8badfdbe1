//! UTC dates for names (`YYYY-MM-DD`, `HHMMSS`) and retention of day directories.
//!
//! Never panics on any time: times before 1970 count as 1970-01-01T00:00:00Z.

use std::{
    fs,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use super::FileSinkConfig;

const SECONDS_PER_DAY: u64 = 24 * 60 * 60;

/// Seconds since the epoch (0 before it).
fn epoch_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// (year, month, day) of a count of days since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

/// `YYYY-MM-DD` (UTC) of `t`.
pub(super) fn day(t: SystemTime) -> String {
    let (y, m, d) = civil_from_days(epoch_seconds(t) / SECONDS_PER_DAY);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `HHMMSS` (UTC) of `t`.
pub(super) fn hhmmss(t: SystemTime) -> String {
    let s = epoch_seconds(t) % SECONDS_PER_DAY;
    format!("{:02}{:02}{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// Whether `s` looks like `YYYY-MM-DD` (digits, month 01–12, day 01–31): safe as a directory
/// name and ordered like the dates.
pub(super) fn is_day(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    if !(digits(0..4) && digits(5..7) && digits(8..10)) {
        return false;
    }
    let number =
        |r: std::ops::Range<usize>| b[r].iter().fold(0u32, |n, &c| n * 10 + u32::from(c - b'0'));
    (1..=12).contains(&number(5..7)) && (1..=31).contains(&number(8..10))
}

/// Deletes day directories dated more than `retention_days` before `now`'s day (never one in
/// `open`, never a directory whose name is not a date). Returns the first error.
pub(super) fn apply_retention(
    config: &FileSinkConfig,
    now: SystemTime,
    open: &[&str],
) -> Result<(), String> {
    if config.retention_days == 0 {
        return Ok(());
    }
    let keep = Duration::from_secs(u64::from(config.retention_days) * SECONDS_PER_DAY);
    let cutoff = day(now.checked_sub(keep).unwrap_or(UNIX_EPOCH));
    let entries =
        fs::read_dir(&config.dir).map_err(|e| format!("read {}: {e}", config.dir.display()))?;
    let mut first_error = None;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !is_day(name) || *name >= *cutoff || open.contains(&name) {
            continue;
        }
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        match fs::remove_dir_all(entry.path()) {
            Ok(()) => tracing::info!(day = name, "deleted transcripts past retention"),
            Err(e) => {
                first_error.get_or_insert(format!("delete {}: {e}", entry.path().display()));
            }
        }
    }
    first_error.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_civil_dates() {
        assert_eq!(day(UNIX_EPOCH), "1970-01-01");
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(day(t), "2023-11-14");
        assert_eq!(hhmmss(t), "221320");
        // A leap day, and the day after.
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(day(leap), "2000-02-29");
        assert_eq!(
            day(leap + Duration::from_secs(SECONDS_PER_DAY)),
            "2000-03-01"
        );
    }

    #[test]
    fn only_dates_are_days() {
        assert!(is_day("2026-11-26"));
        assert!(!is_day("unknown-day"));
        assert!(!is_day("2026-13-01"));
        assert!(!is_day("../../etc/x"));
        assert!(!is_day("2026-11-2"));
    }
}
