//! Every list screen is one API page with offset/limit links; a page past the first links back.

use bytes::Bytes;
use http::{Method, Request, header};

use super::tests::{get, login, text};
use crate::respond;
use crate::tests::test_admin;

#[tokio::test]
async fn list_screens_page_server_side_with_offset_links() {
    let a = test_admin();
    for i in 0..3 {
        let body = format!(r#"{{"kind":"subject","value":"user-{i}","reason":"paging"}}"#);
        let req = Request::builder()
            .method(Method::POST)
            .uri("/admin/blocks")
            .header(header::AUTHORIZATION, "Bearer edit-token")
            .body(Bytes::from(body))
            .unwrap();
        assert_eq!(respond(&a, &req).await.status(), 201);
    }
    let (cookie, _) = login(&a, "edit-token").await;
    let first = text(&respond(&a, &get("/admin/ui/blocks?limit=2", Some(&cookie))).await);
    assert!(first.contains("1–2 of 3"), "{first}");
    assert!(
        first.contains("href=\"/admin/ui/blocks?offset=2&amp;limit=2\""),
        "{first}"
    );
    assert!(!first.contains("rel=\"prev\""));
    let second = text(&respond(&a, &get("/admin/ui/blocks?offset=2&limit=2", Some(&cookie))).await);
    assert!(second.contains("3–3 of 3"), "{second}");
    assert!(
        second.contains("href=\"/admin/ui/blocks?offset=0&amp;limit=2\""),
        "{second}"
    );
    assert!(!second.contains("rel=\"next\""));
    let far = respond(
        &a,
        &get(
            &format!("/admin/ui/blocks?offset={}", usize::MAX),
            Some(&cookie),
        ),
    )
    .await;
    assert_eq!(far.status(), 200, "an offset past the end is an empty page");
    let audit = text(&respond(&a, &get("/admin/ui/audit?limit=2", Some(&cookie))).await);
    assert!(
        audit.contains("1–2 of 3") && audit.contains("block.create"),
        "{audit}"
    );
}
