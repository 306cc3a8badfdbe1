//! Upstream resilience through the real binary: key pools, same-target retries, fallback to
//! the next target before the answer commits, never after. Two mock providers stand for the
//! primary and the fallback; every test asserts the attempts made (`x-gateway-attempts`, mock
//! hit counts), which target served (`x-gateway-upstream`), the exact bytes the client got and,
//! where money is involved, that the request was charged once.

mod bedrock;
mod bedrock_errors;
mod bedrock_faults;
mod breaker;
mod matrix;
mod openai;
mod pools;
mod prices;
mod storm;
mod unanswered;
mod vertex;

use std::path::PathBuf;

use gateway_testkit::{
    TestGateway, TestGatewayBuilder,
    http::{self, Reply, post_json},
};
use mock_provider::{MockConfig, MockProvider, Script};

use super::{BEARER, WAIT, metrics::scrape};

/// The admin token these tests configure, to read usage back.
const ADMIN_TOKEN: &str = "resilience-admin-token";
/// The fallback's provider key.
const SECOND_KEY: &str = "sk-ant-second-test";
/// What one answer with the usage below costs on claude-sonnet-4-6, micro-USD (input 12,
/// 5m write 20, read 100, output 7).
const SONNET_CALL: u64 = 246;
/// A whole non-streamed answer, as the serving target sends it.
const JSON_OK: &str = r#"{"id":"msg_served","type":"message","role":"assistant","model":"claude-sonnet-4-6","content":[{"type":"text","text":"served"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":20,"cache_read_input_tokens":100,"cache_creation":{"ephemeral_5m_input_tokens":20,"ephemeral_1h_input_tokens":0},"output_tokens":7}}"#;
/// A whole streamed answer, as the serving target sends it.
const STREAM_OK: &str = concat!(
    "event: message_start\n",
    r#"data: {"type":"message_start","message":{"id":"msg_served","type":"message","role":"assistant","model":"claude-sonnet-4-6","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":20,"cache_read_input_tokens":100,"cache_creation":{"ephemeral_5m_input_tokens":20,"ephemeral_1h_input_tokens":0},"output_tokens":1}}}"#,
    "\n\nevent: ping\ndata: {\"type\":\"ping\"}\n\n",
    "event: content_block_start\n",
    r#"data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
    "\n\nevent: content_block_delta\n",
    r#"data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"served"}}"#,
    "\n\nevent: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
    "event: message_delta\n",
    r#"data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":7}}"#,
    "\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
);
/// The primary's overload, as Anthropic sends it.
const OVERLOADED: &str = r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_primary"}"#;

/// `[upstreams.anthropic]` of config/gateway.toml, replaced by each test's section.
const DEV_ANTHROPIC: &str = "[upstreams.anthropic]\nbase_url = \"https://api.anthropic.com\"\napi_key_env = \"ANTHROPIC_API_KEY\"\n";

/// A primary and a fallback mock.
struct Pair {
    primary: MockProvider,
    second: MockProvider,
}

impl Pair {
    async fn start() -> Self {
        Self {
            primary: MockProvider::start(MockConfig::default()).await.unwrap(),
            second: MockProvider::start(MockConfig::default()).await.unwrap(),
        }
    }

    /// `[upstreams.anthropic]` with the primary's single key and one fallback, `second`.
    fn section(&self) -> String {
        format!(
            "[upstreams.anthropic]\nbase_url = \"{}\"\napi_key_env = \"ANTHROPIC_API_KEY\"\n{}",
            self.primary.base_url(),
            fallback_section(&self.second),
        )
    }

    fn hits(&self) -> (usize, usize) {
        (
            self.primary.hits("/v1/messages"),
            self.second.hits("/v1/messages"),
        )
    }
}

fn fallback_section(second: &MockProvider) -> String {
    format!(
        "[[upstreams.anthropic.fallbacks]]\nname = \"second\"\nkind = \"anthropic\"\nbase_url = \"{}\"\napi_key_env = \"SECOND_KEY\"\n",
        second.base_url()
    )
}

/// A gateway whose config is config/gateway.toml with `anthropic` as its Anthropic upstream,
/// a metering policy and quick retries.
pub(super) fn gateway(anthropic: &str, name: &str) -> TestGatewayBuilder {
    let root = gateway_testkit::workspace_root();
    let dev = std::fs::read_to_string(root.join("config/gateway.toml")).unwrap();
    assert!(
        dev.contains(DEV_ANTHROPIC),
        "config/gateway.toml changed shape"
    );
    let dir = scratch(name);
    let config = dir.join("gateway.toml");
    std::fs::write(&config, dev.replace(DEV_ANTHROPIC, anthropic)).unwrap();
    let policies = dir.join("policies");
    std::fs::create_dir_all(&policies).unwrap();
    std::fs::write(
        policies.join("meter.toml"),
        "[[policy]]\nname = \"meter\"\nusd_per_day = 100.0\n",
    )
    .unwrap();
    super::gateway()
        .config(config)
        .env(
            "ANTHROPIC_API_KEY",
            gateway_testkit::tools::ANTHROPIC_PROVIDER_KEY,
        )
        .env("SECOND_KEY", SECOND_KEY)
        .env("GATEWAY__QUOTA__POLICIES_DIR", policies.to_str().unwrap())
        .env("GATEWAY__FORWARDING__RETRY_BACKOFF_MS", "20")
        .env(
            "GATEWAY__ADMIN__TOKEN_SHA256",
            gateway_testkit::sha256_hex(ADMIN_TOKEN),
        )
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "llm-gateway-resilience-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn body(stream: bool) -> String {
    http::messages_body("claude-sonnet-4-6", stream)
}

async fn send(gw: &TestGateway, stream: bool, extra: &[(&str, &str)]) -> Reply {
    let mut headers = vec![BEARER];
    headers.extend_from_slice(extra);
    http::send(post_json(&gw.url("/v1/messages"), &headers, &body(stream))).await
}

fn status(code: u16, body: &str, headers: &[(&str, &str)]) -> Script {
    Script::Status {
        status: code,
        headers: headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        body: body.to_owned(),
    }
}

/// The serving target's whole answer, streamed or not.
fn served(stream: bool) -> Script {
    if stream {
        status(200, STREAM_OK, &[("content-type", "text/event-stream")])
    } else {
        status(200, JSON_OK, &[])
    }
}

/// What the developer's day bucket has spent, after `settles` settlements.
async fn spent(gw: &TestGateway, settles: usize) -> u64 {
    gw.wait_for_metric("llm_gateway_quota_settlements_total", settles as f64, WAIT)
        .await;
    let reply = http::send(http::bodyless(
        ::http::Method::GET,
        &gw.admin_url("/admin/usage/developer"),
        &[("authorization", &format!("Bearer {ADMIN_TOKEN}"))],
    ))
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let windows = reply.json()["windows"].clone();
    windows
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["limit_name"] == "usd_per_day")
        .and_then(|w| w["spent"].as_u64())
        .unwrap_or_else(|| panic!("no usd_per_day bucket: {windows}"))
}
