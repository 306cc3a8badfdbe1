//! `llm-gateway admin …` against a running gateway: each subcommand is one admin API call,
//! its answer on stdout; a refusal's message and hint on stderr with exit 1; the token comes
//! from the environment only.

use gateway_testkit::TestGateway;
use mock_provider::{MockConfig, MockProvider};

use super::{ADMIN_TOKEN, message, policy_dir, send, with_policies};

fn admin(gw: &TestGateway, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_llm-gateway"))
        .arg("admin")
        .arg("--url")
        .arg(gw.admin_url(""))
        .args(args)
        .env("LLM_GATEWAY_ADMIN_TOKEN", ADMIN_TOKEN)
        .output()
        .unwrap()
}

fn ok_json(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn the_admin_cli_sets_an_override_blocks_issues_a_key_and_explains_refusals() {
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    let dir = policy_dir(
        "admin-cli",
        "[[policy]]\nname = \"two\"\nmatch = { subject = \"*\" }\nrequests_per_minute = 2\n",
    );
    let gw = with_policies(&mock, &dir).start().await;
    let ok = message("claude-sonnet-4-6", 100, false);
    for _ in 0..2 {
        assert_eq!(send(&gw, &ok).await.status, 200);
    }
    assert_eq!(send(&gw, &ok).await.status, 429);

    let created = ok_json(&admin(
        &gw,
        &[
            "override",
            "--subject",
            "developer",
            "--limit",
            "requests_per_minute=5",
            "--reason",
            "cli test",
            "--expires-in",
            "1h",
        ],
    ));
    assert_eq!(created["limits"]["requests_per_minute"], 5);
    assert_eq!(send(&gw, &ok).await.status, 200);
    let limits = ok_json(&admin(&gw, &["limits", "developer"]));
    assert_eq!(
        limits["limits"]["subject"]["requests_per_minute"]["source"],
        "override"
    );
    let listed = ok_json(&admin(&gw, &["overrides"]));
    assert_eq!(listed["total"], 1);

    let block = ok_json(&admin(
        &gw,
        &["block", "subject", "developer", "--reason", "cli"],
    ));
    assert_eq!(send(&gw, &ok).await.status, 403);
    let id = block["id"].as_str().unwrap();
    ok_json(&admin(&gw, &["unblock", id]));
    assert_eq!(send(&gw, &ok).await.status, 200);

    let key = ok_json(&admin(
        &gw,
        &["create-key", "--subject", "cli-ci", "--budget-usd", "1"],
    ));
    assert!(key["token"].as_str().unwrap().starts_with("gwk_"));
    let keys = ok_json(&admin(&gw, &["keys"]));
    assert_eq!(keys["total"], 1);
    assert!(!keys.to_string().contains(key["token"].as_str().unwrap()));

    let usage = ok_json(&admin(&gw, &["usage", "developer"]));
    assert!(
        usage["windows"].as_array().is_some_and(|w| !w.is_empty()),
        "{usage}"
    );
    let audit = ok_json(&admin(&gw, &["audit", "--limit", "10"]));
    assert_eq!(audit["total"], 4, "{audit}");

    // A refusal: its message and hint on stderr, exit 1, nothing on stdout.
    let bad = admin(
        &gw,
        &[
            "override",
            "--subject",
            "developer",
            "--limit",
            "usd_per_week=1",
            "--reason",
            "x",
        ],
    );
    assert_eq!(bad.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.starts_with("400 ") && stderr.contains("usd_per_week"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: use one of: requests_per_minute"),
        "{stderr}"
    );
    assert!(bad.stdout.is_empty());

    // No token in the environment: said, and nothing sent.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_llm-gateway"))
        .args(["admin", "--url", &gw.admin_url(""), "policies"])
        .env_remove("LLM_GATEWAY_ADMIN_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("LLM_GATEWAY_ADMIN_TOKEN"));
}
