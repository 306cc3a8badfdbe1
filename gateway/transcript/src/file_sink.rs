//! The embedded file sink: JSON lines in day directories, fsync per batch, rotation with zstd,
//! retention, and recovery of files a crash left behind.
//!
//! Layout: `DIR/YYYY-MM-DD/transcripts-<HHMMSS>-<pid>-<nonce>-<seq>.jsonl` is a file being
//! written; rotated files are `….jsonl.zst`. The day is [`crate::Meta::day`] of each record
//! (UTC, so a batch spanning midnight goes to two files); `HHMMSS` is the file's creation
//! time (UTC); `nonce` is random per process (replicas in containers all run as pid 1) and
//! files are created with `O_EXCL`, so replicas sharing a directory never collide. A record
//! whose day is not `YYYY-MM-DD` goes to `DIR/unknown-day/` (never a path from input).
//! Files are mode 0600, directories 0700.
//!
//! Invariants:
//! - Every line is whole: a batch is one `write_all` per day file then `fdatasync`; a failed
//!   write or sync truncates every file the batch touched back to its previous length (if that
//!   fails too, the file is abandoned and a new one started), and the batch is reported failed
//!   so the writer retries it. A retry after a partial success of a multi-day batch can only
//!   duplicate records when truncation also failed.
//! - A day's files are self-contained: one [`BlockLedger`] per day, kept across rotations
//!   within the day, writes each block before the first record that references it, once per
//!   day; it is cleared when a write fails (blocks thought written may not be).
//! - A file being written is locked (`flock`, exclusive) for as long as it is open.
//!
//! Rotation: after a write takes a file to `rotate_bytes`, in [`Sink::maintain`] once a file
//! is `rotate_age` old, and for a past day once it has had no record for
//! [`LATE_RECORD_GRACE`] (the day's ledger is then forgotten). Rotated files are compressed
//! inline on the writer thread with streaming zstd (level [`ZSTD_LEVEL`]): write the `.zst`,
//! fsync it, then remove the `.jsonl`.
//!
//! Recovery (at [`FileSink::open`] and then every [`SWEEP_INTERVAL`]): a `transcripts-*.jsonl`
//! file that nobody holds locked and that was not modified for [`RECOVERY_MIN_IDLE`] is a
//! leftover (a crash, or a compression that failed): its partial last line is cut off and it
//! is compressed. The lock, not the pid, tells live files apart: pids are per host and per
//! container, the lock is held by whichever process on this machine has the file open. The
//! idle time covers the instant between another replica creating a file and locking it.
//!
//! Retention (every [`SWEEP_INTERVAL`]): day directories whose name is a date more than
//! `retention_days` before today (UTC) are deleted; `0` keeps everything.

mod active;
mod calendar;
mod seal;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_faults;

use std::{
    collections::BTreeMap,
    fs::DirBuilder,
    os::unix::fs::DirBuilderExt,
    path::PathBuf,
    time::{Duration, SystemTime},
};

use self::active::{ActiveFile, Namer};
use crate::{
    BlockLedger,
    assemble::Assembled,
    writer::{Sink, SinkError},
};

/// zstd level of rotated files.
pub const ZSTD_LEVEL: i32 = 3;
/// How often retention and leftover recovery run (from [`Sink::maintain`]).
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// A leftover `.jsonl` is recovered only once unmodified for this long.
pub const RECOVERY_MIN_IDLE: Duration = Duration::from_secs(60);
/// A past day's file is closed (and its ledger forgotten) once it has had no record for this
/// long: requests that started before midnight may still end after it.
pub const LATE_RECORD_GRACE: Duration = Duration::from_secs(15 * 60);
/// Most days with an open file and a ledger; the oldest is closed past it.
pub const MAX_OPEN_DAYS: usize = 3;
/// The directory of records whose day is not a date.
pub const UNKNOWN_DAY: &str = "unknown-day";

/// Settings of the file sink.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSinkConfig {
    /// The root directory (created 0700 if missing).
    pub dir: PathBuf,
    /// A file is rotated once a write takes it to this size.
    pub rotate_bytes: u64,
    /// A file is rotated once this old.
    pub rotate_age: Duration,
    /// Day directories older than this many days are deleted; 0 keeps them forever.
    pub retention_days: u32,
    /// Whether rotated files are compressed to `.jsonl.zst`.
    pub compress: bool,
}

impl FileSinkConfig {
    /// Default [`FileSinkConfig::rotate_bytes`]: 64 MiB.
    pub const DEFAULT_ROTATE_BYTES: u64 = 64 << 20;
    /// Default [`FileSinkConfig::rotate_age`]: one hour.
    pub const DEFAULT_ROTATE_AGE: Duration = Duration::from_secs(60 * 60);
    /// Default [`FileSinkConfig::retention_days`].
    pub const DEFAULT_RETENTION_DAYS: u32 = 30;

    /// The defaults, writing under `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            rotate_bytes: Self::DEFAULT_ROTATE_BYTES,
            rotate_age: Self::DEFAULT_ROTATE_AGE,
            retention_days: Self::DEFAULT_RETENTION_DAYS,
            compress: true,
        }
    }
}

/// One day partition: its ledger and its open file.
#[derive(Debug, Default)]
struct Day {
    ledger: BlockLedger,
    active: Option<ActiveFile>,
    /// The last record written to this day.
    last_write: Option<SystemTime>,
}

/// The file sink. See the module docs.
#[derive(Debug)]
pub struct FileSink {
    config: FileSinkConfig,
    namer: Namer,
    days: BTreeMap<String, Day>,
    last_sweep: Option<SystemTime>,
    /// A rotation that failed inside `write` (the batch itself was written): reported by the
    /// next `maintain`.
    deferred: Option<String>,
}

impl FileSink {
    /// Creates `config.dir` if missing (0700) and recovers leftovers of earlier runs.
    pub fn open(config: FileSinkConfig) -> Result<Self, SinkError> {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&config.dir)
            .map_err(|e| SinkError(format!("create {}: {e}", config.dir.display())))?;
        let sink = Self {
            namer: Namer::new(),
            config,
            days: BTreeMap::new(),
            last_sweep: None,
            deferred: None,
        };
        if let Err(error) = seal::recover_leftovers(&sink.config, SystemTime::now()) {
            tracing::warn!(error = %error, "transcript file recovery failed; retried later");
        }
        Ok(sink)
    }

    /// The day partition a record belongs to.
    fn day_of(assembled: &Assembled) -> &str {
        let day = assembled.record.meta.day();
        if calendar::is_day(day) {
            day
        } else {
            UNKNOWN_DAY
        }
    }

    /// Appends the lines of `records` to `day`'s file; returns its length before.
    fn append(
        &mut self,
        day: &str,
        records: &[&Assembled],
        now: SystemTime,
    ) -> Result<u64, SinkError> {
        let part = self.days.entry(day.to_owned()).or_default();
        let active = match &mut part.active {
            Some(active) => active,
            slot @ None => slot.insert(
                ActiveFile::create(&self.config.dir.join(day), &mut self.namer, now)
                    .map_err(|e| SinkError(format!("create a transcript file for {day}: {e}")))?,
            ),
        };
        let buf = active::serialize(records, &mut part.ledger);
        let before = active.len();
        if let Err(e) = active.append(&buf) {
            let abandoned = active.truncate(before).is_err();
            part.ledger.clear();
            if abandoned {
                part.active = None;
            }
            return Err(SinkError(format!("write {day}: {e}")));
        }
        part.last_write = Some(now);
        Ok(before)
    }

    /// After a failed batch: truncates `day`'s file to `len` (or abandons it), clears the
    /// day's ledger.
    fn roll_back(&mut self, day: &str, len: u64) {
        if let Some(part) = self.days.get_mut(day) {
            part.ledger.clear();
            if part
                .active
                .as_mut()
                .is_some_and(|a| a.truncate(len).is_err())
            {
                part.active = None;
            }
        }
    }

    /// Closes `day`'s file: compresses it (or removes it when empty).
    fn rotate(&mut self, day: &str) -> Result<(), String> {
        let Some(active) = self.days.get_mut(day).and_then(|p| p.active.take()) else {
            return Ok(());
        };
        let path = active.path().to_owned();
        seal::seal(active, self.config.compress)
            .map_err(|e| format!("rotate {}: {e}", path.display()))
    }

    /// Closes the oldest days past [`MAX_OPEN_DAYS`], keeping those in `keep`.
    fn evict_days(&mut self, keep: &[&str]) -> Result<(), String> {
        let mut result = Ok(());
        while self.days.len() > MAX_OPEN_DAYS {
            let Some(oldest) = self
                .days
                .keys()
                .find(|d| !keep.contains(&d.as_str()))
                .cloned()
            else {
                break;
            };
            result = result.and(self.rotate(&oldest));
            self.days.remove(&oldest);
        }
        result
    }
}

impl Sink for FileSink {
    fn name(&self) -> &'static str {
        "file"
    }

    fn write(&mut self, batch: &[Assembled]) -> Result<(), SinkError> {
        let now = SystemTime::now();
        // Each day's records in batch order; days in order of first appearance.
        let mut groups: Vec<(&str, Vec<&Assembled>)> = Vec::new();
        for assembled in batch {
            let day = Self::day_of(assembled);
            match groups.iter_mut().find(|(d, _)| *d == day) {
                Some((_, records)) => records.push(assembled),
                None => groups.push((day, vec![assembled])),
            }
        }
        let days: Vec<&str> = groups.iter().map(|(d, _)| *d).collect();
        for day in &days {
            self.days.entry((*day).to_owned()).or_default();
        }
        if let Err(e) = self.evict_days(&days) {
            self.deferred = Some(e);
        }
        let mut appended: Vec<(&str, u64)> = Vec::with_capacity(groups.len());
        let mut result = Ok(());
        for (day, records) in &groups {
            match self.append(day, records, now) {
                Ok(before) => appended.push((day, before)),
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        if result.is_ok() {
            for (day, _) in &appended {
                let synced = self.days.get(*day).and_then(|p| p.active.as_ref());
                if let Some(Err(e)) = synced.map(ActiveFile::sync) {
                    result = Err(SinkError(format!("fsync {day}: {e}")));
                    break;
                }
            }
        }
        if let Err(e) = result {
            for (day, before) in appended {
                self.roll_back(day, before);
            }
            return Err(e);
        }
        for (day, _) in appended {
            let full = self.days.get(day).and_then(|p| p.active.as_ref());
            if full.is_some_and(|a| a.len() >= self.config.rotate_bytes)
                && let Err(e) = self.rotate(day)
            {
                // The batch is durable; the file stays for recovery. Reported by maintain.
                self.deferred = Some(e);
            }
        }
        Ok(())
    }

    fn maintain(&mut self, now: SystemTime) -> Result<(), SinkError> {
        let mut errors: Vec<String> = self.deferred.take().into_iter().collect();
        let today = calendar::day(now);
        let age = |t: SystemTime| now.duration_since(t).unwrap_or_default();
        let days: Vec<String> = self.days.keys().cloned().collect();
        for day in days {
            let Some(part) = self.days.get(&day) else {
                continue;
            };
            let old_file = part
                .active
                .as_ref()
                .is_some_and(|a| age(a.opened_at()) >= self.config.rotate_age);
            let past_day =
                *day < *today && part.last_write.is_none_or(|t| age(t) >= LATE_RECORD_GRACE);
            if old_file || past_day {
                errors.extend(self.rotate(&day).err());
            }
            if past_day {
                self.days.remove(&day);
            }
        }
        errors.extend(self.evict_days(&[]).err());
        if self.last_sweep.is_none_or(|t| age(t) >= SWEEP_INTERVAL) {
            self.last_sweep = Some(now);
            let open: Vec<&str> = self.days.keys().map(String::as_str).collect();
            errors.extend(calendar::apply_retention(&self.config, now, &open).err());
            errors.extend(seal::recover_leftovers(&self.config, now).err());
        }
        match errors.is_empty() {
            true => Ok(()),
            false => Err(SinkError(errors.join("; "))),
        }
    }

    fn close(&mut self) -> Result<(), SinkError> {
        let days: Vec<String> = self.days.keys().cloned().collect();
        let errors: Vec<String> = days.iter().filter_map(|d| self.rotate(d).err()).collect();
        self.days.clear();
        match errors.is_empty() {
            true => Ok(()),
            false => Err(SinkError(errors.join("; "))),
        }
    }
}
