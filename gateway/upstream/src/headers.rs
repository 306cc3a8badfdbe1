//! Which headers cross the proxy, in each direction.

use gateway_core::Secret;
use http::{HeaderMap, HeaderName, HeaderValue, header};

use gateway_core::Provider;

/// Hop-by-hop headers (RFC 9110 §7.6.1 and the classic proxy list): they describe one
/// connection and never cross a proxy.
const HOP_BY_HOP: &[HeaderName] = &[
    header::CONNECTION,
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// Non-standard hop-by-hop headers still sent by some clients.
const HOP_BY_HOP_LEGACY: &[&str] = &["keep-alive", "proxy-connection"];

/// Anthropic's key header (names as constants: a `&str` name is parsed on every use).
const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");
/// Anthropic's API version header.
const ANTHROPIC_VERSION: HeaderName = HeaderName::from_static("anthropic-version");

/// The version Anthropic requires; sent only when the client sent none.
const DEFAULT_ANTHROPIC_VERSION: &str = "2023-06-01";

/// Headers that are the client's credential; never forwarded.
fn is_client_credential(name: &HeaderName) -> bool {
    name == header::AUTHORIZATION || name == X_API_KEY
}

/// Headers the client stack computes per hop (the client sets `host` and `content-length`
/// from the URI and body; `expect` was answered by our server).
fn is_recomputed(name: &HeaderName) -> bool {
    name == header::HOST
        || name == header::CONTENT_LENGTH
        || name == header::EXPECT
        || name == header::ACCEPT_ENCODING
}

fn connection_listed(headers: &HeaderMap) -> Vec<HeaderName> {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect()
}

fn is_hop_by_hop(name: &HeaderName, listed: &[HeaderName]) -> bool {
    HOP_BY_HOP.contains(name) || HOP_BY_HOP_LEGACY.contains(&name.as_str()) || listed.contains(name)
}

/// The headers sent to the provider: the client's, minus hop-by-hop headers and its
/// credentials, with `accept-encoding: identity` (so later stages can read the stream) and the
/// gateway's provider key in the provider's own header.
pub fn outbound(client: &HeaderMap, provider: Provider, api_key: &Secret<String>) -> HeaderMap {
    let listed = connection_listed(client);
    let mut out = HeaderMap::with_capacity(client.len() + 2);
    for (name, value) in client {
        if !is_hop_by_hop(name, &listed) && !is_client_credential(name) && !is_recomputed(name) {
            out.append(name.clone(), value.clone());
        }
    }
    out.insert(
        header::ACCEPT_ENCODING,
        HeaderValue::from_static("identity"),
    );
    match provider {
        Provider::Anthropic => {
            if let Ok(mut v) = HeaderValue::from_str(api_key.expose()) {
                v.set_sensitive(true);
                out.insert(X_API_KEY, v);
            }
            if !out.contains_key(ANTHROPIC_VERSION) {
                out.insert(
                    ANTHROPIC_VERSION,
                    HeaderValue::from_static(DEFAULT_ANTHROPIC_VERSION),
                );
            }
        }
        Provider::OpenAi => {
            if let Ok(mut v) = HeaderValue::from_str(&format!("Bearer {}", api_key.expose())) {
                v.set_sensitive(true);
                out.insert(header::AUTHORIZATION, v);
            }
        }
    }
    out
}

/// Removes hop-by-hop headers from a provider response; everything else (`request-id`,
/// rate-limit headers, `retry-after`, `x-should-retry`, content type) goes back unchanged.
/// `content-length` is dropped too: the relay's size hint carries it when the body is
/// relayed as is.
pub fn strip_inbound(headers: &mut HeaderMap) {
    headers.remove(header::CONTENT_LENGTH);
    let listed = connection_listed(headers);
    // Empty for the common answer, and then allocates nothing.
    let drop: Vec<HeaderName> = headers
        .keys()
        .filter(|name| is_hop_by_hop(name, &listed))
        .cloned()
        .collect();
    for name in drop {
        headers.remove(name);
    }
}

/// `accept` for a translated target's answer (`stream_type` when streaming, else JSON) and
/// `accept-encoding: identity` (its body is decoded or re-framed, never relayed compressed).
pub(crate) fn insert_accept(
    headers: &mut http::HeaderMap,
    stream: bool,
    stream_type: &'static str,
) {
    headers.insert(
        header::ACCEPT,
        HeaderValue::from_static(if stream {
            stream_type
        } else {
            "application/json"
        }),
    );
    headers.insert(
        header::ACCEPT_ENCODING,
        HeaderValue::from_static("identity"),
    );
}

/// The `host` header a request to `base` carries: its host, with its port unless that is the
/// scheme's default (what the client would compute per request). `None` when `base` is not a
/// URI with a host (the client then computes it, or refuses the request).
pub(crate) fn host_header(base: &str) -> Option<HeaderValue> {
    let uri: http::Uri = base.parse().ok()?;
    let host = uri.host()?;
    let secure = uri.scheme_str() == Some("https");
    let value = match uri.port_u16() {
        Some(443) if secure => host.to_owned(),
        Some(80) if !secure => host.to_owned(),
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    HeaderValue::from_str(&value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn credentials_and_hop_by_hop_are_replaced_by_the_provider_key() {
        let client = map(&[
            ("authorization", "Bearer user-token"),
            ("x-api-key", "user-token"),
            ("connection", "keep-alive, x-private-hop"),
            ("x-private-hop", "1"),
            ("keep-alive", "timeout=5"),
            ("accept-encoding", "gzip, br"),
            (
                "anthropic-beta",
                "claude-code-20250219,interleaved-thinking-2025-05-14",
            ),
            ("anthropic-version", "2023-06-01"),
            ("x-stainless-retry-count", "0"),
        ]);
        let key = Secret::new("sk-provider".to_owned());
        let out = outbound(&client, Provider::Anthropic, &key);
        assert_eq!(out["x-api-key"], "sk-provider");
        assert!(!out.contains_key("authorization"));
        for gone in ["connection", "x-private-hop", "keep-alive"] {
            assert!(!out.contains_key(gone), "{gone}");
        }
        assert_eq!(out["accept-encoding"], "identity");
        assert_eq!(
            out["anthropic-beta"],
            "claude-code-20250219,interleaved-thinking-2025-05-14"
        );
        assert_eq!(out["x-stainless-retry-count"], "0");

        let out = outbound(&client, Provider::OpenAi, &key);
        assert_eq!(out["authorization"], "Bearer sk-provider");
        assert!(!out.contains_key("x-api-key"));
    }

    #[test]
    fn anthropic_version_is_defaulted_only_when_absent() {
        let key = Secret::new("k".to_owned());
        let out = outbound(&HeaderMap::new(), Provider::Anthropic, &key);
        assert_eq!(out["anthropic-version"], DEFAULT_ANTHROPIC_VERSION);
        let out = outbound(
            &map(&[("anthropic-version", "2026-10-21")]),
            Provider::Anthropic,
            &key,
        );
        assert_eq!(out["anthropic-version"], "2026-10-21");
    }

    #[test]
    fn a_provider_answer_loses_its_hop_by_hop_headers_and_length_and_keeps_the_rest() {
        let mut answer = map(&[
            ("content-type", "application/json"),
            ("content-length", "512"),
            ("request-id", "req_1"),
            ("retry-after", "3"),
            ("anthropic-ratelimit-tokens-reset", "2026-12-08T03:00:00Z"),
        ]);
        strip_inbound(&mut answer);
        let mut names: Vec<&str> = answer.keys().map(HeaderName::as_str).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "anthropic-ratelimit-tokens-reset",
                "content-type",
                "request-id",
                "retry-after"
            ]
        );
        let mut answer = map(&[
            ("content-type", "text/event-stream"),
            ("transfer-encoding", "chunked"),
            ("connection", "keep-alive, x-hop"),
            ("x-hop", "1"),
            ("keep-alive", "timeout=5"),
            ("request-id", "req_2"),
        ]);
        strip_inbound(&mut answer);
        let mut names: Vec<&str> = answer.keys().map(HeaderName::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, ["content-type", "request-id"]);
    }
}

#[cfg(test)]
mod host_tests {
    use super::host_header;

    #[test]
    fn the_host_header_names_the_port_only_when_it_is_not_the_schemes_default() {
        let host = |base| host_header(base).map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(
            host("https://api.anthropic.com").as_deref(),
            Some("api.anthropic.com")
        );
        assert_eq!(
            host("https://gw.example:443/v1").as_deref(),
            Some("gw.example")
        );
        assert_eq!(
            host("http://127.0.0.1:8080").as_deref(),
            Some("127.0.0.1:8080")
        );
        assert_eq!(host("http://10.0.0.1:80").as_deref(), Some("10.0.0.1"));
        assert_eq!(host("https://[::1]:8443").as_deref(), Some("[::1]:8443"));
        assert_eq!(host("not a uri"), None);
    }
}
