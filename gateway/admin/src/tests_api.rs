//! The admin API's changes: both roles, bad input (a clear 4xx, nothing changed), `If-Match`,
//! the audit log (every change and refused attempt, chained, no secret), the counters.

use bytes::Bytes;
use gateway_core::Principal;
use gateway_runtime_state::{token_digest, verify_chain};
use http::{Method, Request, StatusCode, header};

use super::tests::{body, test_admin};
use super::{Admin, respond};

const EDITOR: &str = "edit-token";
const VIEWER: &str = "view-token";

fn call(method: Method, path: &str, token: &str, json: &str) -> Request<Bytes> {
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Bytes::from(json.to_owned()))
        .unwrap()
}

fn audit_lines(a: &Admin) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(a.audit.path()).unwrap_or_default();
    verify_chain(&text).expect("the audit chain holds");
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn changes(a: &Admin, kind: &str) -> u64 {
    a.metrics
        .admin
        .changes_total
        .with_label_values(&[kind])
        .get()
}

#[tokio::test]
async fn overrides_are_created_read_changed_with_if_match_and_deleted_all_audited() {
    let a = test_admin();
    let create = r#"{"scope":"subject","target":"alice","limits":{"usd_per_day":"25.50","requests_per_minute":100},"reason":"launch day","expires_in":"8h"}"#;

    // A viewer reads but cannot change; the refused attempt is audited under its id.
    let r = respond(&a, &call(Method::POST, "/admin/overrides", VIEWER, create)).await;
    assert_eq!(r.status(), 403);
    let r = respond(&a, &call(Method::POST, "/admin/overrides", "guess", create)).await;
    assert_eq!(r.status(), 401);

    // Bad input: a 400 that says what and how, and nothing stored.
    for (bad, says) in [
        (
            r#"{"scope":"subject","target":"alice","limits":{"usd_per_week":1},"reason":"x"}"#,
            "usd_per_week",
        ),
        (
            r#"{"scope":"subject","target":"alice","limits":{"usd_per_day":0},"reason":"x"}"#,
            "zero",
        ),
        (
            r#"{"scope":"subject","target":"alice","limits":{"usd_per_day":"1.0000001"},"reason":"x"}"#,
            "6 decimals",
        ),
        (
            r#"{"scope":"subject","target":"alice","limits":{"requests_per_minute":2.5},"reason":"x"}"#,
            "whole number",
        ),
        (
            r#"{"scope":"subject","target":"alice","limits":{"usd_per_day":1}}"#,
            "reason",
        ),
        (
            r#"{"scope":"team","target":"alice","limits":{"usd_per_day":1},"reason":"x"}"#,
            "team",
        ),
        (
            r#"{"scope":"subject","target":"alice","limits":{"usd_per_day":1},"reason":"x","extra":1}"#,
            "extra",
        ),
        (
            r#"{"scope":"subject","target":"alice","limits":{"usd_per_day":1},"reason":"x","expires_in":"forever"}"#,
            "expires_in",
        ),
        (
            r#"{"scope":"subject","target":"alice","limits":{"usd_per_day":1},"reason":"x","expires_in":"400days"}"#,
            "expires_in",
        ),
    ] {
        let r = respond(&a, &call(Method::POST, "/admin/overrides", EDITOR, bad)).await;
        assert_eq!(r.status(), 400, "{bad}");
        let v = body(&r);
        let message = v["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{bad}: {message}");
        assert!(!v["error"]["hint"].as_str().unwrap().is_empty(), "{bad}");
    }
    assert_eq!(a.runtime.snapshot().records().count(), 0, "nothing stored");

    let r = respond(&a, &call(Method::POST, "/admin/overrides", EDITOR, create)).await;
    assert_eq!(r.status(), 201);
    let etag = r.headers()[header::ETAG].to_str().unwrap().to_owned();
    let created = body(&r);
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("ovr_"));
    assert_eq!(created["limits"]["usd_per_day"], 25_500_000);
    assert_eq!(created["limits"]["requests_per_minute"], 100);
    assert_eq!(created["active"], true);
    assert_eq!(created["by"], "admin");

    // Read by either role, with its revision as ETag.
    let r = respond(
        &a,
        &call(Method::GET, &format!("/admin/overrides/{id}"), VIEWER, ""),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()[header::ETAG], etag.as_str());
    let r = respond(
        &a,
        &call(Method::GET, "/admin/overrides?target=alice", VIEWER, ""),
    )
    .await;
    assert_eq!(body(&r)["total"], 1);
    let r = respond(
        &a,
        &call(Method::GET, "/admin/overrides?target=bob", VIEWER, ""),
    )
    .await;
    assert_eq!(body(&r)["total"], 0);

    // A change needs If-Match; a stale one is a 412 that changes nothing.
    let update = r#"{"limits":{"usd_per_day":"40"},"reason":"still launching"}"#;
    let path = format!("/admin/overrides/{id}");
    let r = respond(&a, &call(Method::PUT, &path, EDITOR, update)).await;
    assert_eq!(r.status(), 428);
    let mut stale = call(Method::PUT, &path, EDITOR, update);
    stale
        .headers_mut()
        .insert(header::IF_MATCH, "\"999\"".parse().unwrap());
    let r = respond(&a, &stale).await;
    assert_eq!(r.status(), 412);
    assert!(body(&r)["error"]["hint"].as_str().unwrap().contains("ETag"));
    let mut fresh = call(Method::PUT, &path, EDITOR, update);
    fresh
        .headers_mut()
        .insert(header::IF_MATCH, etag.parse().unwrap());
    let r = respond(&a, &fresh).await;
    assert_eq!(r.status(), 200);
    assert_ne!(r.headers()[header::ETAG], etag.as_str());
    assert_eq!(body(&r)["limits"]["usd_per_day"], 40_000_000);
    assert!(
        body(&r)["limits"].get("requests_per_minute").is_none(),
        "limits replaced"
    );

    let r = respond(&a, &call(Method::DELETE, &path, VIEWER, "")).await;
    assert_eq!(r.status(), 403);
    let r = respond(&a, &call(Method::DELETE, &path, EDITOR, "")).await;
    assert_eq!(r.status(), 200);
    let r = respond(&a, &call(Method::GET, &path, VIEWER, "")).await;
    assert_eq!(r.status(), 404);
    let r = respond(&a, &call(Method::DELETE, &path, EDITOR, "")).await;
    assert_eq!(r.status(), 404);

    // Every change and every refused attempt, in order, chained.
    let audit = audit_lines(&a);
    let whats: Vec<(&str, bool)> = audit
        .iter()
        .map(|e| (e["what"].as_str().unwrap(), e["ok"].as_bool().unwrap()))
        .collect();
    assert_eq!(whats.iter().filter(|(_, ok)| *ok).count(), 3, "{whats:?}");
    assert_eq!(
        &whats[..2],
        &[("override.create", false), ("override.create", false)]
    );
    assert_eq!(
        audit[0]["who"], "oncall",
        "a viewer's refused attempt names it"
    );
    assert_eq!(audit[1]["who"], "unauthenticated");
    let applied: Vec<_> = audit.iter().filter(|e| e["ok"] == true).collect();
    assert_eq!(applied[0]["what"], "override.create");
    assert_eq!(applied[0]["reason"], "launch day");
    assert_eq!(applied[1]["what"], "override.update");
    assert_eq!(applied[1]["before"]["limits"]["usd_per_day"], 25_500_000);
    assert_eq!(applied[1]["after"]["limits"]["usd_per_day"], 40_000_000);
    assert_eq!(applied[2]["what"], "override.delete");
    assert!(applied[2]["after"].is_null());
    let text = std::fs::read_to_string(a.audit.path()).unwrap();
    assert!(
        !text.contains(EDITOR) && !text.contains(VIEWER),
        "no token in the audit log"
    );
    assert_eq!(changes(&a, "override_set"), 2);
    assert_eq!(changes(&a, "override_removed"), 1);
    assert!(changes(&a, "refused") >= 14, "{}", changes(&a, "refused"));

    // Paged newest first.
    let r = respond(&a, &call(Method::GET, "/admin/audit?limit=2", VIEWER, "")).await;
    let v = body(&r);
    assert_eq!(v["total"], audit.len());
    assert_eq!(v["entries"].as_array().unwrap().len(), 2);
    assert_eq!(v["entries"][0]["what"], audit.last().unwrap()["what"]);
}

#[tokio::test]
async fn a_virtual_key_shows_its_token_once_and_stores_only_the_digest() {
    let a = test_admin();
    let r = respond(
        &a,
        &call(
            Method::POST,
            "/admin/keys",
            EDITOR,
            r#"{"subject":"ci-nightly","org":"acme","budget_usd":"20","expires_in":"30days"}"#,
        ),
    )
    .await;
    assert_eq!(r.status(), 201);
    let v = body(&r);
    let token = v["token"].as_str().unwrap().to_owned();
    let id = v["id"].as_str().unwrap().to_owned();
    assert!(token.starts_with("gwk_") && token.len() > 60);
    assert_eq!(v["budget_micro_usd"], 20_000_000);
    let key = a
        .runtime
        .snapshot()
        .key(&token_digest(&token), gateway_runtime_state::now_ms())
        .cloned()
        .unwrap();
    assert_eq!(key.subject, "ci-nightly");
    assert_eq!(key.org.as_deref(), Some("acme"));

    let r = respond(&a, &call(Method::GET, "/admin/keys", VIEWER, "")).await;
    let listed = String::from_utf8_lossy(r.body()).into_owned();
    assert!(listed.contains(&id) && !listed.contains(&token));
    let r = respond(
        &a,
        &call(Method::GET, &format!("/admin/keys/{id}"), VIEWER, ""),
    )
    .await;
    assert!(!String::from_utf8_lossy(r.body()).contains(&token));
    let audit = std::fs::read_to_string(a.audit.path()).unwrap();
    assert!(
        audit.contains(&id) && !audit.contains(&token),
        "never the token in the audit log"
    );

    for bad in [
        r#"{"subject":""}"#,
        r#"{"subject":"x","budget_usd":0}"#,
        r#"{"subject":"x","budget_usd":"lots"}"#,
    ] {
        let r = respond(&a, &call(Method::POST, "/admin/keys", EDITOR, bad)).await;
        assert_eq!(r.status(), 400, "{bad}");
    }
    let r = respond(
        &a,
        &call(Method::DELETE, &format!("/admin/keys/{id}"), EDITOR, ""),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert!(
        a.runtime
            .snapshot()
            .key(&token_digest(&token), gateway_runtime_state::now_ms())
            .is_none(),
        "revoked"
    );
    assert_eq!(changes(&a, "key_created"), 1);
    assert_eq!(changes(&a, "key_revoked"), 1);
}

#[tokio::test]
async fn a_block_applies_at_once_and_limits_show_each_values_source() {
    let a = test_admin();
    let r = respond(
        &a,
        &call(
            Method::POST,
            "/admin/blocks",
            EDITOR,
            r#"{"kind":"team","value":"x","reason":"r"}"#,
        ),
    )
    .await;
    assert_eq!(r.status(), 400);
    let r = respond(
        &a,
        &call(Method::POST, "/admin/overrides", EDITOR, r#"{"scope":"org","target":"acme","limits":{"usd_per_month":300},"reason":"quarter end"}"#),
    )
    .await;
    assert_eq!(r.status(), 201);
    let ovr = body(&r)["id"].as_str().unwrap().to_owned();
    let r = respond(
        &a,
        &call(Method::GET, "/admin/limits/alice?org=acme", VIEWER, ""),
    )
    .await;
    assert_eq!(r.status(), 200);
    let v = body(&r);
    assert_eq!(v["limits"]["org"]["usd_per_month"]["source"], "override");
    assert_eq!(v["limits"]["org"]["usd_per_month"]["id"], ovr.as_str());
    assert_eq!(v["limits"]["org"]["usd_per_month"]["value"], 300_000_000);
    assert_eq!(
        v["limits"]["subject"]["usd_per_month"]["source"], "default",
        "an org override leaves the member's own limit"
    );
    assert!(v["blocked"].is_null());

    let r = respond(
        &a,
        &call(
            Method::POST,
            "/admin/blocks",
            EDITOR,
            r#"{"kind":"org","value":"acme","reason":"card declined"}"#,
        ),
    )
    .await;
    assert_eq!(r.status(), 201);
    let blk = body(&r)["id"].as_str().unwrap().to_owned();
    let alice = Principal {
        org: Some("acme".to_owned()),
        ..Principal::subject("alice")
    };
    assert_eq!(
        a.runtime
            .snapshot()
            .blocked(&alice, gateway_runtime_state::now_ms())
            .unwrap()
            .id,
        blk
    );
    let v = body(
        &respond(
            &a,
            &call(Method::GET, "/admin/limits/alice?org=acme", VIEWER, ""),
        )
        .await,
    );
    assert_eq!(v["blocked"]["id"], blk.as_str());
    assert_eq!(v["limits"]["subject"]["usd_per_day"]["source"], "block");
    assert_eq!(v["limits"]["subject"]["usd_per_day"]["value"], 0);

    // Usage reset: its own action, a reason required, audited.
    let r = respond(
        &a,
        &call(Method::POST, "/admin/usage/alice/reset", EDITOR, "{}"),
    )
    .await;
    assert_eq!(r.status(), 400);
    let r = respond(
        &a,
        &call(
            Method::POST,
            "/admin/usage/alice/reset",
            EDITOR,
            r#"{"reason":"refund"}"#,
        ),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(body(&r)["buckets_reset"], 0);
    assert_eq!(changes(&a, "usage_reset"), 1);
    assert_eq!(
        StatusCode::METHOD_NOT_ALLOWED,
        respond(
            &a,
            &call(Method::GET, "/admin/usage/alice/reset", EDITOR, "")
        )
        .await
        .status()
    );
}

#[tokio::test]
async fn every_endpoint_needs_a_token_a_viewer_reads_all_and_changes_nothing() {
    let a = test_admin();
    let reads = [
        "/admin/usage/alice",
        "/admin/orgs/acme/usage",
        "/admin/limits/alice?org=acme",
        "/admin/spenders",
        "/admin/spenders?window=month&scope=org",
        "/admin/spend?days=7",
        "/admin/overrides",
        "/admin/overrides/export",
        "/admin/blocks",
        "/admin/keys",
        "/admin/policies",
        "/admin/requests",
        "/admin/sessions/s-1",
        "/admin/audit",
    ];
    for path in reads {
        let r = respond(&a, &call(Method::GET, path, "guess", "")).await;
        assert_eq!(r.status(), 401, "{path}");
        let r = respond(&a, &call(Method::GET, path, VIEWER, "")).await;
        // Sessions: 404 here (no transcript directory), never an authorization refusal.
        let expected = if path.starts_with("/admin/sessions") {
            404
        } else {
            200
        };
        assert_eq!(
            r.status(),
            expected,
            "{path}: {}",
            String::from_utf8_lossy(r.body())
        );
    }
    let writes = [
        (
            Method::POST,
            "/admin/overrides",
            r#"{"scope":"subject","target":"a","limits":{"usd_per_day":1},"reason":"r"}"#,
        ),
        (Method::PUT, "/admin/overrides/ovr_x", r#"{"reason":"r"}"#),
        (Method::DELETE, "/admin/overrides/ovr_x", ""),
        (
            Method::POST,
            "/admin/blocks",
            r#"{"kind":"subject","value":"a","reason":"r"}"#,
        ),
        (Method::DELETE, "/admin/blocks/blk_x", ""),
        (Method::POST, "/admin/keys", r#"{"subject":"a"}"#),
        (Method::DELETE, "/admin/keys/key_x", ""),
        (Method::POST, "/admin/usage/a/reset", r#"{"reason":"r"}"#),
    ];
    for (method, path, body) in &writes {
        let r = respond(&a, &call(method.clone(), path, VIEWER, body)).await;
        assert_eq!(r.status(), 403, "{method} {path}");
        let r = respond(&a, &call(method.clone(), path, "guess", body)).await;
        assert_eq!(r.status(), 401, "{method} {path}");
    }
    assert_eq!(a.runtime.snapshot().records().count(), 0, "nothing changed");
    let audit = audit_lines(&a);
    assert_eq!(
        audit.len(),
        2 * writes.len(),
        "every refused attempt audited"
    );
    assert!(audit.iter().all(|e| e["ok"] == false));
    assert_eq!(changes(&a, "refused"), 2 * writes.len() as u64);
}
