//! An override written against the policy files goes stale when a reload changes a value it
//! replaced: shown, counted, audited once; still in force. Active overrides export as a
//! TOML patch that `check-policies` accepts.

use gateway_testkit::{TestGateway, http, poll::poll_until};
use mock_provider::{MockConfig, MockProvider};

use super::{ADMIN_TOKEN, WAIT, message, policy_dir, send, with_policies};

async fn admin(
    gw: &TestGateway,
    method: ::http::Method,
    path: &str,
    body: Option<&str>,
) -> http::Reply {
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let headers = [("authorization", auth.as_str())];
    let mut req = match body {
        Some(b) => http::post_json(&gw.admin_url(path), &headers, b),
        None => http::bodyless(method.clone(), &gw.admin_url(path), &headers),
    };
    *req.method_mut() = method;
    http::send(req).await
}

#[tokio::test]
async fn a_reload_under_an_override_flags_it_stale_and_overrides_export_as_policy_toml() {
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    let policy = |rpm: u32| {
        format!(
            "[[policy]]\nname = \"team\"\nmatch = {{ subject = \"*\" }}\nrequests_per_minute = {rpm}\nusd_per_day = 2.5\n"
        )
    };
    let dir = policy_dir("stale-overrides", &policy(2));
    let gw = with_policies(&mock, &dir).start().await;
    let reply = admin(
        &gw,
        ::http::Method::POST,
        "/admin/overrides",
        Some(r#"{"scope":"subject","target":"developer","limits":{"requests_per_minute":10},"reason":"pairing session"}"#),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    assert_eq!(reply.json()["stale"], false);
    assert_eq!(reply.json()["file_values"]["requests_per_minute"], 2);
    let id = reply.json()["id"].as_str().unwrap().to_owned();

    let export = admin(&gw, ::http::Method::GET, "/admin/overrides/export", None).await;
    assert_eq!(export.status, 200);
    let toml = export.text();
    assert!(
        toml.contains(&format!("# From override {id} by admin")),
        "{toml}"
    );
    assert!(
        toml.contains("match = { subject = \"developer\" }"),
        "{toml}"
    );
    assert!(toml.contains("requests_per_minute = 10\n"), "{toml}");
    assert!(
        toml.contains("usd_per_day = 2.500000\n"),
        "the file's other limits kept: {toml}"
    );
    // The patch is a valid policy file beside the existing one.
    let check = policy_dir("stale-overrides-export", &policy(2));
    std::fs::write(check.join("override.toml"), &toml).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_llm-gateway"))
        .arg("check-policies")
        .arg(&check)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The file under the override changes: flagged, still in force.
    std::fs::write(dir.join("test.toml"), policy(3)).unwrap();
    let path = format!("/admin/overrides/{id}");
    poll_until("the override is flagged stale", WAIT, || async {
        (admin(&gw, ::http::Method::GET, &path, None).await.json()["stale"] == true).then_some(())
    })
    .await;
    gw.wait_for_metric("llm_gateway_admin_overrides_stale", 1.0, WAIT)
        .await;
    let ok = message("claude-sonnet-4-6", 100, false);
    for _ in 0..4 {
        assert_eq!(
            send(&gw, &ok).await.status,
            200,
            "the override stays in force"
        );
    }
    let audit = std::fs::read_to_string(gw.audit_path()).unwrap();
    let stale: Vec<&str> = audit
        .lines()
        .filter(|l| l.contains("override.stale"))
        .collect();
    assert_eq!(stale.len(), 1, "{audit}");
    assert!(stale[0].contains("policy-reload") && stale[0].contains(&id));
    // Written again, it is current.
    let etag = admin(&gw, ::http::Method::GET, &path, None)
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let mut put = http::post_json(
        &gw.admin_url(&path),
        &[
            ("authorization", auth.as_str()),
            ("if-match", etag.as_str()),
        ],
        r#"{"reason":"reviewed after the policy change"}"#,
    );
    *put.method_mut() = ::http::Method::PUT;
    let reply = http::send(put).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["stale"], false);
    assert_eq!(reply.json()["file_values"]["requests_per_minute"], 3);
}
