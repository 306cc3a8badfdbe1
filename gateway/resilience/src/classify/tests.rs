use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderValue};

use super::*;

fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(*k, HeaderValue::from_static(v));
    }
    h
}

fn status(code: u16, h: &HeaderMap, body: &str) -> Class {
    classify(
        Observed::Status {
            status: code,
            headers: h,
            body: body.as_bytes(),
        },
        SystemTime::UNIX_EPOCH,
    )
}

#[test]
fn overloads_and_server_errors_are_retried_with_the_providers_wait() {
    let none = HeaderMap::new();
    for code in [500, 502, 503, 504, 529] {
        assert!(
            matches!(status(code, &none, "{}"), Class::Retry { after: None, .. }),
            "{code}"
        );
    }
    let h = headers(&[("retry-after", "2"), ("retry-after-ms", "1500")]);
    assert_eq!(
        status(529, &h, "{}"),
        Class::Retry {
            reason: "status_529",
            after: Some(Duration::from_millis(1500))
        }
    );
    let h = headers(&[("retry-after", "0.5")]);
    assert!(matches!(
        status(503, &h, "{}"),
        Class::Retry { after: Some(d), .. } if d == Duration::from_millis(500)
    ));
}

#[test]
fn other_client_errors_and_should_retry_false_stand() {
    let none = HeaderMap::new();
    for code in [400, 404, 413, 422] {
        assert_eq!(status(code, &none, "{}"), Class::Terminal, "{code}");
    }
    let thinking = r#"{"type":"error","error":{"type":"invalid_request_error","message":"messages.1.content.0: Invalid `signature` in `thinking` block"}}"#;
    assert_eq!(status(400, &none, thinking), Class::Terminal);
    let no = headers(&[("x-should-retry", "false")]);
    assert_eq!(status(529, &no, "{}"), Class::Terminal);
    let yes = headers(&[("x-should-retry", "true")]);
    assert!(matches!(status(409, &yes, "{}"), Class::Retry { .. }));
}

#[test]
fn key_problems_revoke_the_key() {
    let none = HeaderMap::new();
    assert_eq!(
        status(401, &none, "{}"),
        Class::Revoked {
            reason: "unauthorized"
        }
    );
    assert_eq!(
        status(403, &none, "{}"),
        Class::Revoked {
            reason: "forbidden"
        }
    );
    let spend = r#"{"type":"error","error":{"type":"rate_limit_error","message":"spend limit","details":{"error_code":"enforced_spend_limit_reached"}}}"#;
    assert_eq!(
        status(429, &none, spend),
        Class::Revoked {
            reason: "spend_limit"
        }
    );
}

#[test]
fn a_rate_limited_key_cools_only_as_long_as_the_provider_says() {
    let none = HeaderMap::new();
    assert_eq!(
        status(429, &none, "{}"),
        Class::RateLimited { cooldown: None },
        "no signal, no invented wait"
    );
    let h = headers(&[("retry-after", "7")]);
    assert_eq!(
        status(429, &h, "{}"),
        Class::RateLimited {
            cooldown: Some(Duration::from_secs(7))
        }
    );
    // The exhausted limit's reset wins over a later one that still has room.
    let h = headers(&[
        ("anthropic-ratelimit-tokens-remaining", "0"),
        ("anthropic-ratelimit-tokens-reset", "1970-01-01T00:00:30Z"),
        ("anthropic-ratelimit-requests-remaining", "12"),
        ("anthropic-ratelimit-requests-reset", "1970-01-01T00:01:00Z"),
    ]);
    assert_eq!(
        cooldown(&h, SystemTime::UNIX_EPOCH),
        Some(Duration::from_secs(30))
    );
    let h = headers(&[(
        "anthropic-ratelimit-requests-reset",
        "1970-01-01T00:00:05.5Z",
    )]);
    assert_eq!(
        cooldown(&h, SystemTime::UNIX_EPOCH),
        Some(Duration::from_millis(5500))
    );
}

#[test]
fn error_events_before_commit_are_judged_by_their_type() {
    let event = |t: &str| {
        let data = format!(r#"{{"type":"error","error":{{"type":"{t}","message":"m"}}}}"#);
        classify(
            Observed::ErrorEvent {
                data: data.as_bytes(),
            },
            SystemTime::UNIX_EPOCH,
        )
    };
    assert!(matches!(event("overloaded_error"), Class::Retry { .. }));
    assert!(matches!(event("api_error"), Class::Retry { .. }));
    assert_eq!(
        event("rate_limit_error"),
        Class::RateLimited { cooldown: None }
    );
    assert_eq!(event("invalid_request_error"), Class::Terminal);
}

#[test]
fn transport_failures_are_retried() {
    for t in [
        Transport::Connect,
        Transport::Timeout,
        Transport::Stall,
        Transport::Broken,
    ] {
        assert!(matches!(
            classify(Observed::Failed(t, Phase::Head), SystemTime::UNIX_EPOCH),
            Class::Retry { after: None, .. }
        ));
    }
}

#[test]
fn only_failures_after_sending_are_possibly_billed() {
    let none = HeaderMap::new();
    let sent = [
        (Transport::Timeout, "timeout"),
        (Transport::Stall, "stall"),
        (Transport::Broken, "broken"),
    ];
    for (t, label) in sent {
        assert_eq!(
            Observed::Failed(t, Phase::Head).possibly_billed(),
            Some(label)
        );
    }
    let event = Observed::ErrorEvent {
        data: br#"{"type":"error","error":{"type":"overloaded_error"}}"#,
    };
    assert_eq!(event.possibly_billed(), Some("error_event"));
    let status = Observed::Status {
        status: 529,
        headers: &none,
        body: b"{}",
    };
    for unbilled in [
        Observed::Failed(Transport::Connect, Phase::Head),
        status,
        Observed::Skipped("unmapped_model"),
        Observed::Committed,
    ] {
        assert_eq!(unbilled.possibly_billed(), None, "{unbilled:?}");
    }
}
