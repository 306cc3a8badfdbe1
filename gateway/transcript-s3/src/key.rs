//! Object keys: `{prefix}/{YYYY-MM-DD}/org={org}/{HHMMSS}-{replica}-{seq}.jsonl.zst`.
//!
//! A record's partition is its UTC day ([`Meta::day`], or [`UNKNOWN_DAY`] when that is not a
//! date) and its organisation ([`NO_ORG`] without one), percent-encoded outside
//! `[A-Za-z0-9._-]` so that any organisation name is one safe path segment.

use std::{fmt::Write as _, time::SystemTime};

use gateway_transcript::Meta;

/// The org segment of records without an organisation.
pub const NO_ORG: &str = "_none";
/// The day segment of records whose `started_at` does not start with a date.
pub const UNKNOWN_DAY: &str = "unknown-day";
/// The suffix of every object.
pub const OBJECT_SUFFIX: &str = ".jsonl.zst";

/// The day/org partition a record belongs to: one key prefix, one block ledger.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartitionKey {
    day: String,
    org: String,
}

impl PartitionKey {
    /// The partition of a record.
    pub fn of(meta: &Meta) -> Self {
        let day = meta.day();
        let day = if is_day(day) { day } else { UNKNOWN_DAY };
        let org = meta
            .org
            .as_deref()
            .map_or_else(|| NO_ORG.to_owned(), encode_org);
        Self {
            day: day.to_owned(),
            org,
        }
    }

    /// `YYYY-MM-DD` or [`UNKNOWN_DAY`].
    pub fn day(&self) -> &str {
        &self.day
    }

    /// The encoded org segment value (after `org=`).
    pub fn org(&self) -> &str {
        &self.org
    }

    /// `{prefix}/{day}/org={org}` (no trailing `/`).
    pub fn prefix(&self, prefix: &str) -> String {
        format!("{prefix}/{}/org={}", self.day, self.org)
    }
}

/// The key of one object of `partition`, uploaded at `at` by `replica` as its `seq`th.
pub fn object_key(
    prefix: &str,
    partition: &PartitionKey,
    at: SystemTime,
    replica: &str,
    seq: u64,
) -> String {
    format!(
        "{}/{}-{replica}-{seq:08}{OBJECT_SUFFIX}",
        partition.prefix(prefix),
        hhmmss(at)
    )
}

/// `HHMMSS` (UTC) of `at`.
fn hhmmss(at: SystemTime) -> String {
    // RFC 3339 seconds: `YYYY-MM-DDTHH:MM:SSZ`.
    let stamp = humantime::format_rfc3339_seconds(at).to_string();
    stamp
        .get(11..19)
        .map_or_else(|| "000000".to_owned(), |t| t.replace(':', ""))
}

/// Whether `s` looks like `YYYY-MM-DD`.
pub fn is_day(s: &str) -> bool {
    s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        })
}

/// `org` as one key-safe segment value: bytes outside `[A-Za-z0-9._-]` become `%XX`; an
/// org literally named [`NO_ORG`] is encoded too, so it cannot mix with records without one.
pub fn encode_org(org: &str) -> String {
    if org == NO_ORG {
        return "%5Fnone".to_owned();
    }
    let mut out = String::with_capacity(org.len());
    for b in org.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The parts of an object key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParsedKey<'k> {
    /// `YYYY-MM-DD` or [`UNKNOWN_DAY`].
    pub day: &'k str,
    /// The encoded org (after `org=`).
    pub org: &'k str,
    /// The writing replica.
    pub replica: &'k str,
    /// The replica's object counter: upload order within the replica.
    pub seq: u64,
}

/// The parts of an object key under `prefix`, if it has this layout.
pub fn parse_object_key<'k>(prefix: &str, key: &'k str) -> Option<ParsedKey<'k>> {
    let rest = key.strip_prefix(prefix)?.strip_prefix('/')?;
    let mut parts = rest.split('/');
    let (day, org, name) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let mut name = name.strip_suffix(OBJECT_SUFFIX)?.split('-');
    let (_hhmmss, replica, seq) = (name.next()?, name.next()?, name.next()?);
    if name.next().is_some() {
        return None;
    }
    Some(ParsedKey {
        day,
        org: org.strip_prefix("org=")?,
        replica,
        seq: seq.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn orgs_become_one_safe_segment_and_stay_distinct() {
        assert_eq!(encode_org("acme-corp_1.eu"), "acme-corp_1.eu");
        assert_eq!(encode_org("a b/c"), "a%20b%2Fc");
        assert_eq!(encode_org("é"), "%C3%A9");
        assert_eq!(encode_org("100%"), "100%25");
        assert_ne!(encode_org(NO_ORG), NO_ORG);
        assert_eq!(encode_org(".."), "..");
    }

    #[test]
    fn keys_carry_day_org_time_replica_and_sequence() {
        let p = PartitionKey {
            day: "2026-11-26".to_owned(),
            org: encode_org("a b"),
        };
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000 + 3725);
        let key = object_key("transcripts", &p, at, "r1", 7);
        let stamp = humantime::format_rfc3339_seconds(at).to_string();
        let hms = stamp[11..19].replace(':', "");
        assert_eq!(
            key,
            format!("transcripts/2026-11-26/org=a%20b/{hms}-r1-00000007.jsonl.zst")
        );
        assert_eq!(
            parse_object_key("transcripts", &key),
            Some(ParsedKey {
                day: "2026-11-26",
                org: "a%20b",
                replica: "r1",
                seq: 7
            })
        );
        assert_eq!(parse_object_key("other", &key), None);
    }

    #[test]
    fn only_dates_are_days() {
        assert!(is_day("2026-11-26"));
        assert!(!is_day("2026-11-2"));
        assert!(!is_day("../../etc/"));
        assert!(!is_day("2026/11/26"));
    }
}
