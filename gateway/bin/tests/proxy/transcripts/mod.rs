//! Transcripts through the real binary: every route recorded with the provider's usage and
//! cost, `transcripts show` rebuilds the session, no secret or credential reaches a file,
//! a failing sink never fails a request and writing resumes, `kill -9` loses only the queue.

use std::{
    io::Read,
    path::{Path, PathBuf},
};

use gateway_testkit::{
    TestGateway,
    http::{self, post_json},
    tools::ANTHROPIC_PROVIDER_KEY,
};
use gateway_transcript::read::Library;
use serde_json::{Value, json};

use super::{BEARER, WAIT, pair, pair_with};

mod faults;

/// Micro-USD of one claude-sonnet-4-6 call with the mock's default usage (12 input at $3/M,
/// 7 output at $15/M, 100 cache reads at $0.30/M, 20 5-minute cache writes at $3.75/M).
const SONNET_CALL: u64 = 246;
const SESSION_HEADER: &str = "x-claude-code-session-id";

fn with_session(session: &str) -> [(&str, &str); 2] {
    [BEARER, (SESSION_HEADER, session)]
}

/// Polls `probe` until it returns `Some` (the writer thread and S3 are observable only from
/// outside), failing with `what` after [`WAIT`].
async fn eventually<T, F: Future<Output = Option<T>>>(what: &str, probe: impl FnMut() -> F) -> T {
    gateway_testkit::poll::poll_until(what, WAIT, probe).await
}

/// `GET path` on the admin listener.
async fn admin(gw: &TestGateway, path: &str) -> http::Reply {
    http::send(http::bodyless(
        ::http::Method::GET,
        &gw.admin_url(path),
        &[],
    ))
    .await
}

/// One Claude message in `session`, answered 200.
async fn message(gw: &TestGateway, session: &str, stream: bool) {
    let reply = http::send(post_json(
        &gw.url("/v1/messages"),
        &with_session(session),
        &http::messages_body("claude-sonnet-4-6", stream),
    ))
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
}

/// The writer's count of records with `outcome`.
async fn records(gw: &TestGateway, outcome: &str) -> u64 {
    let text = admin(gw, "/metrics").await.text();
    sample(
        &text,
        &format!("llm_gateway_transcript_records_total{{outcome=\"{outcome}\"}}"),
    )
}

/// Waits until the writer reports `n` records written (never more), then returns what is on
/// disk.
async fn written(gw: &TestGateway, n: u64) -> Library {
    let count = eventually(&format!("{n} records written"), || async {
        let count = records(gw, "written").await;
        (count >= n).then_some(count)
    })
    .await;
    assert_eq!(count, n, "more records than requests");
    Library::load_dir(gw.transcripts_dir()).expect("transcripts readable")
}

fn sample(metrics: &str, series: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

/// Every byte of every transcript file under `dir`, decompressed.
pub(super) fn all_bytes(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "zst") {
                let file = std::fs::File::open(&path).unwrap();
                zstd::stream::read::Decoder::new(file)
                    .unwrap()
                    .read_to_end(&mut out)
                    .unwrap();
            } else {
                out.extend(std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// `n` random base32 characters (fake AWS key ids are generated, never committed).
fn base32(n: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    uuid::Uuid::new_v4()
        .as_bytes()
        .iter()
        .chain(uuid::Uuid::new_v4().as_bytes())
        .take(n)
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

fn cli(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_llm-gateway"))
        .args(args)
        .output()
        .expect("run llm-gateway")
}

#[tokio::test]
async fn every_route_is_recorded_with_usage_and_cost_and_show_rebuilds_the_session() {
    let (_mock, gw) = pair().await;
    let session = "sess-every-route";
    let headers = with_session(session);
    let calls = [
        (
            "/v1/messages",
            http::messages_body("claude-sonnet-4-6", false),
        ),
        (
            "/v1/messages",
            http::messages_body("claude-sonnet-4-6", true),
        ),
        ("/v1/chat/completions", http::chat_body("gpt-5-mini", false)),
        ("/v1/chat/completions", http::chat_body("gpt-5-mini", true)),
        ("/v1/responses", http::responses_body("gpt-5-mini", false)),
        ("/v1/responses", http::responses_body("gpt-5-mini", true)),
    ];
    for (path, body) in &calls {
        let reply = http::send(post_json(&gw.url(path), &headers, body)).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text());
    }
    let library = written(&gw, calls.len() as u64).await;
    let turns = library.session(session);
    assert_eq!(turns.len(), calls.len());
    for (turn, (path, body)) in turns.iter().zip(&calls) {
        let r = &turn.record;
        assert_eq!(r.meta.status, 200, "{path}");
        assert_eq!(r.meta.subject, "developer", "{path}");
        assert!(r.meta.complete, "{path}");
        assert_eq!(r.meta.session.as_deref(), Some(session));
        assert!(r.meta.ttft_ms.is_some(), "{path}");
        // The mock's usage: 12 uncached input, 7 output, 100 cache reads.
        assert_eq!(r.meta.usage.output, 7, "{path}");
        assert_eq!(r.meta.usage.cache_read, 100, "{path}");
        if path.contains("messages") {
            assert_eq!(r.meta.cost_micro_usd, SONNET_CALL, "{path}");
            assert_eq!(r.stop_reason.as_deref(), Some("end_turn"), "{path}");
        }
        let streamed = body.contains("\"stream\":true");
        let text = serde_json::to_string(&turn.response).unwrap();
        assert!(
            text.contains("Hello from the mock provider."),
            "{path} stream={streamed}: the reply is reassembled: {text}"
        );
        let request = serde_json::to_string(&turn.messages).unwrap();
        assert!(request.contains("Reply with hi"), "{path}: {request}");
    }

    let dir = gw.transcripts_dir().to_str().unwrap();
    let out = cli(&["transcripts", "show", "--session", session, "--dir", dir]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Hello from the mock provider."), "{text}");
    assert!(text.contains("Reply with hi"), "{text}");
    assert!(
        text.contains("claude-sonnet-4-6") && text.contains("gpt-5-mini"),
        "{text}"
    );
    let out = cli(&[
        "transcripts",
        "show",
        "--session",
        session,
        "--dir",
        dir,
        "--json",
    ]);
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["turns"].as_array().map(Vec::len), Some(calls.len()));
    let out = cli(&["transcripts", "show", "--session", "nobody", "--dir", dir]);
    assert!(!out.status.success(), "an unknown session is an error");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no record of session nobody"));
}

#[tokio::test]
async fn no_secret_token_or_provider_key_reaches_a_transcript_file() {
    let (_mock, gw) = pair().await;
    let aws = format!("AKIA{}", base32(16));
    let password = format!("pw-{}", uuid::Uuid::new_v4().simple());
    let body = json!({
        "model": "claude-sonnet-4-6",
        "max_tokens": 100,
        "stream": true,
        "system": [{"type": "text", "text": "You are Claude Code."}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "read my .env"}]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"file_path": ".env"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
                "content": format!("AWS_ACCESS_KEY_ID={aws}\nDB_PASSWORD={password}\nPORT=3000\n")}]},
        ],
    })
    .to_string();
    for _ in 0..2 {
        let reply = http::send(post_json(
            &gw.url("/v1/messages"),
            &with_session("sess-secrets"),
            &body,
        ))
        .await;
        assert_eq!(reply.status, 200);
    }
    let library = written(&gw, 2).await;
    let turns = library.session("sess-secrets");
    assert_eq!(turns.len(), 2);
    assert!(
        turns[0].record.meta.redactions.values().sum::<u32>() >= 2,
        "redaction counts are recorded: {:?}",
        turns[0].record.meta.redactions
    );
    let bytes = all_bytes(gw.transcripts_dir());
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("gwx_"), "placeholders are recorded instead");
    for needle in [
        aws.as_str(),
        password.as_str(),
        "gw-dev-token",
        ANTHROPIC_PROVIDER_KEY,
    ] {
        assert!(!text.contains(needle), "a secret reached a transcript file");
    }
    #[cfg(unix)]
    for file in files(gw.transcripts_dir()) {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", file.display());
    }
}

/// A gateway whose only policy (for everyone) has `[policy.transcripts]` `settings`.
async fn with_transcript_policy(
    name: &str,
    settings: &str,
) -> (mock_provider::MockProvider, TestGateway, tempfile::TempDir) {
    let policies = tempfile::Builder::new()
        .prefix(&format!("llm-gateway-policies-{name}-"))
        .tempdir()
        .unwrap();
    std::fs::write(
        policies.path().join("transcripts.toml"),
        format!("[[policy]]\nname = \"{name}\"\nmatch = {{ subject = \"developer\" }}\n[policy.transcripts]\n{settings}\n"),
    )
    .unwrap();
    let dir = policies.path().to_str().unwrap().to_owned();
    let (mock, gw) = pair_with(mock_provider::MockConfig::default(), |b| {
        b.env("GATEWAY__QUOTA__POLICIES_DIR", dir)
    })
    .await;
    (mock, gw, policies)
}

async fn queue_is_empty_and_written(gw: &TestGateway) -> u64 {
    let text = admin(gw, "/metrics").await.text();
    assert_eq!(
        sample(&text, "llm_gateway_transcript_queue_records"),
        0,
        "{text}"
    );
    sample(
        &text,
        "llm_gateway_transcript_records_total{outcome=\"written\"}",
    )
}

#[tokio::test]
async fn policies_choose_metadata_only_sampling_by_session_or_no_record() {
    // Metadata only, half of the sessions: exactly the sampled sessions are recorded, and
    // their records carry usage but no content.
    let (_mock, gw, _policies) =
        with_transcript_policy("meta-half", "mode = \"metadata\"\nsample = 0.5").await;
    let sessions: Vec<String> = (0..24).map(|i| format!("sess-sample-{i}")).collect();
    for session in &sessions {
        message(&gw, session, true).await;
    }
    let expected: Vec<&String> = sessions
        .iter()
        .filter(|s| gateway_transcript::sampled(s, 0.5))
        .collect();
    assert!(
        !expected.is_empty() && expected.len() < sessions.len(),
        "the sample splits these sessions"
    );
    let library = written(&gw, expected.len() as u64).await;
    assert_eq!(queue_is_empty_and_written(&gw).await, expected.len() as u64);
    for session in &sessions {
        let turns = library.session(session);
        assert_eq!(
            turns.len(),
            usize::from(expected.contains(&session)),
            "{session}"
        );
        for turn in turns {
            assert_eq!(turn.record.mode, gateway_transcript::Mode::Metadata);
            assert!(turn.record.request.is_none() && turn.record.response.is_none());
            assert_eq!(turn.record.meta.cost_micro_usd, SONNET_CALL);
        }
    }
    let text = String::from_utf8_lossy(&all_bytes(gw.transcripts_dir())).into_owned();
    assert!(!text.contains("Reply with hi") && !text.contains("Hello from the mock"));

    // Off: nothing is queued, so once the responses have ended nothing is or will be written.
    let (_mock, gw, _policies) = with_transcript_policy("off", "mode = \"off\"").await;
    for stream in [false, true] {
        message(&gw, "sess-off", stream).await;
    }
    assert_eq!(queue_is_empty_and_written(&gw).await, 0);
}
