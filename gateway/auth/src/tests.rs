use std::{net::IpAddr, num::NonZeroU32, sync::Arc, time::Duration};

use gateway_config::{Auth, AuthLimits, ClaimNames, Jwt, StaticKey};
use gateway_core::{ErrorKind, GatewayError, Secret};
use http::HeaderMap;
use sha2::Digest;

use super::*;

#[derive(Debug)]
struct NoNetwork;

impl HttpFetch for NoNetwork {
    fn fetch(&self, _: FetchRequest) -> FetchFuture<'_> {
        Box::pin(async { Err(FetchError("no network in unit tests".into())) })
    }
}

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef-test";

fn config(burst: u32) -> Auth {
    let key = |token: &str, subject: &str| StaticKey {
        id: format!("key-{subject}"),
        sha256: sha2::Sha256::digest(token.as_bytes()).into(),
        subject: subject.to_owned(),
        org: Some("acme".into()),
        plan: None,
    };
    Auth {
        keys: vec![key("good-token", "alice"), key("other-token", "bob")],
        jwt: Some(Jwt {
            hs256_secret: Some(Secret::new(SECRET.to_vec())),
            jwks_file: None,
            jwks_url: None,
            issuer: Some("https://login.example.com".into()),
            audience: Some("llm-gateway".into()),
            algorithms: vec!["RS256".into()],
            leeway: Duration::from_secs(5),
            jwks_refresh: Duration::from_secs(300),
            jwks_refetch_min_interval: Duration::from_secs(10),
            claims: ClaimNames::default(),
        }),
        introspection: None,
        limits: AuthLimits {
            failed_attempts_per_minute: NonZeroU32::new(60).unwrap(),
            failed_attempts_burst: NonZeroU32::new(burst).unwrap(),
            ..AuthLimits::default()
        },
    }
}

fn authenticator(burst: u32) -> Authenticator {
    Authenticator::new(&config(burst), Arc::new(NoNetwork))
}

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(*k, v.parse().unwrap());
    }
    h
}

fn bearer(token: &str) -> HeaderMap {
    headers(&[("authorization", &format!("Bearer {token}"))])
}

fn mint(ttl: Duration, issuer: &str, max_usd: Option<f64>) -> String {
    mint_hs256(
        &Secret::new(SECRET.to_vec()),
        &MintRequest {
            subject: "carol".into(),
            org: Some("acme".into()),
            plan: Some("pro".into()),
            ttl,
            max_usd,
            issuer: Some(issuer.into()),
            audience: Some("llm-gateway".into()),
            claims: ClaimNames::default(),
        },
    )
    .unwrap()
}

const ISS: &str = "https://login.example.com";

#[tokio::test]
async fn bearer_or_api_key_identifies_the_subject() {
    let a = authenticator(100);
    let p = a.authenticate(&bearer("good-token"), None).await.unwrap();
    assert_eq!(
        (p.subject.as_str(), p.org.as_deref()),
        ("alice", Some("acme"))
    );
    let p = a
        .authenticate(&headers(&[("x-api-key", "other-token")]), None)
        .await
        .unwrap();
    assert_eq!(p.subject, "bob");
    let same = headers(&[
        ("authorization", "Bearer other-token"),
        ("x-api-key", "other-token"),
    ]);
    assert_eq!(a.authenticate(&same, None).await.unwrap().subject, "bob");
}

#[tokio::test]
async fn two_different_credentials_are_refused_even_if_one_is_valid() {
    let a = authenticator(100);
    let both = headers(&[
        ("authorization", "Bearer good-token"),
        ("x-api-key", "other-token"),
    ]);
    assert_eq!(
        a.authenticate(&both, None).await,
        Err(AuthError::Conflicting)
    );
}

#[tokio::test]
async fn missing_and_wrong_credentials_are_told_apart() {
    let a = authenticator(100);
    assert_eq!(
        a.authenticate(&HeaderMap::new(), None).await,
        Err(AuthError::Missing)
    );
    assert_eq!(
        a.authenticate(&headers(&[("authorization", "Basic Zm9vOmJhcg==")]), None)
            .await,
        Err(AuthError::Missing)
    );
    assert_eq!(
        a.authenticate(&headers(&[("x-api-key", "good-tokenx")]), None)
            .await,
        Err(AuthError::Invalid)
    );
}

#[tokio::test]
async fn minted_hs256_tokens_carry_the_principal_and_run_budget() {
    let a = authenticator(100);
    let token = mint(Duration::from_secs(3600), ISS, Some(2.5));
    let p = a.authenticate(&bearer(&token), None).await.unwrap();
    assert_eq!(p.subject, "carol");
    assert_eq!(p.plan.as_deref(), Some("pro"));
    assert_eq!(p.run_budget_micro_usd, Some(2_500_000));
    assert!(p.token_id.is_some());
}

#[tokio::test]
async fn expired_wrong_issuer_and_alg_none_are_refused_with_their_reason() {
    let a = authenticator(100);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let expired = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &serde_json::json!({"sub": "carol", "iss": ISS, "aud": "llm-gateway", "exp": now - 60}),
        &jsonwebtoken::EncodingKey::from_secret(SECRET),
    )
    .unwrap();
    let e = a.authenticate(&bearer(&expired), None).await;
    assert!(matches!(e, Err(AuthError::Expired { .. })), "{e:?}");
    let mut parts: Vec<String> = expired.split('.').map(str::to_owned).collect();
    assert_eq!(
        a.authenticate(
            &bearer(&mint(Duration::from_secs(60), "https://evil.example", None)),
            None
        )
        .await,
        Err(AuthError::WrongIssuer)
    );
    // alg: none with the payload of a valid token.
    parts[0] = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0".into();
    parts[2] = String::new();
    assert_eq!(
        a.authenticate(&bearer(&parts.join(".")), None).await,
        Err(AuthError::DisallowedAlgorithm)
    );
}

#[tokio::test]
async fn the_failed_attempt_limiter_trips_but_never_blocks_a_valid_token() {
    let a = authenticator(3);
    let ip: IpAddr = "192.0.2.7".parse().unwrap();
    for _ in 0..3 {
        assert_eq!(
            a.authenticate(&bearer("nope"), Some(ip)).await,
            Err(AuthError::Invalid)
        );
    }
    let e = a.authenticate(&bearer("nope"), Some(ip)).await.unwrap_err();
    let AuthError::RateLimited { retry_after } = e else {
        panic!("{e:?}")
    };
    assert!(retry_after > Duration::ZERO && retry_after <= Duration::from_secs(1));
    assert!(matches!(
        a.authenticate(&bearer("another-unknown"), Some(ip)).await,
        Err(AuthError::RateLimited { .. })
    ));
    let jwt = mint(Duration::from_secs(60), ISS, None);
    assert_eq!(
        a.authenticate(&bearer(&jwt), Some(ip))
            .await
            .unwrap()
            .subject,
        "carol"
    );
    assert_eq!(
        a.authenticate(&bearer("good-token"), Some(ip))
            .await
            .unwrap()
            .subject,
        "alice"
    );
    let other: IpAddr = "192.0.2.8".parse().unwrap();
    assert_eq!(
        a.authenticate(&bearer("nope"), Some(other)).await,
        Err(AuthError::Invalid)
    );
    let counts: std::collections::HashMap<_, _> = a.failure_counts().into_iter().collect();
    assert_eq!(counts["invalid"], 4);
    assert_eq!(counts["rate_limited"], 2);
}

#[test]
fn refusal_messages_never_echo_the_token_and_map_to_status() {
    for e in [
        AuthError::Missing,
        AuthError::Invalid,
        AuthError::Conflicting,
    ] {
        let g = GatewayError::from(e);
        assert_eq!(g.kind(), ErrorKind::Authentication);
    }
    let g = GatewayError::from(AuthError::Expired {
        at: std::time::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
    });
    assert!(
        g.message().contains("2027-01-15T08:00:00Z"),
        "{}",
        g.message()
    );
    let g = GatewayError::from(AuthError::RateLimited {
        retry_after: Duration::from_secs(3),
    });
    assert_eq!(g.kind(), ErrorKind::RateLimited);
    assert_eq!(
        GatewayError::from(AuthError::Unavailable).kind(),
        ErrorKind::Unavailable
    );
}
