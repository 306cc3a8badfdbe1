//! File sink tests: permissions, line format, rotation by size and age, day partitions,
//! self-contained days, retention, recovery of leftovers. Sink calls are made directly with
//! hand-built records and an injected `now`.

use std::{
    fs::{self, File},
    io::Write,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    time::{Duration, SystemTime},
};

use serde_json::{Value, json};

use super::*;
use crate::{
    Block, BlockHash, Line, Mode, Record,
    record::{FORMAT_VERSION, MessageRefs, RequestRefs},
    writer::tests::pending,
};

/// A record referencing `blocks` (one user message), started at `started_at`.
pub(super) fn assembled(id: &str, started_at: &str, blocks: &[Value]) -> Assembled {
    let blocks: Vec<Block> = blocks.iter().cloned().map(Block::new).collect();
    let record = Record {
        v: FORMAT_VERSION,
        meta: pending(id, started_at).meta,
        mode: Mode::Full,
        stop_reason: None,
        request: Some(RequestRefs {
            messages: vec![MessageRefs {
                role: "user".to_owned(),
                content: blocks.iter().map(|b| b.h).collect(),
            }],
            ..RequestRefs::default()
        }),
        response: None,
        response_truncated: false,
    };
    Assembled { record, blocks }
}

/// `started_at` of today (UTC) at noon.
pub(super) fn today_noon() -> String {
    format!("{}T12:00:00.000Z", calendar::day(SystemTime::now()))
}

/// The lines of a `.jsonl` or `.jsonl.zst` file; every line must be whole.
pub(super) fn lines(path: &Path) -> Vec<Line> {
    let bytes = if path.to_string_lossy().ends_with(".zst") {
        zstd::decode_all(File::open(path).unwrap()).unwrap()
    } else {
        fs::read(path).unwrap()
    };
    if bytes.is_empty() {
        return Vec::new();
    }
    assert_eq!(
        bytes.last(),
        Some(&b'\n'),
        "{} ends mid-line",
        path.display()
    );
    bytes[..bytes.len() - 1]
        .split(|&b| b == b'\n')
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect()
}

/// The transcript files of a day directory, in creation order (by name).
pub(super) fn files(day_dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(day_dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

/// The ids of the records in `lines`.
pub(super) fn record_ids(lines: &[Line]) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| match l {
            Line::Record(r) => Some(r.meta.id.clone()),
            Line::Block(_) => None,
        })
        .collect()
}

fn config(dir: &Path) -> FileSinkConfig {
    FileSinkConfig::new(dir.join("transcripts"))
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Checks a day's files: each block once, each before the first record needing it.
fn assert_self_contained(day_dir: &Path) {
    let mut seen = std::collections::HashSet::new();
    for file in files(day_dir) {
        for line in lines(&file) {
            match line {
                Line::Block(b) => assert!(seen.insert(b.h), "block {} twice", b.h),
                Line::Record(r) => {
                    let refs = r.request.iter().flat_map(|q| &q.messages);
                    for h in refs.flat_map(|m| &m.content) {
                        assert!(seen.contains(h), "{} needs {h} first", r.meta.id);
                    }
                }
            }
        }
    }
}

#[test]
fn defaults_are_the_documented_bounds() {
    let c = FileSinkConfig::new("/x");
    assert_eq!(c.rotate_bytes, 64 << 20);
    assert_eq!(c.rotate_age, Duration::from_secs(3600));
    assert_eq!((c.retention_days, c.compress), (30, true));
}

#[test]
fn borrowed_lines_serialize_exactly_like_lines() {
    let a = assembled(
        "r1",
        "2026-11-26T12:00:00.000Z",
        &[json!({"type": "text", "text": "hi"})],
    );
    let mut ledger = BlockLedger::default();
    let ours = active::serialize(&[&a], &mut ledger);
    let mut theirs = Vec::new();
    for line in [
        Line::Block(a.blocks[0].clone()),
        Line::Record(Box::new(a.record.clone())),
    ] {
        serde_json::to_writer(&mut theirs, &line).unwrap();
        theirs.push(b'\n');
    }
    assert_eq!(
        String::from_utf8(ours).unwrap(),
        String::from_utf8(theirs).unwrap()
    );
}

#[test]
fn files_are_private_and_lines_are_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let config = config(tmp.path());
    let mut sink = FileSink::open(config.clone()).unwrap();
    assert_eq!(mode(&config.dir), 0o700);
    let batch = [assembled("r1", "2026-11-26T12:00:00.000Z", &[json!("a")])];
    sink.write(&batch).unwrap();
    let day_dir = config.dir.join("2026-11-26");
    assert_eq!(mode(&day_dir), 0o700);
    let [file] = files(&day_dir).try_into().unwrap();
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    let pid = std::process::id();
    assert!(
        name.starts_with("transcripts-") && name.ends_with(".jsonl"),
        "{name}"
    );
    assert!(name.contains(&format!("-{pid}-")), "{name}");
    assert_eq!(mode(&file), 0o600);
    assert_eq!(record_ids(&lines(&file)), ["r1"]);
}

#[test]
fn a_file_past_rotate_bytes_is_compressed() {
    let tmp = tempfile::tempdir().unwrap();
    let config = FileSinkConfig {
        rotate_bytes: 1,
        ..config(tmp.path())
    };
    let mut sink = FileSink::open(config.clone()).unwrap();
    for i in 0..3 {
        let a = assembled(&format!("r{i}"), "2026-11-26T12:00:00.000Z", &[json!(i)]);
        sink.write(&[a]).unwrap();
    }
    let files = files(&config.dir.join("2026-11-26"));
    assert_eq!(files.len(), 3);
    let mut ids = Vec::new();
    for file in &files {
        assert!(
            file.to_string_lossy().ends_with(".jsonl.zst"),
            "{}",
            file.display()
        );
        assert_eq!(mode(file), 0o600);
        ids.extend(record_ids(&lines(file)));
    }
    assert_eq!(ids, ["r0", "r1", "r2"]);
    assert_self_contained(&config.dir.join("2026-11-26"));
}

#[test]
fn a_file_is_rotated_once_rotate_age_old() {
    let tmp = tempfile::tempdir().unwrap();
    let config = config(tmp.path());
    let mut sink = FileSink::open(config.clone()).unwrap();
    let started_at = today_noon();
    sink.write(&[assembled("r1", &started_at, &[])]).unwrap();
    let day_dir = config.dir.join(&started_at[..10]);
    let now = SystemTime::now();
    sink.maintain(now).unwrap();
    let [file] = files(&day_dir).try_into().unwrap();
    assert!(file.to_string_lossy().ends_with(".jsonl"));
    sink.maintain(now + config.rotate_age).unwrap();
    let [file] = files(&day_dir).try_into().unwrap();
    assert!(file.to_string_lossy().ends_with(".jsonl.zst"));
    assert_eq!(record_ids(&lines(&file)), ["r1"]);
    // The next record starts a new file.
    sink.write(&[assembled("r2", &started_at, &[])]).unwrap();
    assert_eq!(files(&day_dir).len(), 2);
}

#[test]
fn a_batch_spanning_midnight_goes_to_each_records_day() {
    let tmp = tempfile::tempdir().unwrap();
    let config = config(tmp.path());
    let mut sink = FileSink::open(config.clone()).unwrap();
    let shared = json!({"type": "text", "text": "the same history"});
    let batch = [
        assembled(
            "late",
            "2026-11-26T23:59:59.900Z",
            std::slice::from_ref(&shared),
        ),
        assembled(
            "early",
            "2026-11-27T00:00:00.100Z",
            &[shared.clone(), json!("new")],
        ),
        assembled("later", "2026-11-26T23:59:59.950Z", &[shared]),
        assembled("odd", "yesterday", &[]),
    ];
    sink.write(&batch).unwrap();
    sink.close().unwrap();
    let ids = |day: &str| -> Vec<String> {
        let dir = config.dir.join(day);
        files(&dir)
            .iter()
            .flat_map(|f| record_ids(&lines(f)))
            .collect()
    };
    assert_eq!(ids("2026-11-26"), ["late", "later"]);
    assert_eq!(ids("2026-11-27"), ["early"]);
    assert_eq!(ids(UNKNOWN_DAY), ["odd"]);
    for day in ["2026-11-26", "2026-11-27"] {
        assert_self_contained(&config.dir.join(day));
        let file = &files(&config.dir.join(day))[0];
        assert!(file.to_string_lossy().ends_with(".zst"), "close seals");
    }
}

#[test]
fn each_day_holds_every_block_it_references_once_across_rotations() {
    let tmp = tempfile::tempdir().unwrap();
    let config = FileSinkConfig {
        rotate_bytes: 1,
        ..config(tmp.path())
    };
    let mut sink = FileSink::open(config.clone()).unwrap();
    let (a, b, c) = (json!("system prompt"), json!("turn 1"), json!("turn 2"));
    let day = "2026-11-26T10:00:00.000Z";
    sink.write(&[assembled("r1", day, &[a.clone(), b.clone()])])
        .unwrap();
    sink.write(&[assembled("r2", day, &[a.clone(), b.clone(), c.clone()])])
        .unwrap();
    sink.write(&[assembled("r3", "2026-11-27T10:00:00.000Z", &[a, b, c])])
        .unwrap();
    let day1 = config.dir.join("2026-11-26");
    assert_eq!(files(&day1).len(), 2);
    assert_self_contained(&day1);
    // The second file of the day holds only the new block: the ledger survived rotation.
    let second = lines(&files(&day1)[1]);
    let blocks: Vec<BlockHash> = second
        .iter()
        .filter_map(|l| match l {
            Line::Block(b) => Some(b.h),
            Line::Record(_) => None,
        })
        .collect();
    assert_eq!(blocks, [BlockHash::of(&json!("turn 2"))]);
    // The next day starts its own ledger: all three blocks again.
    let day2 = config.dir.join("2026-11-27");
    assert_eq!(lines(&files(&day2)[0]).len(), 4);
    assert_self_contained(&day2);
}

#[test]
fn retention_deletes_old_day_directories_only() {
    let tmp = tempfile::tempdir().unwrap();
    let config = config(tmp.path());
    let now = SystemTime::now();
    let days_ago = |n: u64| calendar::day(now - Duration::from_secs(n * 24 * 3600));
    let (old, edge, recent) = (days_ago(31), days_ago(30), days_ago(2));
    for name in [old.as_str(), edge.as_str(), recent.as_str(), "not-a-day"] {
        fs::create_dir_all(config.dir.join(name)).unwrap();
    }
    let mut sink = FileSink::open(config.clone()).unwrap();
    sink.maintain(now).unwrap();
    assert!(!config.dir.join(&old).exists());
    for kept in [edge.as_str(), recent.as_str(), "not-a-day"] {
        assert!(config.dir.join(kept).exists(), "{kept} kept");
    }
    // Keep forever.
    let forever = FileSinkConfig {
        retention_days: 0,
        ..config.clone()
    };
    let mut sink = FileSink::open(forever).unwrap();
    sink.maintain(now + Duration::from_secs(365 * 24 * 3600))
        .unwrap();
    assert!(config.dir.join(&edge).exists());
}

#[test]
fn startup_recovers_leftovers_but_not_live_or_fresh_files() {
    let tmp = tempfile::tempdir().unwrap();
    let config = config(tmp.path());
    let day_dir = config.dir.join("2026-11-26");
    fs::create_dir_all(&day_dir).unwrap();
    let whole = {
        let mut buf = active::serialize(
            &[&assembled("r1", "2026-11-26T01:00:00.000Z", &[json!("x")])],
            &mut BlockLedger::default(),
        );
        buf.extend_from_slice(b"{\"t\":\"record\",\"v\":1,\"id\":\"cut");
        buf
    };
    let old = SystemTime::now() - RECOVERY_MIN_IDLE - Duration::from_secs(1);
    let leftover = |name: &str, modified: SystemTime| {
        let path = day_dir.join(name);
        let mut f = File::create(&path).unwrap();
        f.write_all(&whole).unwrap();
        f.set_modified(modified).unwrap();
        path
    };
    let crashed = leftover("transcripts-010000-1-00000001-000001.jsonl", old);
    let fresh = leftover(
        "transcripts-010000-2-00000002-000001.jsonl",
        SystemTime::now(),
    );
    let live = leftover("transcripts-010000-3-00000003-000001.jsonl", old);
    let held = File::open(&live).unwrap();
    held.lock().unwrap();
    let _sink = FileSink::open(config.clone()).unwrap();
    assert!(!crashed.exists());
    let recovered = lines(&seal::zst_path(&crashed));
    assert_eq!(recovered.len(), 2, "the partial last line is cut off");
    assert_eq!(record_ids(&recovered), ["r1"]);
    assert_eq!(
        fs::read(&fresh).unwrap(),
        whole,
        "a fresh file may be another writer's"
    );
    assert_eq!(
        fs::read(&live).unwrap(),
        whole,
        "a locked file is another writer's"
    );
}
