//! The file being written for one day: unique names, creation (0600, `O_EXCL`, locked),
//! appending whole lines, fsync, truncating back after a failed write; and serializing a
//! day's share of a batch into lines.

use std::{
    collections::hash_map::RandomState,
    fs::{DirBuilder, File, OpenOptions},
    hash::BuildHasher,
    io::{self, Write},
    os::unix::fs::{DirBuilderExt, OpenOptionsExt},
    path::{Path, PathBuf},
    time::SystemTime,
};

use super::calendar;
use crate::{BlockLedger, assemble::Assembled};

/// Every transcript file name starts with this.
pub(super) const FILE_PREFIX: &str = "transcripts-";
/// The extension of a file being written (or left by a crash).
pub(super) const JSONL_SUFFIX: &str = ".jsonl";
/// Names tried before giving up when they already exist (another writer raced us).
const CREATE_ATTEMPTS: u32 = 8;

/// Makes file names unique across replicas sharing a directory: pid, a per-process random
/// nonce (replicas in containers all have pid 1) and a sequence number.
#[derive(Debug)]
pub(super) struct Namer {
    pid: u32,
    nonce: u32,
    seq: u64,
}

impl Namer {
    pub(super) fn new() -> Self {
        // `RandomState` is seeded from the OS's randomness once per process.
        let nonce = RandomState::new().hash_one(SystemTime::now()) as u32;
        Self {
            pid: std::process::id(),
            nonce,
            seq: 0,
        }
    }

    fn next(&mut self, now: SystemTime) -> String {
        self.seq += 1;
        format!(
            "{FILE_PREFIX}{}-{}-{:08x}-{:06}{JSONL_SUFFIX}",
            calendar::hhmmss(now),
            self.pid,
            self.nonce,
            self.seq
        )
    }
}

/// An open, locked, append-only transcript file.
#[derive(Debug)]
pub(super) struct ActiveFile {
    path: PathBuf,
    file: File,
    len: u64,
    opened_at: SystemTime,
}

impl ActiveFile {
    /// Creates the day directory (0700) if missing and a new file in it (0600).
    pub(super) fn create(day_dir: &Path, namer: &mut Namer, now: SystemTime) -> io::Result<Self> {
        if !day_dir.is_dir() {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(day_dir)?;
            if let Some(parent) = day_dir.parent() {
                sync_dir(parent);
            }
        }
        let mut last = io::Error::from(io::ErrorKind::AlreadyExists);
        for _ in 0..CREATE_ATTEMPTS {
            let path = day_dir.join(namer.next(now));
            let opened = OpenOptions::new()
                .read(true)
                .append(true)
                .create_new(true)
                .mode(0o600)
                .open(&path);
            match opened {
                Ok(file) => {
                    file.try_lock().map_err(io::Error::from)?;
                    sync_dir(day_dir);
                    return Ok(Self {
                        path,
                        file,
                        len: 0,
                        opened_at: now,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    pub(super) fn len(&self) -> u64 {
        self.len
    }

    pub(super) fn opened_at(&self) -> SystemTime {
        self.opened_at
    }

    pub(super) fn file(&self) -> &File {
        &self.file
    }

    /// One `write_all` (the file is `O_APPEND`).
    pub(super) fn append(&mut self, buf: &[u8]) -> io::Result<()> {
        (&self.file).write_all(buf)?;
        self.len += buf.len() as u64;
        Ok(())
    }

    pub(super) fn sync(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    /// Cuts the file back to `len` bytes (a failed batch).
    pub(super) fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.file.set_len(len)?;
        self.len = len;
        Ok(())
    }
}

/// Best-effort fsync of a directory, so a new entry survives a crash.
pub(super) fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// The lines of `records`: each block new to the day's `ledger` before the first record that
/// references it, then the record. A record that cannot be serialized (impossible for these
/// types) is left out and the ledger cleared, so no block is wrongly thought written.
pub(super) fn serialize(records: &[&Assembled], ledger: &mut BlockLedger) -> Vec<u8> {
    let mut buf = Vec::with_capacity(records.len() * SERIALIZED_RECORD_GUESS);
    for assembled in records {
        if assembled.write_lines(ledger, &mut buf).is_err() {
            tracing::warn!(request_id = %assembled.record.meta.id, "transcript record not serializable; skipped");
        }
    }
    buf
}

/// A first guess of a record's serialized size, to size the batch buffer once.
const SERIALIZED_RECORD_GUESS: usize = 1024;
