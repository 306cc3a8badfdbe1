//! Cost of authenticating a request: cached (a repeat token, the common case: agents send the
//! same token every turn) and uncached (first sight: signature verification).
//!
//! Run: `cargo bench -p gateway-auth --bench verify`

#![expect(clippy::unwrap_used, clippy::expect_used, reason = "benchmark setup")]

use std::{hint::black_box, num::NonZeroU32, sync::Arc, time::Duration};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use gateway_auth::{Authenticator, FetchError, FetchFuture, FetchRequest, HttpFetch};
use gateway_config::{Auth, AuthLimits, ClaimNames, Jwt, StaticKey};
use gateway_core::Secret;
use gateway_testkit::jwt::{self, SigningKey};
use http::HeaderMap;
use sha2::Digest;

#[derive(Debug)]
struct NoNetwork;

impl HttpFetch for NoNetwork {
    fn fetch(&self, _: FetchRequest) -> FetchFuture<'_> {
        Box::pin(async { Err(FetchError("offline".into())) })
    }
}

fn config(jwks_file: std::path::PathBuf) -> Auth {
    Auth {
        keys: vec![StaticKey {
            id: "key-ci-bot".into(),
            sha256: sha2::Sha256::digest(b"static-key").into(),
            subject: "ci-bot".into(),
            org: None,
            plan: None,
        }],
        jwt: Some(Jwt {
            hs256_secret: Some(Secret::new(jwt::HS256_SECRET.as_bytes().to_vec())),
            jwks_file: Some(jwks_file),
            jwks_url: None,
            issuer: Some(jwt::ISSUER.into()),
            audience: Some(jwt::AUDIENCE.into()),
            algorithms: vec!["RS256".into(), "ES256".into(), "EdDSA".into()],
            leeway: Duration::from_secs(30),
            jwks_refresh: Duration::from_secs(3600),
            jwks_refetch_min_interval: Duration::from_secs(3600),
            claims: ClaimNames::default(),
        }),
        introspection: None,
        limits: AuthLimits {
            failed_attempts_per_minute: NonZeroU32::new(1000).unwrap(),
            ..AuthLimits::default()
        },
    }
}

fn bearer(token: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("authorization", format!("Bearer {token}").parse().unwrap());
    h
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (rsa, ec, ed) = (
        SigningKey::rsa("r"),
        SigningKey::ec("e"),
        SigningKey::ed("d"),
    );
    let file = std::env::temp_dir().join(format!(
        "llm-gateway-bench-jwks-{}.json",
        std::process::id()
    ));
    std::fs::write(&file, jwt::jwks(&[&rsa, &ec, &ed])).unwrap();
    let claims = jwt::claims("bench");
    let tokens = [
        ("static_key", "static-key".to_owned()),
        (
            "jwt_hs256",
            jwt::hs256(jwt::HS256_SECRET.as_bytes(), &claims),
        ),
        ("jwt_rs256", rsa.sign(&claims)),
        ("jwt_es256", ec.sign(&claims)),
        ("jwt_eddsa", ed.sign(&claims)),
    ];
    let fresh = || {
        let a = Arc::new(Authenticator::new(
            &config(file.clone()),
            Arc::new(NoNetwork),
        ));
        rt.block_on(a.start());
        a
    };

    let mut group = c.benchmark_group("authenticate");
    let shared = fresh();
    for (name, token) in &tokens {
        let headers = bearer(token);
        rt.block_on(shared.authenticate(&headers, None))
            .expect("valid");
        group.bench_function(format!("{name}/cached"), |b| {
            b.iter(|| {
                rt.block_on(shared.authenticate(black_box(&headers), None))
                    .unwrap()
            })
        });
        group.bench_function(format!("{name}/uncached"), |b| {
            b.iter_batched(
                fresh,
                |a| {
                    rt.block_on(a.authenticate(black_box(&headers), None))
                        .unwrap()
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
