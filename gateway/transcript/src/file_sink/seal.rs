//! Sealing a `.jsonl` file: compress it (`.zst` written and fsynced before the `.jsonl` is
//! removed), or remove it when empty; and finding leftovers of crashed runs to seal.
//!
//! A file is sealed only while its lock is held (by the writer that owned it, or by the
//! recovery that took it), so two processes never seal the same file at once.

use std::{
    ffi::OsString,
    fs::{self, File, OpenOptions, TryLockError},
    io::{self, Read, Seek, SeekFrom},
    os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt},
    path::{Path, PathBuf},
    time::SystemTime,
};

use super::{
    FileSinkConfig, RECOVERY_MIN_IDLE, ZSTD_LEVEL,
    active::{ActiveFile, FILE_PREFIX, JSONL_SUFFIX, sync_dir},
};

/// Bytes read per step when looking backwards for the last newline.
const TAIL_CHUNK: usize = 64 << 10;

/// Closes a rotated file: compressed (when `compress`), removed when empty, else left as is.
pub(super) fn seal(active: ActiveFile, compress: bool) -> io::Result<()> {
    seal_locked(active.file(), active.path(), active.len(), compress)
}

fn seal_locked(file: &File, path: &Path, len: u64, compress: bool) -> io::Result<()> {
    if len == 0 {
        fs::remove_file(path)?;
    } else if compress {
        compress_file(file, path, len)?;
    } else {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        sync_dir(dir);
    }
    Ok(())
}

/// `path` + `.zst`.
pub(super) fn zst_path(path: &Path) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(".zst");
    PathBuf::from(name)
}

/// Streams the first `len` bytes of `file` into `path.zst` (0600), fsyncs it, removes `path`.
/// On failure the `.zst` is removed and the `.jsonl` kept.
fn compress_file(file: &File, path: &Path, len: u64) -> io::Result<()> {
    let zst = zst_path(path);
    let result = (|| {
        let mut out = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&zst)?;
        let mut input = file;
        input.seek(SeekFrom::Start(0))?;
        zstd::stream::copy_encode(input.take(len), &mut out, ZSTD_LEVEL)?;
        out.sync_all()
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&zst);
        return Err(e);
    }
    fs::remove_file(path)
}

/// Cuts `file` after its last newline (a crash may leave half a line); returns the new length.
fn trim_partial_tail(file: &File) -> io::Result<u64> {
    let len = file.metadata()?.len();
    let mut end = len;
    let mut chunk = vec![0u8; TAIL_CHUNK];
    let keep = loop {
        if end == 0 {
            break 0;
        }
        let start = end.saturating_sub(TAIL_CHUNK as u64);
        let part = &mut chunk[..(end - start) as usize];
        file.read_exact_at(part, start)?;
        if let Some(i) = part.iter().rposition(|&b| b == b'\n') {
            break start + i as u64 + 1;
        }
        end = start;
    };
    if keep < len {
        file.set_len(keep)?;
        file.sync_data()?;
    }
    Ok(keep)
}

/// Seals every leftover `transcripts-*.jsonl` under the day directories of `config.dir`:
/// not locked by anyone and unmodified for [`RECOVERY_MIN_IDLE`]. Returns the first error
/// after trying them all.
pub(super) fn recover_leftovers(config: &FileSinkConfig, now: SystemTime) -> Result<(), String> {
    let mut first_error = None;
    let days = match fs::read_dir(&config.dir) {
        Ok(days) => days,
        Err(e) => return Err(format!("read {}: {e}", config.dir.display())),
    };
    for day in days.flatten() {
        if !day.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let Ok(files) = fs::read_dir(day.path()) else {
            continue;
        };
        for entry in files.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if !(name.starts_with(FILE_PREFIX) && name.ends_with(JSONL_SUFFIX)) {
                continue;
            }
            let idle = entry
                .metadata()
                .and_then(|m| m.modified())
                .map(|m| now.duration_since(m).unwrap_or_default());
            if idle.is_ok_and(|idle| idle >= RECOVERY_MIN_IDLE) {
                let path = entry.path();
                match recover_file(&path, config.compress) {
                    Ok(true) => {
                        tracing::info!(path = %path.display(), "recovered a transcript file left by an earlier run")
                    }
                    Ok(false) => {}
                    Err(e) => {
                        first_error.get_or_insert(format!("recover {}: {e}", path.display()));
                    }
                }
            }
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Seals `path` if nobody holds it. Returns whether it did.
fn recover_file(path: &Path, compress: bool) -> io::Result<bool> {
    let file = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return Ok(false),
        Err(TryLockError::Error(e)) => return Err(e),
    }
    // Another recovery may have sealed and removed it between our open and our lock.
    let ours = file.metadata()?;
    match fs::metadata(path) {
        Ok(now) if now.ino() == ours.ino() && now.dev() == ours.dev() => {}
        Ok(_) => return Ok(false),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    }
    let len = trim_partial_tail(&file)?;
    seal_locked(&file, path, len, compress)?;
    Ok(len == 0 || compress || len < ours.len())
}
