//! The audit log file: every admin change and every refused attempt, appended as one
//! hash-chained JSON line ([`gateway_runtime_state::AuditChain`]), and paged back by
//! `GET /admin/audit`. One process appends at a time through a mutex; the chain resumes
//! from the file's last line when the gateway restarts.
//!
//! Each replica keeps its own log (a file is per machine); the entries say who and what,
//! never a secret (records hold key digests only).

use std::{
    fs::{File, OpenOptions},
    io::{self, BufRead, BufReader, Write},
    path::{Path, PathBuf},
    sync::{Mutex, PoisonError},
};

use gateway_runtime_state::{AuditChain, AuditEntry};

/// Most entries one `GET /admin/audit` page returns.
pub const AUDIT_PAGE_MAX: usize = 500;

/// The append-only audit log.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    open: Mutex<Option<(File, AuditChain)>>,
}

impl AuditLog {
    /// The log at `path`, opened (created if missing) on first use.
    pub fn open(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
            open: Mutex::new(None),
        }
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens the file if it is not open yet: a change is made only when its entry can be
    /// written.
    pub fn ready(&self) -> io::Result<()> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if open.is_none() {
            *open = Some(self.open_file()?);
        }
        Ok(())
    }

    /// Appends `entry` as one chained line, flushed before this returns.
    pub fn append(&self, entry: AuditEntry) -> io::Result<()> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if open.is_none() {
            *open = Some(self.open_file()?);
        }
        let Some((file, chain)) = open.as_mut() else {
            return Err(io::Error::other("audit log not open"));
        };
        let mut line = chain.line(entry).map_err(io::Error::other)?;
        line.push('\n');
        file.write_all(line.as_bytes())?;
        file.sync_data()
    }

    /// Entries `offset..offset + limit` counted from the newest (0 = the newest first), and
    /// how many there are in all.
    pub fn page(&self, offset: usize, limit: usize) -> io::Result<(Vec<serde_json::Value>, usize)> {
        let file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
            Err(e) => return Err(e),
        };
        let lines: Vec<String> = BufReader::new(file)
            .lines()
            .collect::<io::Result<Vec<_>>>()?
            .into_iter()
            .filter(|l| !l.is_empty())
            .collect();
        let total = lines.len();
        let page = lines
            .iter()
            .rev()
            .skip(offset)
            .take(limit.min(AUDIT_PAGE_MAX))
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        Ok((page, total))
    }

    fn open_file(&self) -> io::Result<(File, AuditChain)> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let last = match File::open(&self.path) {
            Ok(f) => BufReader::new(f)
                .lines()
                .map_while(Result::ok)
                .filter(|l| !l.is_empty())
                .last(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        Ok((file, AuditChain::resume(last.as_deref())))
    }
}
