//! Secret redaction through the real binary: secrets in a Claude Code-shaped request never
//! reach the provider, placeholders are stable across turns, unreadable bodies are refused.
//! Per-policy settings and restore are in `policy`, compressed bodies in `encoding`,
//! per-organisation placeholders in `tenants`.
//! Fake secrets are generated at test time (never committed).

mod encoding;
mod policy;
mod tenants;

use gateway_testkit::http::{self, post_json};
use serde_json::{Value, json};

use super::{BEARER, WAIT, pair};

/// `n` random characters from `alphabet`.
fn random(alphabet: &[u8], n: usize) -> String {
    let mut out = String::with_capacity(n);
    while out.len() < n {
        for b in uuid::Uuid::new_v4().as_bytes() {
            if out.len() < n {
                out.push(alphabet[usize::from(*b) % alphabet.len()] as char);
            }
        }
    }
    out
}

const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

struct Secrets {
    aws_key_id: String,
    stripe: String,
    db_password: String,
    postgres_password: String,
    /// A random value under a plain name in `.env`: a secret because of the file it is in.
    session_signer: String,
    /// A `.pgpass` password: no name announces it, the file's path does.
    pgpass_password: String,
}

impl Secrets {
    fn new() -> Self {
        Self {
            aws_key_id: format!("AKIA{}", random(BASE32, 16)),
            stripe: format!("sk_live_{}", random(ALNUM, 32)),
            db_password: format!(
                "{}-{}!{}",
                random(ALNUM, 10),
                random(ALNUM, 6),
                random(ALNUM, 5)
            ),
            postgres_password: random(ALNUM, 20),
            // Fixed letter-digit-letter seams: random-looking whatever the draw.
            session_signer: format!(
                "{}k9q{}m4w{}",
                random(ALNUM, 8),
                random(ALNUM, 8),
                random(ALNUM, 8)
            ),
            pgpass_password: random(ALNUM, 16),
        }
    }

    fn all(&self) -> [&str; 6] {
        [
            &self.aws_key_id,
            &self.stripe,
            &self.db_password,
            &self.postgres_password,
            &self.session_signer,
            &self.pgpass_password,
        ]
    }
}

/// A Claude Code-shaped turn: attribution system block, parallel Reads of `.env` and
/// `~/.pgpass` and their results (line-numbered, as the Read tool returns files), a user
/// message pasting a key and a connection string.
fn turn(s: &Secrets, extra_user_text: Option<&str>) -> Value {
    let env_file = format!(
        "PORT=3000\nNODE_ENV=production\nDATABASE_PASSWORD={}\nSTRIPE_SECRET_KEY={}\nSESSION_SIGNER={}\n",
        s.db_password, s.stripe, s.session_signer
    );
    let pgpass = format!(
        "     1→# hostname:port:database:username:password\n     2→db.internal:5432:prod:app:{}\n",
        s.pgpass_password
    );
    let mut messages = vec![
        json!({"role": "user", "content": [{"type": "text", "text": format!(
            "<system-reminder>use the tools</system-reminder>Deploy with AWS key {} and postgres://app:{}@db.internal:5432/prod",
            s.aws_key_id, s.postgres_password)}]}),
        json!({"role": "assistant", "content": [
            {"type": "tool_use", "id": "toolu_01", "name": "Read", "input": {"file_path": "/work/app/.env"}},
            {"type": "tool_use", "id": "toolu_02", "name": "Read", "input": {"file_path": "/home/dev/.pgpass"}}
        ]}),
        json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01", "content": env_file},
            {"type": "tool_result", "tool_use_id": "toolu_02", "content": pgpass}
        ]}),
    ];
    if let Some(text) = extra_user_text {
        messages.push(json!({"role": "user", "content": text}));
    }
    json!({
        "model": "claude-sonnet-4-6",
        "max_tokens": 256,
        "system": [{"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.332"}, {"type": "text", "text": "You are Claude Code."}],
        "messages": messages,
    })
}

#[tokio::test]
async fn secrets_in_a_claude_code_request_never_reach_the_provider_and_placeholders_are_stable() {
    let (mock, gw) = pair().await;
    let secrets = Secrets::new();
    let first = turn(&secrets, None).to_string();
    let reply = http::send(post_json(
        &gw.url("/wizard/v1/messages?beta=true"),
        &[BEARER],
        &first,
    ))
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let second = turn(&secrets, Some("now run the migrations")).to_string();
    let reply = http::send(post_json(
        &gw.url("/wizard/v1/messages?beta=true"),
        &[BEARER],
        &second,
    ))
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());

    let seen = mock.requests();
    assert_eq!(seen.len(), 2);
    for request in &seen {
        let body = String::from_utf8_lossy(&request.body);
        for secret in secrets.all() {
            assert!(
                !body.contains(secret),
                "a secret reached the provider: {body}"
            );
        }
        let parsed: Value = serde_json::from_slice(&request.body).expect("still valid JSON");
        assert_eq!(
            parsed["system"][0]["text"],
            "x-anthropic-billing-header: cc_version=2.1.332"
        );
        let env = parsed["messages"][2]["content"][0]["content"]
            .as_str()
            .unwrap();
        assert!(
            env.starts_with("PORT=3000\nNODE_ENV=production\nDATABASE_PASSWORD=gwx_"),
            "{env}"
        );
        assert!(
            body.contains("db.internal:5432/prod"),
            "only the password of a URL goes: {body}"
        );
        let pgpass = parsed["messages"][2]["content"][1]["content"]
            .as_str()
            .unwrap();
        assert!(
            pgpass.contains("     2→db.internal:5432:prod:app:gwx_"),
            "only the .pgpass password goes: {pgpass}"
        );
    }
    // Turn two resends turn one's history: the same placeholders, byte for byte, so the
    // provider's prompt cache still hits.
    let one: Value = serde_json::from_slice(&seen[0].body).unwrap();
    let two: Value = serde_json::from_slice(&seen[1].body).unwrap();
    assert_eq!(
        one["messages"].as_array().unwrap()[..3],
        two["messages"].as_array().unwrap()[..3]
    );

    // Visible, never leaky: counted by rule, logged by name, values nowhere.
    assert!(gw.wait_for_log("secrets redacted", 2, WAIT).await);
    let logs = gw.logs();
    let metrics = http::send(http::bodyless(
        ::http::Method::GET,
        &gw.admin_url("/metrics"),
        &[],
    ))
    .await
    .text();
    for secret in secrets.all() {
        assert!(!logs.contains(secret), "a secret reached the logs");
        assert!(!metrics.contains(secret), "a secret reached /metrics");
    }
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("llm_gateway_redactions_total{") && !l.ends_with(" 0")),
        "{metrics}"
    );
}

#[tokio::test]
async fn bodies_the_gateway_cannot_read_are_refused_not_forwarded() {
    let (mock, gw) = pair().await;
    let reply = http::send(post_json(
        &gw.url("/v1/messages/count_tokens"),
        &[BEARER, ("content-encoding", "compress")],
        r#"{"model":"claude-sonnet-4-6","messages":[]}"#,
    ))
    .await;
    assert_eq!(reply.status, 415, "{}", reply.text());
    assert_eq!(reply.json()["error"]["type"], "invalid_request_error");
    let reply = http::send(post_json(
        &gw.url("/v1/messages/count_tokens"),
        &[BEARER],
        "{\"model\": ",
    ))
    .await;
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert!(reply.text().contains("not valid JSON"), "{}", reply.text());
    assert_eq!(
        mock.requests().len(),
        0,
        "nothing unscanned reached the provider"
    );
}
