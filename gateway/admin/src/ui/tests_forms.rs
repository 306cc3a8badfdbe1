//! Each remaining form does its one API call, audited under the session's token: usage reset,
//! override set and deleted, key revoked; a path or method the page lacks says so.

use http::{Method, Request, StatusCode, header};

use super::tests::{get, login, post, records, text};
use crate::respond;
use crate::tests::test_admin;

const SAME: [(&str, &str); 1] = [("sec-fetch-site", "same-origin")];

#[tokio::test]
async fn reset_override_delete_and_revoke_forms_go_through_the_audited_api() {
    let a = test_admin();
    let (cookie, csrf) = login(&a, "edit-token").await;
    let c = Some(cookie.as_str());
    let form = |rest: &str| format!("csrf={csrf}&{rest}");

    let r = respond(
        &a,
        &post(
            "/admin/ui/reset",
            c,
            &form("subject=alice&reason=dispute+settled"),
            &SAME,
        ),
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", text(&r));
    assert_eq!(
        r.headers()[header::LOCATION],
        "/admin/ui/subjects?subject=alice"
    );

    let r = respond(
        &a,
        &post(
            "/admin/ui/override",
            c,
            &form("scope=org&target=acme&limit=usd_per_day&value=25.00&reason=launch"),
            &SAME,
        ),
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", text(&r));
    assert_eq!(r.headers()[header::LOCATION], "/admin/ui/orgs?org=acme");
    let page = text(&respond(&a, &get("/admin/ui/orgs?org=acme", c)).await);
    assert!(page.contains("usd_per_day = $25.00"), "{page}");
    let id = a.runtime.snapshot().records().next().map(|r| match r {
        gateway_runtime_state::Record::Override(o) => o.id.clone(),
        _ => panic!("an override"),
    });
    let id = id.unwrap();
    let r = respond(
        &a,
        &post(
            "/admin/ui/override/delete",
            c,
            &form(&format!("id={id}")),
            &SAME,
        ),
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(records(&a), 0);
    let r = respond(
        &a,
        &post(
            "/admin/ui/override/delete",
            c,
            &form(&format!("id={id}")),
            &SAME,
        ),
    )
    .await;
    assert_eq!(
        r.status(),
        StatusCode::NOT_FOUND,
        "the API's 404, shown as such"
    );
    assert!(text(&r).contains("Nothing was changed"));

    let r = respond(&a, &post("/admin/ui/key", c, &form("subject=ci"), &SAME)).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let key = a.runtime.snapshot().records().next().map(|r| match r {
        gateway_runtime_state::Record::Key(k) => k.id.clone(),
        _ => panic!("a key"),
    });
    let r = respond(
        &a,
        &post(
            "/admin/ui/key/revoke",
            c,
            &form(&format!("id={}", key.unwrap())),
            &SAME,
        ),
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(records(&a), 0);

    let audit = std::fs::read_to_string(a.audit.path()).unwrap();
    let whats: Vec<String> = audit
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["what"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        whats,
        [
            "usage.reset",
            "override.create",
            "override.delete",
            "override.delete",
            "key.create",
            "key.revoke"
        ]
    );

    let r = respond(&a, &post("/admin/ui/nothing-here", c, &form(""), &SAME)).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = respond(&a, &get("/admin/ui/nothing-here", c)).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let put = Request::builder()
        .method(Method::PUT)
        .uri("/admin/ui")
        .body(bytes::Bytes::new())
        .unwrap();
    assert_eq!(
        respond(&a, &put).await.status(),
        StatusCode::METHOD_NOT_ALLOWED
    );
}
