//! Real clients through a failing primary: the Python `anthropic` SDK and the Claude Code CLI
//! (pinned by `scripts/setup-clients`) with a primary that answers every call with 529 and an
//! AWS Bedrock fallback (the mock's Bedrock routes, which verify the SigV4 signature
//! themselves). Both get the ordinary answer, served by Bedrock.

use gateway_testkit::{DEV_TOKEN, TestGateway, tools};
use mock_provider::{BEDROCK_ACCESS_KEY_ID, BEDROCK_SECRET_ACCESS_KEY, MockConfig, MockProvider};

use super::{
    clients::{REPLY, claude_command, sdk_call},
    resilience::gateway,
};

/// The Bedrock paths the mapped model is served on (the `:` encoded once).
const BEDROCK_PATHS: [&str; 2] = [
    "/model/us.anthropic.claude-sonnet-4-6-v1%3A0/invoke",
    "/model/us.anthropic.claude-sonnet-4-6-v1%3A0/invoke-with-response-stream",
];

/// A primary that overloads on every call and a mock Bedrock.
struct Failing {
    primary: MockProvider,
    bedrock: MockProvider,
    gw: TestGateway,
}

impl Failing {
    async fn start(name: &str) -> Self {
        let primary = MockProvider::start(MockConfig {
            scenario: Some("status=529".to_owned()),
            ..MockConfig::default()
        })
        .await
        .unwrap();
        let bedrock = MockProvider::start(MockConfig::default()).await.unwrap();
        let section = format!(
            "[upstreams.anthropic]\nbase_url = \"{}\"\napi_key_env = \"ANTHROPIC_API_KEY\"\n[[upstreams.anthropic.fallbacks]]\nname = \"bedrock\"\nkind = \"bedrock\"\nregion = \"us-east-1\"\nbase_url = \"{}\"\naws_access_key_id_env = \"BEDROCK_AWS_ID\"\naws_secret_access_key_env = \"BEDROCK_AWS_SECRET\"\nmodels = {{ \"claude-sonnet-4-6\" = \"us.anthropic.claude-sonnet-4-6-v1:0\", \"claude-haiku-4-5\" = \"us.anthropic.claude-haiku-4-5-20251001-v1:0\" }}\n",
            primary.base_url(),
            bedrock.base_url()
        );
        let gw = gateway(&section, name)
            .env("BEDROCK_AWS_ID", BEDROCK_ACCESS_KEY_ID)
            .env("BEDROCK_AWS_SECRET", BEDROCK_SECRET_ACCESS_KEY)
            .start()
            .await;
        Self {
            primary,
            bedrock,
            gw,
        }
    }

    /// Calls Bedrock served.
    fn bedrock_hits(&self) -> usize {
        BEDROCK_PATHS.iter().map(|p| self.bedrock.hits(p)).sum()
    }
}

#[tokio::test]
async fn the_anthropic_sdk_gets_bedrocks_answer_when_the_primary_overloads() {
    let Some(python) = tools::python() else {
        return;
    };
    let f = Failing::start("sdk-bedrock").await;
    let base = f.gw.url("/wizard");
    let calls = tokio::task::spawn_blocking(move || {
        ["json", "stream"].map(|mode| sdk_call(&python, &base, "anthropic", mode))
    })
    .await
    .unwrap();
    for v in &calls {
        assert_eq!(v["text"], REPLY, "{v}");
        assert_eq!(v["upstream"], "bedrock", "{v}");
        assert_eq!(v["attempts"], "3", "the primary, its retry, Bedrock: {v}");
        assert_eq!(
            v["output_tokens"],
            MockConfig::default().usage.output_tokens,
            "{v}"
        );
    }
    assert_eq!(
        f.primary.hits("/v1/messages"),
        4,
        "two calls, each retried once"
    );
    assert_eq!(f.bedrock.hits(BEDROCK_PATHS[0]), 1);
    assert_eq!(f.bedrock.hits(BEDROCK_PATHS[1]), 1);
}

#[tokio::test]
async fn claude_code_gets_bedrocks_answer_when_the_primary_overloads() {
    let Some(bin) = tools::claude() else { return };
    let f = Failing::start("claude-bedrock").await;
    let home =
        std::env::temp_dir().join(format!("llm-gateway-claude-bedrock-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    let base = f.gw.url("/wizard");
    let out = tokio::task::spawn_blocking(move || {
        claude_command(
            &bin,
            &base,
            &home,
            "json",
            ("ANTHROPIC_AUTH_TOKEN", DEV_TOKEN),
        )
        // The CLI's SDK then logs each response's head to stdout, before the result.
        .env("ANTHROPIC_LOG", "debug")
        .output()
        .expect("run claude")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "claude failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: serde_json::Value = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no json result in {stdout}"));
    assert_eq!(result["result"], REPLY, "{result}");
    assert_eq!(result["is_error"], false, "{result}");
    // The answers Claude Code saw: every one served by Bedrock, no 529 among them.
    assert!(
        stdout.contains(r#""x-gateway-upstream": "bedrock""#),
        "{stdout}"
    );
    assert!(
        !stdout.contains(r#""x-gateway-upstream": "anthropic""#),
        "no answer from the primary reached the CLI"
    );
    assert!(!stdout.contains("status 529"), "{stdout}");
    let calls = f.bedrock_hits();
    assert!(calls >= 1, "Bedrock served");
    assert_eq!(
        f.primary.hits("/v1/messages"),
        2 * calls,
        "each call tried on the primary and retried once, then Bedrock"
    );
    #[expect(clippy::cast_precision_loss, reason = "small counts")]
    let served = calls as f64;
    assert_eq!(
        f.gw.metric(r#"llm_gateway_upstream_attempts_total{model="claude-sonnet-4-6",outcome="served",phase="committed",target="bedrock"}"#)
            .await,
        served
    );
}
