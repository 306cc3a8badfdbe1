//! The admin page against a memory store: login and the cookie's flags, the headers of every
//! page, the write guards (cross-site `Sec-Fetch-Site`, a foreign `Origin`, a missing or
//! wrong CSRF token: 403 and nothing changed), a viewer's change refused and audited like the
//! API's, escaping, the session table's bounds, the one-time key token.

use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};

use super::session::{COOKIE_NAME, Sessions};
use crate::tests::test_admin;
use crate::{Admin, respond};

const EDITOR: &str = "edit-token";
const VIEWER: &str = "view-token";

pub(super) fn get(path: &str, cookie: Option<&str>) -> Request<Bytes> {
    let mut b = Request::builder().method(Method::GET).uri(path);
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    b.body(Bytes::new()).unwrap()
}

pub(super) fn post(
    path: &str,
    cookie: Option<&str>,
    form: &str,
    headers: &[(&str, &str)],
) -> Request<Bytes> {
    let mut b = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::HOST, "admin.local:9090")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(Bytes::from(form.to_owned())).unwrap()
}

pub(super) fn text(r: &Response<Bytes>) -> String {
    String::from_utf8_lossy(r.body()).into_owned()
}

/// Logs in with `token`; returns the `Cookie` header value and the session's CSRF token.
pub(super) async fn login(a: &Admin, token: &str) -> (String, String) {
    let r = respond(
        a,
        &post(
            "/admin/ui/login",
            None,
            &format!("token={token}"),
            &[("sec-fetch-site", "same-origin")],
        ),
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", text(&r));
    let set = r.headers()[header::SET_COOKIE].to_str().unwrap();
    let cookie = set.split(';').next().unwrap().to_owned();
    let page = respond(a, &get("/admin/ui/blocks", Some(&cookie))).await;
    assert_eq!(page.status(), 200);
    let body = text(&page);
    let csrf = body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("every form carries the CSRF token")
        .to_owned();
    (cookie, csrf)
}

pub(super) fn records(a: &Admin) -> usize {
    a.runtime.snapshot().records().count()
}

#[tokio::test]
async fn login_gives_a_strict_http_only_cookie_and_every_page_the_strict_headers() {
    let a = test_admin();
    let r = respond(&a, &get("/admin/ui", None)).await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "no session: to the login"
    );
    assert_eq!(r.headers()[header::LOCATION], "/admin/ui/login");

    let r = respond(&a, &post("/admin/ui/login", None, "token=guess-token", &[])).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().get(header::SET_COOKIE).is_none());
    assert!(
        !text(&r).contains("guess-token"),
        "the tried token is not echoed"
    );
    assert!(text(&r).contains("not an admin token"));

    let r = respond(&a, &post("/admin/ui/login", None, "token=edit-token", &[])).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let set = r.headers()[header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(set.starts_with(&format!("{COOKIE_NAME}=")), "{set}");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/admin/ui"] {
        assert!(set.contains(flag), "{set}");
    }
    assert!(!set.contains("Secure"), "plain HTTP: no Secure flag: {set}");
    let cookie = set.split(';').next().unwrap();
    assert_eq!(
        cookie.len(),
        COOKIE_NAME.len() + 1 + 64,
        "a 64-hex-digit id"
    );

    let tls = Request::builder()
        .method(Method::POST)
        .uri("https://admin.local/admin/ui/login")
        .body(Bytes::from_static(b"token=edit-token"))
        .unwrap();
    let r = respond(&a, &tls).await;
    assert!(
        r.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("; Secure")
    );

    for path in [
        "",
        "/subjects",
        "/subjects?subject=alice",
        "/orgs",
        "/orgs?org=acme",
        "/overrides",
        "/blocks",
        "/keys",
        "/policies",
        "/requests",
        "/sessions",
        "/sessions?id=nope",
        "/audit",
        "/login",
    ] {
        let r = respond(&a, &get(&format!("/admin/ui{path}"), Some(cookie))).await;
        assert_eq!(r.status(), 200, "{path}: {}", text(&r));
        let h = r.headers();
        assert_eq!(h[header::CONTENT_SECURITY_POLICY], super::CSP, "{path}");
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(h[header::REFERRER_POLICY], "no-referrer");
        assert_eq!(h[header::CACHE_CONTROL], "no-store");
        assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
        assert!(
            !text(&r).contains(EDITOR),
            "{path}: the admin token is never rendered"
        );
        assert!(
            !text(&r).contains("style=\"") && !text(&r).contains("<script"),
            "{path}: nothing inline"
        );
    }
    let missing = super::api::Answer {
        status: StatusCode::NOT_FOUND,
        body: serde_json::json!({ "error": { "type": "not_found", "message": "no admin route" } }),
        text: String::new(),
    };
    let shown = super::html::answered(&missing, "Spend", |_| maud::html! { "never" }).into_string();
    assert!(
        shown.contains("not available"),
        "an endpoint this build lacks is said so: {shown}"
    );

    let logout = {
        let (cookie, csrf) = login(&a, EDITOR).await;
        let r = respond(
            &a,
            &post(
                "/admin/ui/logout",
                Some(&cookie),
                &format!("csrf={csrf}"),
                &[],
            ),
        )
        .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(
            r.headers()[header::SET_COOKIE]
                .to_str()
                .unwrap()
                .contains("Max-Age=0")
        );
        cookie
    };
    let r = respond(&a, &get("/admin/ui", Some(&logout))).await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "a closed session is gone"
    );
}

#[tokio::test]
async fn cross_site_writes_and_missing_or_wrong_csrf_tokens_are_refused_and_change_nothing() {
    let a = test_admin();
    let (cookie, csrf) = login(&a, EDITOR).await;
    let form = format!("csrf={csrf}&kind=subject&value=alice&reason=leaked");
    for (why, form, headers) in [
        (
            "cross-site",
            form.as_str(),
            vec![("sec-fetch-site", "cross-site")],
        ),
        (
            "same-site",
            form.as_str(),
            vec![("sec-fetch-site", "same-site")],
        ),
        (
            "foreign Origin",
            form.as_str(),
            vec![("origin", "http://evil.example")],
        ),
        ("null Origin", form.as_str(), vec![("origin", "null")]),
        (
            "no CSRF token",
            "kind=subject&value=alice&reason=leaked",
            vec![],
        ),
        (
            "wrong CSRF token",
            "csrf=0000&kind=subject&value=alice&reason=leaked",
            vec![],
        ),
    ] {
        let r = respond(&a, &post("/admin/ui/block", Some(&cookie), form, &headers)).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{why}: {}", text(&r));
        assert!(text(&r).contains("Nothing was changed"), "{why}");
        assert_eq!(records(&a), 0, "{why}: nothing changed");
    }
    let r = respond(&a, &post("/admin/ui/block", None, &form, &[])).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "no session");
    assert_eq!(records(&a), 0);
    assert!(
        std::fs::read_to_string(a.audit.path())
            .unwrap_or_default()
            .is_empty(),
        "a refused form never reached the API"
    );

    // The same form from the page itself goes through, audited like the API call.
    let r = respond(
        &a,
        &post(
            "/admin/ui/block",
            Some(&cookie),
            &format!("{form}&back=/admin/ui/blocks"),
            &[("origin", "http://admin.local:9090")],
        ),
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", text(&r));
    assert_eq!(r.headers()[header::LOCATION], "/admin/ui/blocks");
    assert_eq!(records(&a), 1);
    let audit = std::fs::read_to_string(a.audit.path()).unwrap();
    assert!(audit.contains("\"what\":\"block.create\"") && audit.contains("\"who\":\"admin\""));
    let page = respond(&a, &get("/admin/ui/blocks", Some(&cookie))).await;
    assert!(
        text(&page).contains("is refused"),
        "the flash says what changed"
    );

    // A bad form is the API's 400 with its hint, and changes nothing.
    let r = respond(
        &a,
        &post(
            "/admin/ui/block",
            Some(&cookie),
            &format!("csrf={csrf}&kind=subject&value=bob"),
            &[("sec-fetch-site", "same-origin")],
        ),
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(text(&r).contains("`reason` is required"), "{}", text(&r));
    assert_eq!(records(&a), 1);
}

#[tokio::test]
async fn a_viewer_session_reads_but_its_changes_are_refused_and_audited() {
    let a = test_admin();
    let (cookie, csrf) = login(&a, VIEWER).await;
    let page = respond(&a, &get("/admin/ui/subjects?subject=alice", Some(&cookie))).await;
    assert_eq!(page.status(), 200);
    assert!(
        !text(&page).contains("Set override"),
        "no change forms for a viewer"
    );
    let r = respond(
        &a,
        &post(
            "/admin/ui/override",
            Some(&cookie),
            &format!(
                "csrf={csrf}&scope=subject&target=alice&limit=requests_per_minute&value=10&reason=x"
            ),
            &[("sec-fetch-site", "same-origin")],
        ),
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(text(&r).contains("is a viewer"), "{}", text(&r));
    assert_eq!(records(&a), 0);
    let audit = std::fs::read_to_string(a.audit.path()).unwrap();
    assert!(
        audit.contains("\"who\":\"oncall\"") && audit.contains("\"ok\":false"),
        "{audit}"
    );
}

#[tokio::test]
async fn values_from_requests_and_records_are_escaped() {
    let a = test_admin();
    let (cookie, csrf) = login(&a, EDITOR).await;
    let evil = "%3Cscript%3Ealert(1)%3C%2Fscript%3E";
    let r = respond(
        &a,
        &get(&format!("/admin/ui/subjects?subject={evil}"), Some(&cookie)),
    )
    .await;
    assert_eq!(r.status(), 200);
    let body = text(&r);
    assert!(!body.contains("<script>"), "{body}");
    assert!(body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));

    let r = respond(
        &a,
        &post(
            "/admin/ui/block",
            Some(&cookie),
            &format!("csrf={csrf}&kind=subject&value={evil}&reason=%22%3E%3Cimg%20src%3Dx%3E"),
            &[("sec-fetch-site", "same-origin")],
        ),
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let body = text(&respond(&a, &get("/admin/ui/blocks", Some(&cookie))).await);
    assert!(
        !body.contains("<script>") && !body.contains("<img"),
        "{body}"
    );
    assert!(body.contains("&lt;img src=x&gt;"));
}

#[tokio::test]
async fn a_new_key_token_is_shown_once_on_its_result_page_only() {
    let a = test_admin();
    let (cookie, csrf) = login(&a, EDITOR).await;
    let r = respond(
        &a,
        &post(
            "/admin/ui/key",
            Some(&cookie),
            &format!("csrf={csrf}&subject=ci-nightly&org=acme&budget_usd=20&description=nightly"),
            &[("sec-fetch-site", "same-origin")],
        ),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED, "{}", text(&r));
    let body = text(&r);
    let token = body
        .split("<code id=\"token\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap()
        .to_owned();
    assert!(token.len() > 40, "{token}");
    for path in ["/admin/ui/keys", "/admin/ui/audit", "/admin/ui"] {
        let page = text(&respond(&a, &get(path, Some(&cookie))).await);
        assert!(!page.contains(&token), "{path} never shows the token");
    }
    assert!(text(&respond(&a, &get("/admin/ui/keys", Some(&cookie))).await).contains("ci-nightly"));
}

#[test]
fn the_session_table_is_bounded_and_idle_sessions_end() {
    let table = Sessions::new(2, Duration::from_secs(3600));
    let role = gateway_config::AdminRole::Viewer;
    let first = table.open("t".into(), "a".into(), role);
    let second = table.open("t".into(), "a".into(), role);
    let third = table.open("t".into(), "a".into(), role);
    assert_eq!(table.len(), 2, "never more than the bound");
    assert!(table.touch(&third).is_some());
    assert!(
        table.touch(&first).is_none() || table.touch(&second).is_none(),
        "one was ended"
    );
    assert_ne!(first, second);

    let idle = Sessions::new(2, Duration::ZERO);
    let id = idle.open("t".into(), "a".into(), role);
    assert!(
        idle.touch(&id).is_none(),
        "past the idle expiry the session is gone"
    );
    assert!(table.touch("not-a-session").is_none());
}
