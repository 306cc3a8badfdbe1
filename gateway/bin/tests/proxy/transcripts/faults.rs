//! Transcripts when things go wrong: a failing disk, `kill -9`, SIGTERM, and an S3 outage.
//! Requests are always served; records are retried, written after recovery, or counted.

use gateway_transcript::read::Library;

use super::{SONNET_CALL, admin, eventually, message, records, written};
use crate::{WAIT, pair, pair_with};

#[tokio::test]
async fn a_failing_sink_never_fails_a_request_and_writing_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("transcripts");
    let (_mock, gw) = pair_with(mock_provider::MockConfig::default(), |b| {
        b.env("GATEWAY__TRANSCRIPTS__DIR", root.to_str().unwrap())
    })
    .await;
    // The directory's place is taken by a file: every write fails (even as root).
    let _ = std::fs::remove_dir_all(&root);
    std::fs::write(&root, b"not a directory").unwrap();
    message(&gw, "sess-faults", false).await;
    // Failure shows in the counters and in readiness.
    eventually("a failed write counted", || async {
        (records(&gw, "failed").await >= 1).then_some(())
    })
    .await;
    let ready = admin(&gw, "/readyz").await;
    assert_eq!(ready.status, 503, "{}", ready.text());
    assert!(
        ready.text().contains("transcript sink failing"),
        "{}",
        ready.text()
    );
    message(&gw, "sess-faults", false).await;

    // The disk comes back: what was retained is written, and new records follow.
    std::fs::remove_file(&root).unwrap();
    message(&gw, "sess-faults", false).await;
    eventually("3 records on disk after recovery", || async {
        let library = Library::load_dir(&root).ok()?;
        (library.session("sess-faults").len() == 3).then_some(())
    })
    .await;
    // Health turns once the writer has returned from the successful write.
    eventually("ready again", || async {
        (admin(&gw, "/readyz").await.status == 200).then_some(())
    })
    .await;
}

#[tokio::test]
async fn kill_9_loses_nothing_the_writer_reported_written() {
    let (_mock, mut gw) = pair().await;
    for i in 0..20 {
        let stream = i % 2 == 0;
        message(&gw, "sess-crash", stream).await;
    }
    written(&gw, 20).await;
    // More requests, then SIGKILL with some possibly still queued.
    for _ in 0..5 {
        message(&gw, "sess-crash", true).await;
    }
    let dir = gw.transcripts_dir().to_owned();
    gw.kill().await;
    let library = Library::load_dir(&dir).unwrap();
    let kept = library.session("sess-crash").len();
    assert!(
        (20..=25).contains(&kept),
        "every record reported written survives kill -9; at most the last flush window is lost (kept {kept})"
    );
}

#[tokio::test]
async fn sigterm_writes_every_queued_record_before_exit() {
    // SIGTERM right after the last response: whatever the writer has not written yet, the
    // drain writes before the process exits.
    let (_mock, mut gw) = pair().await;
    for stream in [false, true, false, true] {
        message(&gw, "sess-drain", stream).await;
    }
    gw.terminate();
    let status = gw.wait_exit(WAIT).await.expect("exits after SIGTERM");
    assert!(status.success(), "{status:?}");
    let library = Library::load_dir(gw.transcripts_dir()).unwrap();
    assert_eq!(library.session("sess-drain").len(), 4, "{}", gw.logs());
}

/// Every record line under the bucket's prefix, read back with the S3 reader.
async fn s3_library(moto: &gateway_testkit::moto::MotoServer, bucket: &str) -> Library {
    use gateway_testkit::moto;
    let mut config = gateway_transcript_s3::S3SinkConfig::new(bucket, moto::REGION);
    config.endpoint = Some(moto.endpoint());
    config.allow_http = true;
    config.access_key_id = Some(gateway_core::Secret::new(moto::ACCESS_KEY_ID.to_owned()));
    config.secret_access_key = Some(gateway_core::Secret::new(
        moto::SECRET_ACCESS_KEY.to_owned(),
    ));
    let reader = gateway_transcript_s3::S3Reader::new(&config).unwrap();
    let mut library = Library::new();
    reader
        .read(
            "0000-00-00",
            "9999-99-99",
            gateway_transcript_s3::OrgFilter::All,
            |_, lines| library.add_reader(lines),
        )
        .await
        .unwrap();
    library
}

/// Polls the bucket until session `sess-s3` has `n` records.
async fn uploaded(s3: &gateway_testkit::moto::MotoServer, bucket: &str, n: usize) -> Library {
    let library = eventually(&format!("{n} records uploaded"), || async {
        let library = s3_library(s3, bucket).await;
        (library.session("sess-s3").len() >= n).then_some(library)
    })
    .await;
    assert_eq!(library.session("sess-s3").len(), n);
    library
}

#[tokio::test]
async fn the_s3_sink_uploads_and_catches_up_after_an_outage_without_failing_a_request() {
    use gateway_testkit::moto::{self, MotoServer};
    let Some(mut s3) = MotoServer::start() else {
        return;
    };
    let bucket = "llm-gateway-e2e";
    s3.create_bucket(bucket);
    let endpoint = s3.endpoint();
    let (_mock, gw) = pair_with(mock_provider::MockConfig::default(), |b| {
        b.env("GATEWAY__TRANSCRIPTS__SINK", "s3")
            .env("GATEWAY__TRANSCRIPTS__S3__BUCKET", bucket)
            .env("GATEWAY__TRANSCRIPTS__S3__ENDPOINT", endpoint)
            .env("GATEWAY__TRANSCRIPTS__S3__ALLOW_HTTP", "true")
            .env("GATEWAY__TRANSCRIPTS__S3__OBJECT_MAX_AGE_MS", "200")
            .env("AWS_ACCESS_KEY_ID", moto::ACCESS_KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", moto::SECRET_ACCESS_KEY)
    })
    .await;
    message(&gw, "sess-s3", false).await;
    message(&gw, "sess-s3", true).await;
    let library = uploaded(&s3, bucket, 2).await;
    let turns = library.session("sess-s3");
    assert!(
        turns
            .iter()
            .all(|t| t.record.meta.cost_micro_usd == SONNET_CALL)
    );
    let text = serde_json::to_string(&turns[1].response).unwrap();
    assert!(text.contains("Hello from the mock provider."), "{text}");

    // S3 goes away: requests are still served, readiness says why.
    s3.kill();
    message(&gw, "sess-s3", false).await;
    message(&gw, "sess-s3", true).await;
    let ready = eventually("the outage shows in /readyz", || async {
        let ready = admin(&gw, "/readyz").await;
        (ready.status == 503).then_some(ready)
    })
    .await;
    assert!(
        ready.text().contains("transcript sink failing"),
        "{}",
        ready.text()
    );
    // S3 is back (moto keeps nothing across restarts: the bucket is made again, empty): the
    // two records retained during the outage are uploaded, then the new one.
    s3.restart();
    s3.create_bucket(bucket);
    message(&gw, "sess-s3", false).await;
    uploaded(&s3, bucket, 3).await;
}
