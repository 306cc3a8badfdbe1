use std::{
    cell::Cell,
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, UNIX_EPOCH},
};

use gateway_config::ServiceAccount;
use gateway_core::Secret;
use tokio::time::Instant;

use super::*;

/// The mock provider's test service account (a published test key, not a secret).
const PRIVATE_PEM: &str = include_str!(
    "../../../../../load-tests/mock-provider/fixtures/vertex-test-service-account.pem"
);
const PUBLIC_PEM: &str = include_str!(
    "../../../../../load-tests/mock-provider/fixtures/vertex-test-service-account.pub.pem"
);

fn account() -> ServiceAccount {
    ServiceAccount {
        client_email: "gateway@test-project.iam.gserviceaccount.com".to_owned(),
        private_key: Secret::new(PRIVATE_PEM.to_owned()),
        token_uri: url::Url::parse("http://127.0.0.1:9/token").unwrap(),
    }
}

#[test]
fn the_assertion_is_an_rs256_jwt_for_the_token_uri_with_the_cloud_platform_scope() {
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(PRIVATE_PEM.as_bytes()).unwrap();
    let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let jwt = assertion(&account(), &key, now).unwrap();
    let decoding = jsonwebtoken::DecodingKey::from_rsa_pem(PUBLIC_PEM.as_bytes()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.validate_exp = false;
    validation.set_audience(&["http://127.0.0.1:9/token"]);
    let claims = jsonwebtoken::decode::<Claims>(jwt.expose(), &decoding, &validation)
        .unwrap()
        .claims;
    assert_eq!(
        claims,
        Claims {
            iss: "gateway@test-project.iam.gserviceaccount.com".to_owned(),
            scope: "https://www.googleapis.com/auth/cloud-platform".to_owned(),
            aud: "http://127.0.0.1:9/token".to_owned(),
            iat: 1_800_000_000,
            exp: 1_800_003_600,
        }
    );
    assert!(
        claims.exp - claims.iat <= 3600,
        "Google allows at most an hour"
    );
}

#[test]
fn an_answer_without_a_usable_token_is_malformed() {
    let fresh =
        parse_answer(br#"{"access_token":"ya29.x","expires_in":3599,"token_type":"Bearer"}"#)
            .unwrap();
    assert_eq!(fresh.token.expose(), "ya29.x");
    assert_eq!(fresh.expires_in, Duration::from_secs(3599));
    for bad in [
        &b"{}"[..],
        br#"{"access_token":""}"#,
        br#"{"access_token":"a b"}"#,
        b"<html>",
    ] {
        assert_eq!(parse_answer(bad).unwrap_err(), TokenError::Malformed);
    }
}

fn fresh(token: &str, secs: u64) -> Result<Fresh, TokenError> {
    Ok(Fresh {
        token: Secret::new(token.to_owned()),
        expires_in: Duration::from_secs(secs),
    })
}

#[tokio::test]
async fn a_token_is_reused_until_the_margin_before_it_expires_then_exchanged_again() {
    let cache = TokenCache::default();
    let start = Instant::now();
    let clock = Cell::new(start);
    let exchanges = AtomicUsize::new(0);
    let get = |name: &'static str| {
        exchanges.fetch_add(1, Ordering::SeqCst);
        async move { fresh(name, 300) }
    };
    let t = cache.token(|| clock.get(), || get("one")).await.unwrap();
    assert_eq!(t.expose(), "one");
    // Just before 300 s − the margin: still the cached token, no exchange.
    clock.set(start + Duration::from_secs(300) - TOKEN_REFRESH_MARGIN - Duration::from_millis(1));
    let t = cache.token(|| clock.get(), || get("two")).await.unwrap();
    assert_eq!(
        (t.expose().as_str(), exchanges.load(Ordering::SeqCst)),
        ("one", 1)
    );
    // At it: exchanged again.
    clock.set(start + Duration::from_secs(300) - TOKEN_REFRESH_MARGIN);
    let t = cache.token(|| clock.get(), || get("two")).await.unwrap();
    assert_eq!(
        (t.expose().as_str(), exchanges.load(Ordering::SeqCst)),
        ("two", 2)
    );
    // A token claiming a day is kept at most TOKEN_LIFETIME_MAX.
    cache.forget().await;
    let base = clock.get();
    cache
        .token(|| clock.get(), || async { fresh("long", 86_400) })
        .await
        .unwrap();
    clock.set(base + TOKEN_LIFETIME_MAX - TOKEN_REFRESH_MARGIN);
    let t = cache.token(|| clock.get(), || get("three")).await.unwrap();
    assert_eq!(t.expose(), "three");
}

#[tokio::test]
async fn a_failed_exchange_is_not_cached_and_waiters_share_one_exchange() {
    let cache = TokenCache::default();
    let err = cache
        .token(Instant::now, || async { Err(TokenError::Refused(400)) })
        .await
        .unwrap_err();
    assert_eq!(err, TokenError::Refused(400));
    // The next request tries again.
    let t = cache
        .token(Instant::now, || async { fresh("ok", 300) })
        .await
        .unwrap();
    assert_eq!(t.expose(), "ok");

    // Two requests while the token is stale: one exchange, whose failure both get.
    cache.forget().await;
    let exchanges = AtomicUsize::new(0);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let first = cache.token(Instant::now, || {
        exchanges.fetch_add(1, Ordering::SeqCst);
        async move {
            drop(rx.await);
            Err(TokenError::Unreachable("timeout"))
        }
    });
    let second = cache.token(Instant::now, || {
        exchanges.fetch_add(1, Ordering::SeqCst);
        async { fresh("second", 300) }
    });
    let (a, b, ()) = tokio::join!(first, second, async {
        assert!(tx.send(()).is_ok());
    });
    assert_eq!(a.unwrap_err(), TokenError::Unreachable("timeout"));
    assert_eq!(b.unwrap_err(), TokenError::Unreachable("timeout"));
    assert_eq!(exchanges.load(Ordering::SeqCst), 1, "single flight");
}
