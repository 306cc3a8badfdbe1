//! Real clients through the gateway to the mock: the Python `anthropic` and `openai` SDKs and
//! the Claude Code CLI, pinned and installed by `scripts/setup-clients`.

use std::process::Command;

use gateway_testkit::{DEV_TOKEN, tools};
use mock_provider::{MockConfig, Script};

use super::pair;

pub(super) const REPLY: &str = "Hello from the mock provider.";

pub(super) fn sdk_call(
    python: &std::path::Path,
    base: &str,
    surface: &str,
    mode: &str,
) -> serde_json::Value {
    let script = gateway_testkit::workspace_root().join("gateway/bin/tests/clients/sdk_call.py");
    let output = Command::new(python)
        .arg(script)
        .args([surface, mode])
        .env("GATEWAY_URL", base)
        .env("GATEWAY_TOKEN", DEV_TOKEN)
        .output()
        .expect("run python");
    assert!(
        output.status.success(),
        "{surface} {mode} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("json from sdk_call.py")
}

#[tokio::test]
async fn python_sdks_get_the_mocks_answer_streamed_and_not() {
    let Some(python) = tools::python() else {
        return;
    };
    let (mock, gw) = pair().await;
    let base = gw.url("/wizard");
    let usage = MockConfig::default().usage;
    let calls = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        for surface in ["anthropic", "openai-chat", "openai-responses"] {
            for mode in ["json", "stream"] {
                out.push(sdk_call(&python, &base, surface, mode));
            }
        }
        out
    })
    .await
    .unwrap();
    for v in &calls {
        assert_eq!(v["text"], REPLY, "{v}");
        if v["surface"] == "anthropic" {
            assert_eq!(v["input_tokens"], usage.input_tokens, "{v}");
            assert_eq!(v["output_tokens"], usage.output_tokens, "{v}");
            assert_eq!(v["refusal"]["status"], 401, "{v}");
            assert_eq!(v["refusal"]["type"], "authentication_error", "{v}");
        }
        if v["surface"] == "openai-chat" {
            assert_eq!(v["refusal"]["status"], 401, "{v}");
            assert_eq!(v["refusal"]["type"], "invalid_api_key", "{v}");
        }
    }
    assert_eq!(mock.hits("/v1/messages"), 2);
    assert_eq!(mock.hits("/v1/chat/completions"), 2);
    assert_eq!(mock.hits("/v1/responses"), 2);
}

fn claude(
    bin: &std::path::Path,
    base: &str,
    home: &std::path::Path,
    format: &str,
) -> std::process::Output {
    claude_with(bin, base, home, format, ("ANTHROPIC_AUTH_TOKEN", DEV_TOKEN))
}

fn claude_with(
    bin: &std::path::Path,
    base: &str,
    home: &std::path::Path,
    format: &str,
    credential: (&str, &str),
) -> std::process::Output {
    claude_command(bin, base, home, format, credential)
        .output()
        .expect("run claude")
}

/// One `claude -p` turn on claude-sonnet-4-6 in `format`, offline against `base`, with a
/// clean environment and quick failures.
pub(super) fn claude_command(
    bin: &std::path::Path,
    base: &str,
    home: &std::path::Path,
    format: &str,
    credential: (&str, &str),
) -> Command {
    let mut cmd = Command::new(bin);
    cmd.args([
        "-p",
        "Reply with hi",
        "--output-format",
        format,
        "--model",
        "claude-sonnet-4-6",
    ]);
    if format == "stream-json" {
        cmd.arg("--verbose");
    }
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("ANTHROPIC_BASE_URL", base)
        .env(credential.0, credential.1)
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env("CLAUDE_CODE_MAX_RETRIES", "2")
        .env("API_TIMEOUT_MS", "30000");
    cmd
}

#[tokio::test]
async fn claude_code_cli_gets_the_mocks_answer_streamed_and_after_a_fallback() {
    let Some(bin) = tools::claude() else { return };
    let (mock, gw) = pair().await;
    let home = std::env::temp_dir().join(format!("llm-gateway-claude-home-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    let base = gw.url("/wizard");

    let (b, h) = (bin.clone(), home.clone());
    let base2 = base.clone();
    let out = tokio::task::spawn_blocking(move || claude(&b, &base2, &h, "json"))
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "claude failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).expect("json result");
    assert_eq!(v["result"], REPLY, "{v}");
    assert_eq!(v["is_error"], false, "{v}");
    let first = mock
        .requests()
        .into_iter()
        .find(|r| r.path_and_query.starts_with("/v1/messages"))
        .expect("a messages call");
    assert_eq!(first.path_and_query, "/v1/messages?beta=true");
    assert!(
        first.headers["user-agent"]
            .to_str()
            .unwrap()
            .starts_with("claude-cli/")
    );
    assert!(
        first.headers.get("anthropic-beta").is_some(),
        "betas forwarded"
    );
    assert!(first.headers.get("authorization").is_none());

    // A stream that breaks with an error event: Claude Code retries without streaming and
    // still gets the answer.
    mock.push_script(Script::MidStreamError {
        after_deltas: 1,
        error_type: "overloaded_error".into(),
        message: "Overloaded".into(),
    });
    let before = mock.hits("/v1/messages");
    let out = tokio::task::spawn_blocking(move || claude(&bin, &base, &home, "stream-json"))
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "claude failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["type"] == "result")
        .expect("a result line");
    assert_eq!(result["result"], REPLY, "{stdout}");
    assert!(
        mock.hits("/v1/messages") >= before + 2,
        "retried after the mid-stream error"
    );
    let bodies: Vec<serde_json::Value> = mock
        .requests()
        .iter()
        .skip(before)
        .filter(|r| r.path_and_query.starts_with("/v1/messages?"))
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert!(
        bodies.iter().any(|b| b["stream"] == true),
        "a streamed call"
    );
    assert!(
        bodies.iter().any(|b| b["stream"] != true),
        "a non-streamed fallback call"
    );
}

#[tokio::test]
async fn claude_code_cli_works_with_a_jwt_as_auth_token_and_as_api_key() {
    let Some(bin) = tools::claude() else { return };
    let mock = mock_provider::MockProvider::start(MockConfig::default())
        .await
        .unwrap();
    let gw = super::gateway()
        .config(gateway_testkit::workspace_root().join("config/gateway.identity.toml"))
        .upstream(&mock.base_url())
        .env("GATEWAY_JWT_SECRET", gateway_testkit::jwt::HS256_SECRET)
        .env("GATEWAY_INTROSPECTION_SECRET", "unused")
        .start()
        .await;
    let home = std::env::temp_dir().join(format!("llm-gateway-claude-jwt-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    let token = gateway_testkit::jwt::hs256(
        gateway_testkit::jwt::HS256_SECRET.as_bytes(),
        &gateway_testkit::jwt::claims("wizard-user"),
    );
    let base = gw.url("/wizard");
    let out = tokio::task::spawn_blocking(move || {
        ["ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_API_KEY"]
            .map(|var| (var, claude_with(&bin, &base, &home, "json", (var, &token))))
    })
    .await
    .unwrap();
    for (var, out) in out {
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{var}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_str(stdout.trim()).expect("json result");
        assert_eq!(v["result"], REPLY, "{var}: {v}");
    }
    let seen = mock.requests();
    let messages: Vec<_> = seen.iter().filter(|r| r.path() == "/v1/messages").collect();
    assert!(messages.len() >= 2);
    for r in messages {
        assert_eq!(
            r.headers["x-api-key"],
            gateway_testkit::tools::ANTHROPIC_PROVIDER_KEY
        );
    }
    assert!(gw.logs().contains("\"subject\":\"wizard-user\""));
}

#[tokio::test]
async fn the_cost_the_gateway_records_equals_claude_codes_own_total_cost() {
    let Some(bin) = tools::claude() else { return };
    let (mock, gw) = pair().await;
    let home = std::env::temp_dir().join(format!("llm-gateway-claude-cost-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    let base = gw.url("/wizard");
    let out = tokio::task::spawn_blocking(move || claude(&bin, &base, &home, "json"))
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).expect("json result");
    let claude_micro_usd = (v["total_cost_usd"].as_f64().expect("total_cost_usd") * 1e6).round();
    let calls = mock.hits("/v1/messages");
    assert!(gw.wait_for_log("usage settled", calls, super::WAIT).await);
    let recorded: u64 = gw
        .logs()
        .lines()
        .filter(|l| l.contains("\"usage settled\""))
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["cost_micro_usd"]
                .as_u64()
                .unwrap()
        })
        .sum();
    #[expect(
        clippy::cast_precision_loss,
        reason = "micro-USD amounts far below 2^52"
    )]
    let recorded = recorded as f64;
    assert_eq!(
        recorded, claude_micro_usd,
        "gateway vs Claude Code ({calls} calls): {v}"
    );
}
