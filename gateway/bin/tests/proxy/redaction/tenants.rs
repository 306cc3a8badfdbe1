//! Placeholders are keyed per organisation: the same secret sent by two tenants reaches the
//! provider as two different placeholders, each stable for its own tenant; a subject without
//! an organisation gets the gateway-wide one.

use gateway_testkit::{http, sha256_hex, workspace_root};
use serde_json::{Value, json};

use super::{ALNUM, random};
use crate::{WAIT, gateway};

const ACME: &str = "gw-acme-token";
const GLOBEX: &str = "gw-globex-token";

/// `config/gateway.toml` plus one static key per organisation.
fn tenants_config() -> std::path::PathBuf {
    let base = std::fs::read_to_string(workspace_root().join("config/gateway.toml")).unwrap();
    let text = format!(
        "{base}\n[[auth.keys]]\nsha256 = \"{}\"\nsubject = \"alice\"\norg = \"acme\"\n\n[[auth.keys]]\nsha256 = \"{}\"\nsubject = \"bob\"\norg = \"globex\"\n",
        sha256_hex(ACME),
        sha256_hex(GLOBEX)
    );
    let path = std::env::temp_dir().join(format!(
        "llm-gateway-tenants-{}-{}.toml",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(&path, text).unwrap();
    path
}

/// The placeholder the provider saw in place of the password in `body`.
fn placeholder(body: &[u8]) -> String {
    let v: Value = serde_json::from_slice(body).expect("valid JSON");
    let text = v["messages"][0]["content"].as_str().unwrap();
    let value = text.strip_prefix("DATABASE_PASSWORD=").unwrap();
    assert!(value.starts_with("gwx_env_"), "{text}");
    value.to_owned()
}

#[tokio::test]
async fn two_organisations_never_share_a_placeholder_for_the_same_secret() {
    let mock = mock_provider::MockProvider::start(mock_provider::MockConfig::default())
        .await
        .expect("mock starts");
    let gw = gateway()
        .config(tenants_config())
        .upstream(&mock.base_url())
        .env(
            "GATEWAY_REDACTION_KEY",
            "tenants-test-redaction-key-0123456789",
        )
        .env("GATEWAY__REDACTION__KEY_ENV", "GATEWAY_REDACTION_KEY")
        .start()
        .await;
    let password = format!(
        "{}-{}!{}",
        random(ALNUM, 12),
        random(ALNUM, 6),
        random(ALNUM, 5)
    );
    let body = json!({
        "model": "claude-sonnet-4-6",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": format!("DATABASE_PASSWORD={password}")}],
    })
    .to_string();
    for token in [ACME, GLOBEX, ACME, gateway_testkit::DEV_TOKEN] {
        let auth = format!("Bearer {token}");
        let reply = http::send(http::post_json(
            &gw.url("/v1/messages"),
            &[("authorization", auth.as_str())],
            &body,
        ))
        .await;
        assert_eq!(reply.status, 200, "{}", reply.text());
    }
    let seen = mock.requests();
    assert_eq!(seen.len(), 4);
    for request in &seen {
        assert!(
            !String::from_utf8_lossy(&request.body).contains(&password),
            "the secret reached the provider"
        );
    }
    let [acme, globex, acme_again, no_org] = [0, 1, 2, 3].map(|i| placeholder(&seen[i].body));
    assert_eq!(acme, acme_again, "stable within one organisation");
    assert_ne!(acme, globex, "two organisations share a placeholder");
    assert_ne!(acme, no_org);
    assert_ne!(globex, no_org);
    assert!(gw.wait_for_log("secrets redacted", 4, WAIT).await);
}
