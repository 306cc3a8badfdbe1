use std::time::Duration;

use crate::{Config, MapEnvironment};

fn env() -> MapEnvironment {
    MapEnvironment::from_pairs([
        ("ANTHROPIC_API_KEY", "sk-a"),
        ("KEY_B", "sk-b"),
        ("SECOND_KEY", "sk-second"),
    ])
}

fn config(upstreams: &str) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:8080"
[admin]
listen = "127.0.0.1:9090"
{upstreams}
"#
    )
}

#[test]
fn pools_and_fallbacks_validate_in_order() {
    let text = config(
        r#"
[upstreams.anthropic]
name = "first"
base_url = "https://api.anthropic.com"
[[upstreams.anthropic.keys]]
id = "team-a"
api_key_env = "ANTHROPIC_API_KEY"
weight = 3
[[upstreams.anthropic.keys]]
id = "team-b"
api_key_env = "KEY_B"
[[upstreams.anthropic.fallbacks]]
name = "second"
kind = "anthropic"
base_url = "https://second.example"
api_key_env = "SECOND_KEY"
[forwarding]
ttft_timeout_ms = 1500
retry_budget_percent = 10
"#,
    );
    let c = Config::parse(&text, &env()).unwrap();
    let u = c.upstreams.anthropic.unwrap();
    let names: Vec<&str> = u.targets().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["first", "second"]);
    let keys: Vec<(&str, u32)> = u
        .primary
        .keys
        .iter()
        .map(|k| (k.id.as_str(), k.weight))
        .collect();
    assert_eq!(keys, [("team-a", 3), ("team-b", 1)]);
    assert_eq!(u.fallbacks[0].keys[0].secret.expose(), "sk-second");
    assert_eq!(
        c.forwarding.retry.ttft_timeout,
        Some(std::time::Duration::from_millis(1500))
    );
    assert_eq!(c.forwarding.retry.budget_percent, 10);
}

#[test]
fn fallback_problems_name_their_key_path() {
    let text = config(
        r#"
[upstreams.anthropic]
base_url = "https://api.anthropic.com"
api_key_env = "ANTHROPIC_API_KEY"
[[upstreams.anthropic.fallbacks]]
name = "aws"
kind = "azure"
base_url = "https://x.example"
api_key_env = "SECOND_KEY"
[[upstreams.anthropic.fallbacks]]
name = "anthropic"
kind = "anthropic"
base_url = "https://y.example"
api_key_env = "UNSET_KEY"
[[upstreams.anthropic.fallbacks]]
name = "z"
kind = "anthropic"
base_url = "https://z.example"
api_key_env = "SECOND_KEY"
region = "us-east-1"
[[upstreams.anthropic.keys]]
id = "k"
api_key_env = "KEY_B"
weight = 0
[forwarding]
retries_per_target = 9
"#,
    );
    let errors = Config::parse(&text, &env()).unwrap_err();
    let shown = errors.to_string();
    crate::tests::assert_reported(
        &errors,
        &[
            "upstreams.anthropic.fallbacks[0].kind",
            "upstreams.anthropic.fallbacks[1].api_key_env",
            "upstreams.anthropic.fallbacks[2].region",
            "upstreams.anthropic",
            "forwarding.retries_per_target",
        ],
    );
    assert!(shown.contains("bedrock, vertex"), "{shown}");
}

#[test]
fn duplicate_target_names_and_key_ids_are_refused() {
    let text = config(
        r#"
[upstreams.anthropic]
base_url = "https://api.anthropic.com"
[[upstreams.anthropic.keys]]
id = "k"
api_key_env = "ANTHROPIC_API_KEY"
[[upstreams.anthropic.keys]]
id = "k"
api_key_env = "KEY_B"
weight = 0
[[upstreams.anthropic.fallbacks]]
name = "anthropic"
kind = "anthropic"
base_url = "https://y.example"
api_key_env = "SECOND_KEY"
"#,
    );
    let shown = Config::parse(&text, &env()).unwrap_err().to_string();
    assert!(shown.contains("upstreams.anthropic.keys[1].id"), "{shown}");
    assert!(
        shown.contains("upstreams.anthropic.keys[1].weight"),
        "{shown}"
    );
    let text = text.replace(
        "id = \"k\"\napi_key_env = \"KEY_B\"\nweight = 0",
        "id = \"k2\"\napi_key_env = \"KEY_B\"",
    );
    let shown = Config::parse(&text, &env()).unwrap_err().to_string();
    assert!(shown.contains("used twice"), "{shown}");
}

#[test]
fn openai_takes_no_pool_or_fallbacks_yet() {
    let text = config(
        r#"
[upstreams.openai]
base_url = "https://api.openai.com"
api_key_env = "ANTHROPIC_API_KEY"
[[upstreams.openai.fallbacks]]
name = "x"
kind = "anthropic"
base_url = "https://y.example"
api_key_env = "SECOND_KEY"
"#,
    );
    let shown = Config::parse(&text, &env()).unwrap_err().to_string();
    assert!(shown.contains("upstreams.openai.fallbacks"), "{shown}");
}

fn bedrock_env() -> MapEnvironment {
    MapEnvironment::from_pairs([
        ("ANTHROPIC_API_KEY", "sk-a"),
        ("AWS_ID", "AKIDEXAMPLE"),
        ("AWS_SECRET", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        ("BEDROCK_KEY", "bedrock-api-key"),
    ])
}

#[test]
fn a_bedrock_fallback_takes_sigv4_or_an_api_key_and_a_model_map() {
    use crate::{BedrockAuth, TargetKind};
    let text = config(
        r#"
[upstreams.anthropic]
base_url = "https://api.anthropic.com"
api_key_env = "ANTHROPIC_API_KEY"
[[upstreams.anthropic.fallbacks]]
name = "bedrock-us"
kind = "bedrock"
region = "us-east-1"
aws_access_key_id_env = "AWS_ID"
aws_secret_access_key_env = "AWS_SECRET"
models = { "claude-sonnet-4-5" = "us.anthropic.claude-sonnet-4-5-20250929-v1:0" }
prices_file = "config/prices-bedrock.toml"
[[upstreams.anthropic.fallbacks]]
name = "bedrock-key"
kind = "bedrock"
region = "eu-west-1"
base_url = "http://127.0.0.1:9"
api_key_env = "BEDROCK_KEY"
anthropic_betas = ["context-1m-2025-08-07"]
"#,
    );
    let c = Config::parse(&text, &bedrock_env()).unwrap();
    let u = c.upstreams.anthropic.unwrap();
    let TargetKind::Bedrock(b) = &u.fallbacks[0].kind else {
        panic!("not bedrock")
    };
    assert_eq!(
        u.fallbacks[0].base_url.as_str(),
        "https://bedrock-runtime.us-east-1.amazonaws.com/"
    );
    assert_eq!(b.region, "us-east-1");
    assert_eq!(
        b.models["claude-sonnet-4-5"],
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    );
    let BedrockAuth::SigV4(creds) = &b.auth else {
        panic!("not sigv4")
    };
    assert_eq!(creds.access_key_id.expose(), "AKIDEXAMPLE");
    assert!(creds.session_token.is_none());
    assert!(
        b.betas
            .iter()
            .any(|b| b == "interleaved-thinking-2025-05-14")
    );
    assert_eq!(u.fallbacks[0].keys[0].id, "AWS_ID");
    let TargetKind::Bedrock(b) = &u.fallbacks[1].kind else {
        panic!("not bedrock")
    };
    assert!(matches!(b.auth, BedrockAuth::ApiKey));
    assert_eq!(b.betas, ["context-1m-2025-08-07"]);
    assert_eq!(u.fallbacks[1].keys[0].secret.expose(), "bedrock-api-key");
    let prices = |t: &crate::Target| t.prices_file.clone();
    assert_eq!(
        prices(&u.fallbacks[0]),
        Some("config/prices-bedrock.toml".into())
    );
    assert_eq!((prices(&u.primary), prices(&u.fallbacks[1])), (None, None));
}

#[test]
fn an_empty_prices_file_is_reported_at_its_key_path() {
    let text = config(
        r#"
[upstreams.anthropic]
base_url = "https://api.anthropic.com"
api_key_env = "ANTHROPIC_API_KEY"
[[upstreams.anthropic.fallbacks]]
name = "second"
kind = "anthropic"
base_url = "https://second.example"
api_key_env = "SECOND_KEY"
prices_file = ""
"#,
    );
    let errors = Config::parse(&text, &env()).unwrap_err();
    crate::tests::assert_reported(&errors, &["upstreams.anthropic.fallbacks[0].prices_file"]);
}

#[test]
fn bedrock_problems_name_their_key_path() {
    let text = config(
        r#"
[upstreams.anthropic]
base_url = "https://api.anthropic.com"
api_key_env = "ANTHROPIC_API_KEY"
[[upstreams.anthropic.fallbacks]]
name = "a"
kind = "bedrock"
aws_access_key_id_env = "AWS_ID"
models = { "claude-sonnet-4-5" = "bad/id" }
[[upstreams.anthropic.fallbacks]]
name = "b"
kind = "bedrock"
region = "us-east-1"
aws_access_key_id_env = "AWS_ID"
aws_secret_access_key_env = "AWS_SECRET"
api_key_env = "BEDROCK_KEY"
[[upstreams.anthropic.fallbacks]]
name = "c"
kind = "bedrock"
region = "us-east-1"
aws_access_key_id_env = "AWS_ID"
aws_secret_access_key_env = "UNSET_SECRET"
typo = 1
"#,
    );
    let errors = Config::parse(&text, &bedrock_env()).unwrap_err();
    let shown = errors.to_string();
    crate::tests::assert_reported(
        &errors,
        &[
            "upstreams.anthropic.fallbacks[0].region",
            "upstreams.anthropic.fallbacks[0].aws_secret_access_key_env",
            "upstreams.anthropic.fallbacks[0].models.claude-sonnet-4-5",
            "upstreams.anthropic.fallbacks[1]",
            "upstreams.anthropic.fallbacks[2]",
        ],
    );
    assert!(shown.contains("typo"), "{shown}");
    let text = text.replace("typo = 1\n", "");
    let shown = Config::parse(&text, &bedrock_env())
        .unwrap_err()
        .to_string();
    assert!(
        shown.contains("fallbacks[2].aws_secret_access_key_env: environment variable UNSET_SECRET"),
        "{shown}"
    );
}

#[test]
fn the_breaker_is_on_by_default_and_its_settings_validate() {
    let base = config(
        "[upstreams.anthropic]\nbase_url = \"https://api.anthropic.com\"\napi_key_env = \"ANTHROPIC_API_KEY\"\n",
    );
    let b = Config::parse(&base, &env())
        .unwrap()
        .forwarding
        .retry
        .breaker
        .expect("on by default");
    assert_eq!(
        (b.window, b.min_requests, b.failure_percent),
        (Duration::from_secs(60), 20, 50)
    );
    assert_eq!((b.open, b.probe_successes), (Duration::from_secs(30), 3));

    let tuned = format!(
        "{base}[forwarding.breaker]\nmin_requests = 4\nfailure_percent = 75\nprobe_successes = 1\n"
    );
    let mut vars = env();
    vars.0
        .insert("GATEWAY__FORWARDING__BREAKER__OPEN_MS".into(), "200".into());
    let b = Config::parse(&tuned, &vars)
        .unwrap()
        .forwarding
        .retry
        .breaker
        .unwrap();
    assert_eq!(
        (b.min_requests, b.failure_percent, b.probe_successes),
        (4, 75, 1)
    );
    assert_eq!(
        b.open,
        Duration::from_millis(200),
        "overridden from the environment"
    );

    let off = format!("{base}[forwarding.breaker]\nenabled = false\n");
    assert_eq!(
        Config::parse(&off, &env())
            .unwrap()
            .forwarding
            .retry
            .breaker,
        None
    );

    let bad = format!(
        "{base}[forwarding.breaker]\nwindow_ms = 10\nmin_requests = 0\nfailure_percent = 101\nopen_ms = 999999999\nprobe_successes = 0\n"
    );
    let errors = Config::parse(&bad, &env()).unwrap_err();
    crate::tests::assert_reported(
        &errors,
        &[
            "forwarding.breaker.window_ms",
            "forwarding.breaker.min_requests",
            "forwarding.breaker.failure_percent",
            "forwarding.breaker.open_ms",
            "forwarding.breaker.probe_successes",
        ],
    );
    let typo = format!("{base}[forwarding.breaker]\nopen_secs = 3\n");
    let shown = Config::parse(&typo, &env()).unwrap_err().to_string();
    assert!(
        shown.contains("forwarding") && shown.contains("open_secs"),
        "{shown}"
    );
}
