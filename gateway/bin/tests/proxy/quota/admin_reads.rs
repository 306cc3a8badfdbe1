//! What admins read through the real binary after real requests: top spenders and the daily
//! totals from the spend ledger, the recent requests ring, the policies in force with their
//! files and a refused reload's problems.

use gateway_testkit::{TestGateway, http, poll::poll_until};
use mock_provider::{MockConfig, MockProvider};

use super::{ADMIN_TOKEN, SONNET_CALL, WAIT, message, policy_dir, send, with_policies};

async fn get(gw: &TestGateway, path: &str) -> serde_json::Value {
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let reply = http::send(http::bodyless(
        ::http::Method::GET,
        &gw.admin_url(path),
        &[("authorization", auth.as_str())],
    ))
    .await;
    assert_eq!(reply.status, 200, "{path}: {}", reply.text());
    reply.json()
}

#[tokio::test]
async fn spenders_totals_recent_requests_and_policies_after_real_requests() {
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    let dir = policy_dir(
        "admin-reads",
        "[[policy]]\nname = \"everyone\"\nmatch = { subject = \"*\" }\nrequests_per_minute = 100\n[policy.org]\nusd_per_day = 5\n",
    );
    let gw = with_policies(&mock, &dir).start().await;
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let key = http::send(http::post_json(
        &gw.admin_url("/admin/keys"),
        &[("authorization", auth.as_str())],
        r#"{"subject":"ci","org":"acme"}"#,
    ))
    .await;
    assert_eq!(key.status, 201, "{}", key.text());
    let token = key.json()["token"].as_str().unwrap().to_owned();
    for stream in [false, true, false] {
        let reply = send(&gw, &message("claude-sonnet-4-6", 100, stream)).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
    }
    let reply = http::send(http::post_json(
        &gw.url("/v1/messages"),
        &[
            ("x-api-key", token.as_str()),
            ("anthropic-version", "2023-06-01"),
            ("x-claude-code-session-id", "sess-admin-1"),
        ],
        &message("claude-sonnet-4-6", 100, false),
    ))
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    gw.wait_for_metric("llm_gateway_quota_settlements_total", 4.0, WAIT)
        .await;

    let top = get(&gw, "/admin/spenders?window=day").await;
    assert_eq!(top["total"], 2, "{top}");
    assert_eq!(top["entries"][0]["id"], "developer");
    assert_eq!(top["entries"][0]["spent_micro_usd"], 3 * SONNET_CALL);
    assert_eq!(top["entries"][1]["id"], "ci");
    let page2 = get(&gw, "/admin/spenders?window=month&offset=1&limit=1").await;
    assert_eq!(page2["entries"][0]["id"], "ci", "{page2}");
    let orgs = get(&gw, "/admin/spenders?scope=org").await;
    assert_eq!(orgs["entries"][0]["id"], "acme");
    assert_eq!(orgs["entries"][0]["spent_micro_usd"], SONNET_CALL);
    let spend = get(&gw, "/admin/spend?days=7").await;
    assert_eq!(
        spend["today"]["spent_micro_usd"],
        4 * SONNET_CALL,
        "{spend}"
    );
    assert_eq!(spend["today"]["requests"], 4);
    assert_eq!(spend["days"].as_array().unwrap().len(), 7);
    assert!(spend["month"]["spent_micro_usd"].as_u64().unwrap() >= 4 * SONNET_CALL);

    let usage = get(&gw, "/admin/usage/developer").await;
    assert_eq!(
        usage["spend"]["today"]["spent_micro_usd"],
        3 * SONNET_CALL,
        "{usage}"
    );
    assert_eq!(
        usage["spend"]["month"]["by_model"][0]["model"],
        "claude-sonnet-4-6"
    );
    let org = get(&gw, "/admin/orgs/acme/usage").await;
    assert_eq!(org["org"], "acme");
    assert_eq!(
        org["spend"]["today"]["spent_micro_usd"], SONNET_CALL,
        "{org}"
    );
    assert_eq!(org["windows"][0]["limit_name"], "usd_per_day", "{org}");
    assert_eq!(org["windows"][0]["spent"], SONNET_CALL);
    assert_eq!(org["windows"][0]["limit"], 5_000_000);

    let recent = get(&gw, "/admin/requests").await;
    assert_eq!(recent["total"], 4, "{recent}");
    let newest = &recent["requests"][0];
    assert_eq!(newest["subject"], "ci");
    assert_eq!(newest["org"], "acme");
    assert_eq!(newest["model"], "claude-sonnet-4-6");
    assert_eq!(newest["api"], "anthropic_messages");
    assert_eq!(newest["status"], 200);
    assert_eq!(newest["cost_micro_usd"], SONNET_CALL);
    assert_eq!(newest["output_tokens"], 7);
    assert!(newest["request_id"].as_str().unwrap().starts_with("gw-"));
    assert_eq!(newest["session"], "sess-admin-1", "{recent}");
    assert!(recent["requests"][1]["session"].is_null());

    // The session's transcript, as `transcripts show` renders it (written in the background).
    let auth_header = format!("Bearer {ADMIN_TOKEN}");
    let session = poll_until("the session's transcript is readable", WAIT, || async {
        let reply = http::send(http::bodyless(
            ::http::Method::GET,
            &gw.admin_url("/admin/sessions/sess-admin-1"),
            &[("authorization", auth_header.as_str())],
        ))
        .await;
        (reply.status == 200).then(|| reply.json())
    })
    .await;
    assert_eq!(session["session"], "sess-admin-1", "{session}");
    assert!(session.to_string().contains("Reply with hi"), "{session}");
    let text = http::send(http::bodyless(
        ::http::Method::GET,
        &gw.admin_url("/admin/sessions/sess-admin-1?format=text"),
        &[("authorization", auth_header.as_str())],
    ))
    .await;
    assert!(text.text().contains("Reply with hi"), "{}", text.text());
    let missing = http::send(http::bodyless(
        ::http::Method::GET,
        &gw.admin_url("/admin/sessions/no-such-session"),
        &[("authorization", auth_header.as_str())],
    ))
    .await;
    assert_eq!(missing.status, 404);
    assert!(
        missing.json()["error"]["hint"]
            .as_str()
            .unwrap()
            .contains("session id")
    );
    assert!(
        !recent.to_string().contains(&token),
        "no credential in the ring"
    );
    let mine = get(&gw, "/admin/requests?subject=developer&limit=2").await;
    assert_eq!(mine["total"], 3);
    assert_eq!(mine["requests"].as_array().unwrap().len(), 2);

    let policies = get(&gw, "/admin/policies").await;
    assert_eq!(policies["policies"][0]["name"], "everyone");
    assert_eq!(policies["policies"][0]["line"], 1);
    assert!(
        policies["policies"][0]["file"]
            .as_str()
            .unwrap()
            .ends_with("test.toml")
    );
    assert_eq!(
        policies["policies"][0]["limits"]["requests_per_minute"],
        100
    );
    assert_eq!(policies["reload"]["ok"], true);
    std::fs::write(
        dir.join("test.toml"),
        "[[policy]]\nname = \"everyone\"\nmatch = { subject = \"*\" }\nrequests_per_minute = -1\n",
    )
    .unwrap();
    let refused = poll_until("the refused reload is reported", WAIT, || async {
        let p = get(&gw, "/admin/policies").await;
        (p["reload"]["ok"] == false).then_some(p)
    })
    .await;
    let problems = refused["reload"]["problems"].to_string();
    assert!(
        problems.contains("test.toml:4") && problems.contains("requests_per_minute"),
        "{problems}"
    );
    assert_eq!(
        refused["policies"][0]["limits"]["requests_per_minute"], 100,
        "the old set stays in force"
    );
}
