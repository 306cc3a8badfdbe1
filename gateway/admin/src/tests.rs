//! The admin route table and answers, against a memory quota store.

use std::sync::Arc;

use gateway_quota::{MemoryStore, Store};

use super::*;

#[derive(Debug)]
struct State {
    store: Arc<dyn Store>,
    problems: Vec<&'static str>,
    /// The audit log's directory, removed when the admin (which holds this state) goes.
    _audit_dir: tempfile::TempDir,
}

impl AdminState for State {
    fn problems(&self) -> Vec<&'static str> {
        self.problems.clone()
    }
    fn before_scrape(&self) {}
    fn breakers(&self) -> Vec<(String, &'static str)> {
        vec![("anthropic/claude-sonnet-4-6".to_owned(), "open")]
    }
    fn quota_store(&self) -> &Arc<dyn Store> {
        &self.store
    }
    fn store_errors(&self) -> u64 {
        7
    }
    fn policy_for(&self, _who: &gateway_core::Principal) -> Option<Arc<gateway_policy::Policy>> {
        None
    }
    fn policies(&self) -> (Arc<gateway_policy::PolicySet>, Option<RefusedReload>) {
        (Arc::new(gateway_policy::PolicySet::empty()), None)
    }
}

fn admin(problems: Vec<&'static str>, token: Option<&str>) -> Admin {
    let runtime = futures_lite_block(gateway_runtime_state::RuntimeState::load(Arc::new(
        gateway_runtime_state::MemoryState::default(),
    )))
    .unwrap();
    let audit_dir = tempfile::Builder::new()
        .prefix("gw-admin-test-")
        .tempdir()
        .unwrap();
    let audit = AuditLog::open(&audit_dir.path().join("audit.jsonl"));
    Admin {
        state: Arc::new(State {
            store: Arc::new(MemoryStore::default()),
            problems,
            _audit_dir: audit_dir,
        }),
        readiness: Readiness::new(
            vec!["anthropic"],
            vec![("openai".to_owned(), "OPENAI_API_KEY is not set".to_owned())],
        ),
        metrics: Arc::new(Metrics::new().unwrap()),
        tokens: token
            .map(|t| AdminToken {
                id: "admin".to_owned(),
                sha256: sha2::Sha256::digest(t.as_bytes()).into(),
                role: AdminRole::Editor,
            })
            .into_iter()
            .collect(),
        runtime: Arc::new(runtime),
        audit,
        recent: Arc::new(RecentRequests::default()),
        transcripts_dir: None,
        stale: StaleOverrides::default(),
    }
}

/// Runs a future that completes without waiting (the memory state answers at once).
fn futures_lite_block<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("the memory state never waits"),
    }
}

fn req(method: Method, path: &str, token: Option<&str>) -> Request<Bytes> {
    let mut b = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    b.body(Bytes::new()).unwrap()
}

pub(super) fn body(r: &Response<Bytes>) -> serde_json::Value {
    serde_json::from_slice(r.body()).unwrap()
}

#[tokio::test]
async fn readiness_turns_unready_when_draining_or_a_component_reports_a_problem() {
    let a = admin(vec![], None);
    let r = respond(&a, &req(Method::GET, "/readyz", None)).await;
    assert_eq!(
        r.status(),
        200,
        "a keyless upstream is listed, not a reason to be unready; nor is an open breaker"
    );
    assert_eq!(
        body(&r)["checks"]["breakers"]["anthropic/claude-sonnet-4-6"],
        "open"
    );
    assert_eq!(
        body(&r)["checks"]["unconfigured_upstreams"]["openai"],
        "OPENAI_API_KEY is not set"
    );
    a.readiness.set_draining();
    let r = respond(&a, &req(Method::GET, "/readyz", None)).await;
    assert_eq!(r.status(), 503);
    assert_eq!(body(&r)["checks"]["draining"], true);
    assert_eq!(
        respond(&a, &req(Method::HEAD, "/healthz", None))
            .await
            .status(),
        200
    );

    let a = admin(vec!["quota store unreachable"], None);
    let r = respond(&a, &req(Method::GET, "/readyz", None)).await;
    assert_eq!(r.status(), 503);
    assert_eq!(body(&r)["problems"][0], "quota store unreachable");
}

#[tokio::test]
async fn usage_is_get_only_and_needs_the_admin_token() {
    let a = admin(vec![], Some("adm1n-token"));
    let r = respond(&a, &req(Method::GET, "/admin/usage/alice", None)).await;
    assert_eq!(r.status(), 401);
    let r = respond(&a, &req(Method::GET, "/admin/usage/alice", Some("wrong"))).await;
    assert_eq!(r.status(), 401);
    let r = respond(
        &a,
        &req(Method::GET, "/admin/usage/al%40ce", Some("adm1n-token")),
    )
    .await;
    assert_eq!(r.status(), 200);
    let v = body(&r);
    assert_eq!(v["subject"], "al@ce");
    assert_eq!(v["store_errors"], 7);
    for m in [Method::POST, Method::DELETE, Method::HEAD] {
        let r = respond(
            &a,
            &req(m.clone(), "/admin/usage/alice", Some("adm1n-token")),
        )
        .await;
        assert_eq!(r.status(), 405, "{m}");
        assert_eq!(r.headers()[header::ALLOW], "GET");
    }
    let off = admin(vec![], None);
    let r = respond(&off, &req(Method::GET, "/admin/usage/alice", Some("x"))).await;
    assert_eq!(r.status(), 404);
    assert!(
        body(&r)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("token_sha256")
    );
}

#[tokio::test]
async fn metrics_are_text_and_unknown_routes_say_what_exists() {
    let a = admin(vec![], None);
    let r = respond(&a, &req(Method::GET, "/metrics", None)).await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let r = respond(&a, &req(Method::POST, "/metrics", None)).await;
    assert_eq!(r.status(), 405);
    let r = respond(&a, &req(Method::GET, "/nope", None)).await;
    assert_eq!(r.status(), 404);
    assert!(
        body(&r)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/healthz")
    );
    assert_eq!(route(&Method::GET, "/admin/usage/"), Route::NotFound);
}

#[test]
fn any_configured_token_authorizes_and_a_viewer_cannot_change() {
    let mut a = admin(vec![], Some("edit-token"));
    a.tokens.push(AdminToken {
        id: "oncall".to_owned(),
        sha256: sha2::Sha256::digest(b"view-token").into(),
        role: AdminRole::Viewer,
    });
    let headers = |t: &str| req(Method::GET, "/", Some(t)).headers().clone();
    let viewer = authorized(&a, &headers("view-token"), AdminRole::Viewer).unwrap();
    assert_eq!(viewer.id, "oncall");
    let refused = authorized(&a, &headers("view-token"), AdminRole::Editor).unwrap_err();
    assert_eq!(refused.status(), 403);
    assert!(
        body(&refused)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("oncall")
    );
    let editor = authorized(&a, &headers("edit-token"), AdminRole::Editor).unwrap();
    assert_eq!(editor.id, "admin");
    let unknown = authorized(&a, &headers("guess"), AdminRole::Viewer).unwrap_err();
    assert_eq!(unknown.status(), 401);
    assert!(!String::from_utf8_lossy(unknown.body()).contains("guess"));
}

/// An admin with an editor (`edit-token`, id `admin`) and a viewer (`view-token`, id `oncall`).
pub(super) fn test_admin() -> Admin {
    let mut a = admin(vec![], Some("edit-token"));
    a.tokens.push(AdminToken {
        id: "oncall".to_owned(),
        sha256: sha2::Sha256::digest(b"view-token").into(),
        role: AdminRole::Viewer,
    });
    a
}
