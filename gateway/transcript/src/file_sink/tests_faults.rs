//! File sink faults: an unwritable day directory (through the writer: failures counted,
//! health, recovery) and a full disk (a tiny tmpfs: no partial line left, writing resumes
//! once space is freed).

use std::{
    fs::{self, File},
    io::Write,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use serde_json::json;

use super::{
    tests::{assembled, files, lines, record_ids, today_noon},
    *,
};
use crate::{Recorder, RecorderConfig, writer::tests::pending};

const WAIT: Duration = Duration::from_secs(10);

fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::yield_now();
    }
}

#[test]
fn an_unwritable_day_directory_fails_records_until_it_is_fixed() {
    let tmp = tempfile::tempdir().unwrap();
    let config = FileSinkConfig::new(tmp.path().join("t"));
    let started_at = today_noon();
    let day_dir = config.dir.join(&started_at[..10]);
    let sink = FileSink::open(config.clone()).unwrap();
    // The day directory's path is taken by a regular file: no directory, no file in it.
    fs::write(&day_dir, b"in the way").unwrap();
    let recorder_config = RecorderConfig {
        flush_interval: Duration::from_millis(5),
        retry_backoff: Duration::from_millis(5),
        ..RecorderConfig::default()
    };
    let (recorder, handle) = Recorder::start(Box::new(sink), recorder_config).unwrap();
    for i in 0..3 {
        recorder.record(pending(&format!("r{i}"), &started_at));
    }
    eventually("failed writes", || {
        recorder.counters().snapshot().failed >= 3
    });
    eventually("unhealthy", || !recorder.health().healthy);
    let health = recorder.health();
    assert_eq!(health.sink, "file");
    assert!(
        health
            .last_error
            .is_some_and(|e| e.contains(&started_at[..10]))
    );
    fs::remove_file(&day_dir).unwrap();
    eventually("recovery", || recorder.counters().snapshot().written == 3);
    eventually("healthy", || recorder.health().healthy);
    let report = handle.shutdown(WAIT);
    assert_eq!(
        (report.dropped, report.close_error, report.finished),
        (0, None, true)
    );
    let ids: Vec<String> = files(&day_dir)
        .iter()
        .flat_map(|f| record_ids(&lines(f)))
        .collect();
    assert_eq!(ids, ["r0", "r1", "r2"]);
    assert_eq!(recorder.counters().snapshot().dropped(), 0);
}

/// A tmpfs mounted for the test, unmounted when dropped (even when the test fails).
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(at: &Path, size: &str) -> Option<Self> {
        fs::create_dir_all(at).unwrap();
        let status = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(at)
            .status();
        match status {
            Ok(s) if s.success() => Some(Self(at.to_owned())),
            other => {
                eprintln!(
                    "SKIPPED: cannot mount a tmpfs at {} ({other:?})",
                    at.display()
                );
                None
            }
        }
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Writes `filler` until the file system is full, then frees `leave` bytes, so the next
/// large write fails part-way.
fn fill(filler: &Path, leave: u64) {
    let mut f = File::create(filler).unwrap();
    let chunk = vec![0u8; 4096];
    while f.write_all(&chunk).is_ok() {}
    let len = f.metadata().unwrap().len();
    f.set_len(len.saturating_sub(leave)).unwrap();
    f.sync_all().unwrap();
}

#[test]
fn a_full_disk_fails_the_batch_without_a_partial_line_and_writing_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(_mount) = Mount::tmpfs(&tmp.path().join("mnt"), "256k") else {
        return;
    };
    let config = FileSinkConfig::new(tmp.path().join("mnt/t"));
    let mut sink = FileSink::open(config.clone()).unwrap();
    let day = "2026-11-26T12:00:00.000Z";
    sink.write(&[assembled("r1", day, &[json!("small")])])
        .unwrap();
    let filler = tmp.path().join("mnt/filler");
    fill(&filler, 16 << 10);
    let big = json!({"type": "text", "text": "x".repeat(64 << 10)});
    let batch = [assembled("r2", day, std::slice::from_ref(&big))];
    let day_dir = config.dir.join("2026-11-26");
    let [file] = files(&day_dir).try_into().unwrap();
    let len = fs::metadata(&file).unwrap().len();
    assert!(sink.write(&batch).is_err(), "the disk is full");
    assert_eq!(
        fs::metadata(&file).unwrap().len(),
        len,
        "cut back to the last batch"
    );
    assert_eq!(
        record_ids(&lines(&file)),
        ["r1"],
        "the failed batch left nothing"
    );
    fs::remove_file(&filler).unwrap();
    sink.write(&batch).unwrap();
    let all = lines(&file);
    assert_eq!(record_ids(&all), ["r1", "r2"]);
    let big_blocks = all
        .iter()
        .filter(|l| matches!(l, crate::Line::Block(b) if b.value() == big))
        .count();
    assert_eq!(big_blocks, 1);
    sink.close().unwrap();
}
