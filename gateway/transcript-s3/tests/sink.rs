//! The S3 sink against a real S3-compatible server (moto, loopback): layout, cut triggers,
//! outages and the retained-buffer bound. Time is injected into `maintain`; no sleeps.

#![expect(clippy::unwrap_used, reason = "tests")]

mod common;

use std::time::{Duration, SystemTime};

use common::{assert_self_contained, noise, objects, record, record_ids};
use gateway_transcript::{Line, Sink, read::Library};
use gateway_transcript_s3::{OrgFilter, S3Reader, S3Sink};

#[test]
fn records_land_under_their_day_and_org_prefix_with_each_block_once() {
    let Some((_moto, config)) = common::start() else {
        return;
    };
    let mut sink = S3Sink::new(config.clone()).unwrap();
    // A session resending its history: turn 2 repeats turn 1's message.
    sink.write(&[
        record("r1", "2026-11-25", Some("acme"), &["hello", "shared"]),
        record("r2", "2026-11-26", Some("acme"), &["hello", "shared"]),
        record(
            "r3",
            "2026-11-26",
            Some("acme"),
            &["hello", "shared", "more"],
        ),
        record("r4", "2026-11-26", Some("big corp/eu"), &["hello"]),
        record("r5", "2026-11-26", None, &["hello"]),
        record("r6", "not-a-date", None, &["x"]),
    ])
    .unwrap();
    // A second object in one prefix may rely on the blocks of the first.
    sink.maintain(SystemTime::now() + Duration::from_secs(60))
        .unwrap();
    sink.write(&[record("r7", "2026-11-26", Some("acme"), &["hello", "new"])])
        .unwrap();
    sink.close().unwrap();
    assert_eq!(sink.take_dropped_records(), 0);

    let objects = objects(&config);
    let prefixes: Vec<String> = objects
        .iter()
        .map(|(o, _)| format!("{}/org={}", o.day, o.org))
        .collect();
    assert_eq!(
        prefixes,
        [
            "2026-11-25/org=acme",
            "2026-11-26/org=_none",
            "2026-11-26/org=acme",
            "2026-11-26/org=acme",
            "2026-11-26/org=big%20corp%2Feu",
            "unknown-day/org=_none",
        ]
    );
    for (info, _) in &objects {
        assert!(info.key.starts_with("transcripts/"), "{}", info.key);
        assert!(info.key.ends_with(".jsonl.zst"), "{}", info.key);
        assert!(info.key.contains(sink.replica()), "{}", info.key);
    }
    assert_self_contained(&objects, true);
    let mut ids = record_ids(&objects);
    ids.sort();
    assert_eq!(ids, ["r1", "r2", "r3", "r4", "r5", "r6", "r7"]);
    let stats = sink.stats();
    assert_eq!(
        (stats.objects, stats.records, stats.failed_attempts),
        (6, 7, 0)
    );
    assert!(stats.compressed_bytes < stats.uncompressed_bytes);
}

#[test]
fn a_partition_is_uploaded_when_it_reaches_its_record_bound() {
    let Some((_moto, mut config)) = common::start() else {
        return;
    };
    config.object_max_records = 3;
    let mut sink = S3Sink::new(config.clone()).unwrap();
    let batch: Vec<_> = (0..7)
        .map(|i| record(&format!("r{i}"), "2026-11-26", Some("acme"), &["hi"]))
        .collect();
    sink.write(&batch).unwrap();
    // Two full objects went during write, without maintain or close.
    assert_eq!(objects(&config).len(), 2);
    assert_eq!(sink.stats().records, 6);
    sink.close().unwrap();
    let objects = objects(&config);
    assert_eq!(objects.len(), 3);
    assert_eq!(
        record_ids(&objects),
        ["r0", "r1", "r2", "r3", "r4", "r5", "r6"]
    );
    assert_self_contained(&objects, true);
}

#[test]
fn a_partition_is_uploaded_when_it_reaches_its_byte_bound() {
    let Some((_moto, mut config)) = common::start() else {
        return;
    };
    config.object_max_bytes = 4000;
    let mut sink = S3Sink::new(config.clone()).unwrap();
    sink.write(&[record("r0", "2026-11-26", None, &[&noise(0, 1500)])])
        .unwrap();
    assert_eq!(sink.stats().objects, 0, "under the bound: still buffered");
    sink.write(&[record("r1", "2026-11-26", None, &[&noise(1, 1500)])])
        .unwrap();
    sink.write(&[record("r2", "2026-11-26", None, &[&noise(2, 1500)])])
        .unwrap();
    assert_eq!(sink.stats().objects, 1);
    assert_eq!(sink.stats().records, 2);
    assert!(sink.stats().uncompressed_bytes >= 4000);
}

#[test]
fn maintain_uploads_a_partition_once_its_first_record_is_object_max_age_old() {
    let Some((_moto, mut config)) = common::start() else {
        return;
    };
    config.object_max_age = Duration::from_secs(10);
    let mut sink = S3Sink::new(config.clone()).unwrap();
    let before = SystemTime::now();
    sink.write(&[record("r0", "2026-11-26", Some("acme"), &["hi"])])
        .unwrap();
    sink.maintain(before).unwrap();
    assert_eq!(sink.stats().objects, 0);
    sink.maintain(SystemTime::now() + Duration::from_secs(10))
        .unwrap();
    assert_eq!(sink.stats().objects, 1);
    assert_eq!(record_ids(&objects(&config)), ["r0"]);
}

#[test]
fn an_outage_retains_objects_and_uploads_them_in_order_when_s3_returns() {
    let Some((mut moto, mut config)) = common::start() else {
        return;
    };
    config.object_max_records = 2;
    let mut sink = S3Sink::new(config.clone()).unwrap();
    let day = "2026-11-26";
    sink.write(&[
        record("r1", day, Some("acme"), &["a"]),
        record("r2", day, Some("acme"), &["a"]),
    ])
    .unwrap();
    assert_eq!(sink.stats().objects, 1);

    moto.kill();
    // Accepted: the batch is the sink's now; the failure shows in maintain.
    sink.write(&[
        record("r3", day, Some("acme"), &["during", "outage"]),
        record("r4", day, Some("acme"), &["during"]),
    ])
    .unwrap();
    assert_eq!(sink.retained().0, 1);
    assert_eq!(sink.stats().failed_attempts, 1);
    let err = sink.maintain(SystemTime::now()).unwrap_err();
    assert!(err.0.contains("waiting for s3"), "{err}");
    assert_eq!(
        sink.stats().failed_attempts,
        1,
        "backing off: no new attempt"
    );

    sink.write(&[
        record("r5", day, Some("acme"), &["during"]),
        record("r6", day, Some("acme"), &["after"]),
    ])
    .unwrap();
    assert_eq!(sink.retained().0, 2);
    assert!(
        sink.maintain(SystemTime::now() + Duration::from_secs(120))
            .is_err()
    );
    assert_eq!(sink.stats().failed_attempts, 2, "retried after the backoff");

    moto.restart(); // empty: moto keeps nothing across restarts
    moto.create_bucket(common::BUCKET);
    sink.maintain(SystemTime::now() + Duration::from_secs(600))
        .unwrap();
    assert_eq!(sink.retained(), (0, 0));
    assert_eq!(sink.take_dropped_records(), 0);

    let objects = objects(&config);
    assert_eq!(record_ids(&objects), ["r3", "r4", "r5", "r6"]);
    // Each object cut during the outage carries its own blocks, so any could be dropped.
    assert_self_contained(&objects, false);
    let during = objects
        .iter()
        .filter(|(_, lines)| {
            lines
                .iter()
                .any(|l| matches!(l, Line::Block(b) if b.value()["text"] == "during"))
        })
        .count();
    assert_eq!(during, 2);
}

#[test]
fn objects_beyond_buffer_max_bytes_are_dropped_oldest_first_and_counted() {
    let Some((mut moto, mut config)) = common::start() else {
        return;
    };
    config.object_max_records = 1;
    config.buffer_max_bytes = 4000;
    let mut sink = S3Sink::new(config.clone()).unwrap();
    moto.kill();
    for i in 0..5u64 {
        let id = format!("r{i}");
        sink.write(&[record(&id, "2026-11-26", None, &[&noise(i, 3000)])])
            .unwrap();
    }
    let (kept, bytes) = sink.retained();
    assert!(bytes <= 4000, "{bytes}");
    assert!((1..5).contains(&kept), "{kept}");
    assert_eq!(sink.take_dropped_records(), 5 - kept as u64);
    assert_eq!(sink.take_dropped_records(), 0, "taken once");

    moto.restart();
    moto.create_bucket(common::BUCKET);
    sink.maintain(SystemTime::now() + Duration::from_secs(600))
        .unwrap();
    let expected: Vec<String> = (5 - kept..5).map(|i| format!("r{i}")).collect();
    let objects = objects(&config);
    assert_eq!(record_ids(&objects), expected, "the newest are kept");
    assert_self_contained(&objects, false);
}

#[test]
fn close_reports_and_counts_what_s3_still_refuses() {
    let Some((mut moto, config)) = common::start() else {
        return;
    };
    let mut sink = S3Sink::new(config).unwrap();
    sink.write(&[
        record("r0", "2026-11-26", None, &["x"]),
        record("r1", "2026-11-26", Some("acme"), &["x"]),
    ])
    .unwrap();
    moto.kill();
    let err = sink.close().unwrap_err();
    assert!(err.0.contains("2 records"), "{err}");
    assert_eq!(sink.take_dropped_records(), 2);
}

#[test]
fn a_missing_bucket_is_an_upload_failure_not_a_crash() {
    let Some((_moto, mut config)) = common::start() else {
        return;
    };
    config.bucket = "no-such-bucket".to_owned();
    let mut sink = S3Sink::new(config).unwrap();
    sink.write(&[record("r0", "2026-11-26", None, &["x"])])
        .unwrap();
    let err = sink
        .maintain(SystemTime::now() + Duration::from_secs(60))
        .unwrap_err();
    eprintln!("missing bucket: {err}");
    assert!(err.0.contains("no-such-bucket"), "{err}");
    assert_eq!(sink.retained().0, 1);
}

#[test]
fn an_https_endpoint_that_fails_its_handshake_is_an_upload_failure() {
    // No moto needed: a TCP peer that closes at once exercises the rustls client (ring).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("https://{}", listener.local_addr().unwrap());
    let peer = std::thread::spawn(move || {
        for stream in listener.incoming().take(2) {
            drop(stream);
        }
    });
    let mut config = gateway_transcript_s3::S3SinkConfig::new("bucket", "us-east-1");
    config.endpoint = Some(endpoint);
    config.access_key_id = Some(gateway_core::Secret::new("id".to_owned()));
    config.secret_access_key = Some(gateway_core::Secret::new("secret".to_owned()));
    let mut sink = S3Sink::new(config).unwrap();
    sink.write(&[record("r0", "2026-11-26", None, &["x"])])
        .unwrap();
    let err = sink.close().unwrap_err();
    assert!(err.0.contains("1 records"), "{err}");
    drop(peer); // detached: it ends with the process whatever the client's retry count
}

#[test]
fn the_reader_feeds_a_day_range_of_one_org_to_the_transcript_library() {
    let Some((_moto, config)) = common::start() else {
        return;
    };
    let mut sink = S3Sink::new(config.clone()).unwrap();
    sink.write(&[
        record("r1", "2026-11-25", Some("acme"), &["a", "b"]),
        record("r2", "2026-11-26", Some("acme"), &["a", "b", "c"]),
        record("r3", "2026-11-26", Some("other"), &["a"]),
        record("r4", "2026-11-27", Some("acme"), &["a"]),
    ])
    .unwrap();
    sink.close().unwrap();

    let reader = S3Reader::new(&config).unwrap();
    let mut library = Library::new();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let read = runtime
        .block_on(reader.read(
            "2026-11-25",
            "2026-11-26",
            OrgFilter::Named("acme"),
            |_, lines| library.add_reader(lines),
        ))
        .unwrap();
    assert_eq!(read, 2);
    assert_eq!(library.skipped_lines(), 0);
    let ids: Vec<&str> = library
        .records()
        .iter()
        .map(|r| r.meta.id.as_str())
        .collect();
    assert_eq!(ids, ["r1", "r2"]);
    for r in library.records() {
        for h in common::referenced(r) {
            assert!(library.block(&h).is_some(), "{} lacks {h}", r.meta.id);
        }
    }
}

/// Agent sessions that resend their history every turn compress well in objects, and every
/// record is uploaded. Prints figures; for the closing-note numbers run it in release with
/// `UPLOAD_FIGURES_SESSIONS=100 UPLOAD_FIGURES_TURNS=60 cargo test --release
/// -p gateway-transcript-s3 --test sink upload_figures -- --nocapture`.
#[test]
fn upload_figures() {
    let size = |var: &str, default: usize| {
        std::env::var(var)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let sessions = size("UPLOAD_FIGURES_SESSIONS", 12);
    let turns = size("UPLOAD_FIGURES_TURNS", 12);
    const BATCH: usize = 64;
    let Some((_moto, mut config)) = common::start() else {
        return;
    };
    config.object_max_records = 500;
    let mut sink = S3Sink::new(config).unwrap();
    // Each turn adds one ~2 KiB message (words plus some noise) and resends all earlier ones.
    let word = |i: usize| ["the", "tool", "result", "file", "src/lib.rs", "fn", "error"][i % 7];
    let message = |s: usize, t: usize| {
        let words: Vec<&str> = (0..150).map(|i| word(i * 31 + t * 7 + s)).collect();
        format!("{} {}", words.join(" "), noise((s * 1000 + t) as u64, 1000))
    };
    let mut records = Vec::new();
    for t in 0..turns {
        for s in 0..sessions {
            let history: Vec<String> = (0..=t).map(|i| message(s, i)).collect();
            let texts: Vec<&str> = history.iter().map(String::as_str).collect();
            let org = ["acme", "globex", "initech", "umbrella"][s % 4];
            records.push(record(
                &format!("s{s}t{t}"),
                "2026-11-26",
                Some(org),
                &texts,
            ));
        }
    }
    let started = SystemTime::now();
    for batch in records.chunks(BATCH) {
        sink.write(batch).unwrap();
    }
    sink.close().unwrap();
    let elapsed = started.elapsed().unwrap();
    let stats = sink.stats();
    let mib = |b: u64| b as f64 / (1 << 20) as f64;
    eprintln!(
        "{} records in {} objects: {:.1} MiB lines -> {:.2} MiB zstd ({:.1}x), {:.2} s \
         ({:.0} records/s, {:.1} MiB/s of lines)",
        stats.records,
        stats.objects,
        mib(stats.uncompressed_bytes),
        mib(stats.compressed_bytes),
        stats.uncompressed_bytes as f64 / stats.compressed_bytes as f64,
        elapsed.as_secs_f64(),
        stats.records as f64 / elapsed.as_secs_f64(),
        mib(stats.uncompressed_bytes) / elapsed.as_secs_f64(),
    );
    assert_eq!(stats.records as usize, sessions * turns);
    assert!(
        stats.uncompressed_bytes >= 3 * stats.compressed_bytes,
        "resent history compresses at least 3x"
    );
}
