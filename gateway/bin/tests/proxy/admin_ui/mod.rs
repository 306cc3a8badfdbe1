//! The admin page in a real browser (Chromium over WebDriver) against the real binary and the
//! mock provider: log in (a wrong token refused), the session cookie's flags, a subject's
//! spend after real requests, an override from the page admitting the next request, a block
//! refusing it and its deletion admitting it again, a virtual key created on the page and
//! used, a session's transcript, a cross-site form refused, every screen rendered without a CSP violation, and the
//! audit log listing every change. Screenshots of each screen go to
//! `target/admin-ui-screenshots/`.

mod browser;

use std::path::PathBuf;

use fantoccini::{Client, Locator};
use gateway_testkit::{
    TestGatewayBuilder,
    http::{self, Reply, post_json},
    poll::poll_until,
};
use mock_provider::{MockConfig, MockProvider};

use super::{BEARER, WAIT};
use browser::Browser;

const ADMIN_TOKEN: &str = "ui-admin-token";
const TWO_A_MINUTE: &str = r#"
[[policy]]
name = "two-a-minute"
match = { subject = "*" }
requests_per_minute = 2
"#;
/// What one default mock answer costs on claude-sonnet-4-6, micro-USD.
const SONNET_CALL: u64 = 246;

fn policy_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("llm-gateway-ui-policies-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("test.toml"), TWO_A_MINUTE).unwrap();
    dir
}

fn gateway(mock: &MockProvider, dir: &std::path::Path) -> TestGatewayBuilder {
    super::gateway()
        .upstream(&mock.base_url())
        .env("GATEWAY__QUOTA__POLICIES_DIR", dir.to_str().unwrap())
        .env(
            "GATEWAY__ADMIN__TOKEN_SHA256",
            gateway_testkit::sha256_hex(ADMIN_TOKEN),
        )
}

fn message() -> String {
    serde_json::json!({"model": "claude-sonnet-4-6", "max_tokens": 100,
        "messages": [{"role": "user", "content": "Reply with hi"}]})
    .to_string()
}

async fn send(url: &str, credential: (&str, &str)) -> Reply {
    http::send(post_json(
        url,
        &[credential, ("anthropic-version", "2023-06-01")],
        &message(),
    ))
    .await
}

/// Waits until the page's source contains `text`, reloading `url` if given.
async fn see(c: &Client, url: Option<&str>, text: &str) -> String {
    poll_until(&format!("the page shows {text:?}"), WAIT, || async {
        if let Some(u) = url {
            c.goto(u).await.ok()?;
        }
        let source = c.source().await.ok()?;
        source.contains(text).then_some(source)
    })
    .await
}

/// Fills the form posting to `action` (`(field, value)` pairs) and submits it.
async fn submit(c: &Client, action: &str, fields: &[(&str, &str)]) {
    let form = c
        .find(Locator::Css(&format!("form[action=\"{action}\"]")))
        .await
        .unwrap_or_else(|e| panic!("a form posting to {action}: {e}"));
    for (name, value) in fields {
        let input = form
            .find(Locator::Css(&format!("[name=\"{name}\"]")))
            .await
            .unwrap_or_else(|e| panic!("{action} has a field {name}: {e}"));
        if input.html(false).await.unwrap().starts_with("<select") {
            input.select_by_value(value).await.unwrap();
        } else {
            input.clear().await.unwrap();
            input.send_keys(value).await.unwrap();
        }
    }
    form.find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// A console message reporting a CSP violation: older Chromium says "Refused to …", newer
/// "… violates the following Content Security Policy directive …".
fn csp_violation(message: &str) -> bool {
    message.contains("Refused to") || message.contains("Content Security Policy")
}

#[tokio::test]
async fn an_admin_runs_the_gateway_from_the_page_in_a_real_browser() {
    let Some(mut b) = Browser::start().await else {
        return;
    };
    let mock = MockProvider::start(MockConfig::default()).await.unwrap();
    let gw = gateway(&mock, &policy_dir()).start().await;
    let ui = |p: &str| gw.admin_url(&format!("/admin/ui{p}"));
    let proxy = gw.url("/v1/messages");
    let c = b.client.clone();

    // Login: no session goes to the login; a wrong token is refused; the right one opens a
    // session whose cookie JavaScript cannot read and no other site can send.
    c.goto(&ui("")).await.unwrap();
    assert!(
        c.current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/admin/ui/login")
    );
    b.shot("login").await;
    submit(&c, "/admin/ui/login", &[("token", "not-the-token")]).await;
    see(&c, None, "not an admin token").await;
    submit(&c, "/admin/ui/login", &[("token", ADMIN_TOKEN)]).await;
    see(&c, None, "<h1>Overview</h1>").await;
    let cookie = c.get_named_cookie("gw_admin_session").await.unwrap();
    assert_eq!(cookie.http_only(), Some(true), "{cookie:?}");
    assert_eq!(
        format!("{:?}", cookie.same_site()),
        "Some(Strict)",
        "{cookie:?}"
    );
    assert_eq!(cookie.path(), Some("/admin/ui"));

    // Real requests, then their spend on the page.
    let in_session = http::send(post_json(
        &proxy,
        &[BEARER, ("x-claude-code-session-id", "ui-session-1")],
        &message(),
    ))
    .await;
    assert_eq!(in_session.status, 200, "{}", in_session.text());
    assert_eq!(send(&proxy, BEARER).await.status, 200);
    assert_eq!(send(&proxy, BEARER).await.status, 429, "the file's limit");
    see(
        &c,
        Some(&ui("")),
        &format!("${:.6}", 2.0 * SONNET_CALL as f64 / 1e6),
    )
    .await;
    b.shot("overview").await;
    let subject = ui("/subjects?subject=developer");
    let page = see(&c, Some(&subject), "requests_per_minute").await;
    assert!(
        page.contains("two-a-minute"),
        "the policy in force is named"
    );
    b.shot("subject").await;

    // An override from the page admits the next request.
    submit(
        &c,
        "/admin/ui/override",
        &[
            ("limit", "requests_per_minute"),
            ("value", "10"),
            ("reason", "demo this afternoon"),
            ("expires_in", "2h"),
        ],
    )
    .await;
    see(&c, None, "Override ovr_").await;
    let reply = send(&proxy, BEARER).await;
    assert_eq!(
        reply.status,
        200,
        "the override is in force: {}",
        reply.text()
    );
    see(&c, Some(&subject), "override ovr_").await;

    // A block refuses the next request before the provider; deleting it admits again.
    submit(
        &c,
        "/admin/ui/block",
        &[("reason", "token posted in a public issue")],
    )
    .await;
    see(&c, None, "is refused").await;
    let hits = mock.hits("/v1/messages");
    assert_eq!(send(&proxy, BEARER).await.status, 403);
    assert_eq!(
        mock.hits("/v1/messages"),
        hits,
        "refused before the provider"
    );
    see(&c, Some(&ui("/blocks")), "token posted in a public issue").await;
    b.shot("blocks").await;
    submit(&c, "/admin/ui/block/delete", &[]).await;
    see(&c, None, "deleted.</p>").await;
    assert_eq!(send(&proxy, BEARER).await.status, 200);

    // A virtual key made on the page authenticates; its token is on the result page only.
    c.goto(&ui("/keys")).await.unwrap();
    submit(
        &c,
        "/admin/ui/key",
        &[
            ("subject", "ci-nightly"),
            ("org", "acme"),
            ("budget_usd", "1"),
            ("description", "nightly run"),
        ],
    )
    .await;
    see(&c, None, "shown this once").await;
    let token = c
        .find(Locator::Id("token"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let reply = send(&proxy, ("x-api-key", token.as_str())).await;
    assert_eq!(reply.status, 200, "the new key works: {}", reply.text());
    let page = see(&c, Some(&ui("/keys")), "nightly run").await;
    assert!(!page.contains(&token), "the key list never shows the token");
    b.shot("keys").await;

    // A form posted from another origin is refused and changes nothing.
    let blocks_before = http::send(http::bodyless(
        ::http::Method::GET,
        &gw.admin_url("/admin/blocks"),
        &[("authorization", &format!("Bearer {ADMIN_TOKEN}"))],
    ))
    .await
    .json()["total"]
        .clone();
    let evil = format!(
        "data:text/html,<form method=post action='{}'><input name=kind value=subject><input name=value value=developer><input name=reason value=x><button>go</button></form>",
        ui("/block")
    );
    c.goto(&evil).await.unwrap();
    c.find(Locator::Css("button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    see(&c, None, "Nothing was changed").await;
    let blocks_after = http::send(http::bodyless(
        ::http::Method::GET,
        &gw.admin_url("/admin/blocks"),
        &[("authorization", &format!("Bearer {ADMIN_TOKEN}"))],
    ))
    .await
    .json()["total"]
        .clone();
    assert_eq!(
        blocks_before, blocks_after,
        "the cross-site form changed nothing"
    );
    let _ = b.console().await; // the data: page's own messages are not the admin page's

    // Every other screen renders.
    for (path, shows, name) in [
        ("/orgs?org=acme", "Organisation limits", "org"),
        ("/overrides?export=1", "[[policy]]", "overrides"),
        ("/policies?subject=developer", "two-a-minute", "policies"),
        ("/requests", "ui-session-1", "requests"),
        ("/sessions?id=ui-session-1", "Reply with hi", "session"),
        ("/audit", "key.create", "audit"),
    ] {
        see(&c, Some(&ui(path)), shows).await;
        b.shot(name).await;
    }
    let audit = c.source().await.unwrap();
    for what in [
        "override.create",
        "block.create",
        "block.delete",
        "key.create",
    ] {
        assert!(audit.contains(what), "the audit page lists {what}");
    }

    // No screen broke the CSP; and the check sees a violation when there is one: an inline
    // style put on the page is refused by the browser and logged.
    let Some(messages) = b.console().await else {
        eprintln!("\n*** chromedriver exposes no console log: CSP violations NOT checked ***\n");
        b.close().await;
        return;
    };
    let refused: Vec<_> = messages.iter().filter(|m| csp_violation(m)).collect();
    assert!(refused.is_empty(), "CSP violations: {refused:?}");
    c.execute("document.body.setAttribute('style', 'color: red')", vec![])
        .await
        .unwrap();
    let messages = poll_until(
        "the browser logs the refused inline style",
        WAIT,
        || async {
            let m = b.console().await?;
            m.iter().any(|m| csp_violation(m)).then_some(m)
        },
    )
    .await;
    assert!(!messages.is_empty());
    b.close().await;
}
