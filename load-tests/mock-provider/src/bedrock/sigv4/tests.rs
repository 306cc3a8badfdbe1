//! The verifier against the published AWS test-suite vector and the Bedrock path trap.

use http::HeaderValue;

use super::*;

/// The published AWS SigV4 test-suite signer (service `service`).
const SUITE: Signer<'static> = Signer {
    access_key_id: "AKIDEXAMPLE",
    secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    region: "us-east-1",
    service: "service",
};
/// 2015-08-30T12:36:00Z, the suite's signing time.
const SUITE_TIME: u64 = 1_440_938_160;

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(*name, HeaderValue::from_str(value).unwrap());
    }
    map
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// `aws-signing-test-suite/v4/post-vanilla`.
#[test]
fn the_aws_post_vanilla_vector_verifies_and_its_canonical_request_is_the_published_one() {
    let h = headers(&[
        ("host", "example.amazonaws.com"),
        ("x-amz-date", "20150830T123600Z"),
    ]);
    let request = Received {
        method: "POST",
        path_and_query: "/",
        headers: &h,
        authority: None,
        body: b"",
    };
    let auth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
                SignedHeaders=host;x-amz-date, \
                Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b";
    assert_eq!(verify(auth, &request, &SUITE, at(SUITE_TIME)), Ok(()));
    assert_eq!(
        canonical_request(&request, &["host".to_owned(), "x-amz-date".to_owned()]),
        "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\
         e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );

    let wrong = auth.replace("5da7c1a2", "5da7c1a3");
    assert!(matches!(
        verify(&wrong, &request, &SUITE, at(SUITE_TIME)),
        Err(Refusal::Mismatch { .. })
    ));
    let other_key = auth.replace("AKIDEXAMPLE", "AKIDOTHER");
    assert_eq!(
        verify(&other_key, &request, &SUITE, at(SUITE_TIME)),
        Err(Refusal::UnknownAccessKey)
    );
    let an_hour_later = at(SUITE_TIME + 3600);
    assert_eq!(
        verify(auth, &request, &SUITE, an_hour_later),
        Err(Refusal::Expired)
    );
    let other_region = Signer {
        region: "eu-west-1",
        ..SUITE
    };
    assert!(matches!(
        verify(auth, &request, &other_region, at(SUITE_TIME)),
        Err(Refusal::Scope(_))
    ));
    for broken in [
        "Bearer abc",
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request",
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
         SignedHeaders=x-amz-date;host, Signature=00",
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
         SignedHeaders=x-amz-date, Signature=00",
    ] {
        assert!(
            matches!(
                verify(broken, &request, &SUITE, at(SUITE_TIME)),
                Err(Refusal::Incomplete(_))
            ),
            "{broken}"
        );
    }
}

#[test]
fn the_received_path_is_encoded_once_more_and_host_may_come_from_the_authority() {
    let h = headers(&[
        ("content-type", "application/json"),
        ("x-amz-date", "20231114T221320Z"),
    ]);
    let request = Received {
        method: "POST",
        path_and_query: "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke",
        headers: &h,
        authority: Some("127.0.0.1:8080"),
        body: b"{}",
    };
    let signed = ["content-type", "host", "x-amz-date"].map(str::to_owned);
    let canonical = canonical_request(&request, &signed);
    assert!(
        canonical.starts_with(
            "POST\n/model/us.anthropic.claude-sonnet-4-5-20250929-v1%253A0/invoke\n\n\
             content-type:application/json\nhost:127.0.0.1:8080\n"
        ),
        "{canonical}"
    );
}

#[test]
fn query_pairs_are_sorted_and_header_values_trimmed() {
    let h = headers(&[("x-a", "  one   two "), ("x-a", "three")]);
    let request = Received {
        method: "GET",
        path_and_query: "/p?b=2&a=%7e&a=1",
        headers: &h,
        authority: None,
        body: b"",
    };
    let canonical = canonical_request(&request, &["x-a".to_owned()]);
    assert!(
        canonical.starts_with("GET\n/p\na=1&a=~&b=2\nx-a:one two,three\n\nx-a\n"),
        "{canonical}"
    );
}

#[test]
fn amz_dates_parse_to_their_instant() {
    assert_eq!(parse_amz_date("20231114T221320Z"), Some(at(1_700_000_000)));
    assert_eq!(parse_amz_date("20150830T123600Z"), Some(at(SUITE_TIME)));
    assert_eq!(parse_amz_date("20000229T000000Z"), Some(at(951_782_400)));
    for bad in ["2023-11-14", "20231314T000000Z", "20231114 221320Z", ""] {
        assert_eq!(parse_amz_date(bad), None, "{bad}");
    }
}
