//! Reading an admin request: its body (bounded), JSON bodies into typed requests, `If-Match`,
//! query parameters, durations. Every refusal says what was wrong and how to fix it.

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use serde::de::DeserializeOwned;

use gateway_runtime_state::Expect;

/// Largest admin request body: records are small.
pub const ADMIN_BODY_MAX_BYTES: usize = 64 * 1024;
/// Most records one list page returns.
pub(crate) const LIST_PAGE_MAX: usize = 500;

/// A change refused before it took effect: a 4xx (or 503) with a reason and a hint.
#[derive(Debug)]
pub(crate) struct Refused {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
    pub(crate) hint: String,
}

impl Refused {
    pub(crate) fn new(
        status: StatusCode,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Self {
            status,
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// A 400.
    pub(crate) fn bad(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message, hint)
    }
}

/// Reads the body of `req`, up to [`ADMIN_BODY_MAX_BYTES`].
pub(crate) async fn collect<B>(req: Request<B>) -> Result<Request<Bytes>, Response<Bytes>>
where
    B: hyper::body::Body,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let (head, body) = req.into_parts();
    match Limited::new(body, ADMIN_BODY_MAX_BYTES).collect().await {
        Ok(collected) => Ok(Request::from_parts(head, collected.to_bytes())),
        Err(e) => Err(crate::error_hint(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("the request body could not be read: {e}"),
            &format!("admin request bodies are JSON of at most {ADMIN_BODY_MAX_BYTES} bytes"),
        )),
    }
}

/// The JSON body as `T` (unknown fields refused).
pub(crate) fn json_body<T: DeserializeOwned>(body: &[u8], example: &str) -> Result<T, Refused> {
    serde_json::from_slice(body).map_err(|e| {
        Refused::bad(
            format!("the body is not a valid request: {e}"),
            format!("send JSON like {example}"),
        )
    })
}

/// What `If-Match` expects: `"7"` or `7` is revision 7; absent is any revision unless
/// `required`.
pub(crate) fn if_match(headers: &HeaderMap, required: bool) -> Result<Expect, Refused> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        if required {
            return Err(Refused::new(
                StatusCode::PRECONDITION_REQUIRED,
                "a change to an existing record needs `If-Match`",
                "read the record first and send its `ETag` (its revision) as `If-Match`",
            ));
        }
        return Ok(Expect::Any);
    };
    let text = value.to_str().unwrap_or_default().trim();
    let text = text.strip_prefix("W/").unwrap_or(text).trim_matches('"');
    match text.parse::<u64>() {
        Ok(revision) => Ok(Expect::Revision(revision)),
        Err(_) if text == "*" => Ok(Expect::Any),
        Err(_) => Err(Refused::bad(
            "`If-Match` is not a revision",
            "send the record's `ETag`, e.g. If-Match: \"7\"",
        )),
    }
}

/// A query parameter, decoded.
pub(crate) fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// `offset` and `limit` of a page (`limit` at most `max`, default 50).
pub(crate) fn page(query: Option<&str>, max: usize) -> (usize, usize) {
    let number = |name| query_param(query, name).and_then(|v| v.parse::<usize>().ok());
    (
        number("offset").unwrap_or(0),
        number("limit").unwrap_or(50).clamp(1, max),
    )
}

/// A path segment, percent-decoded.
pub(crate) fn decode_segment(s: &str) -> String {
    url::form_urlencoded::parse(format!("s={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// `expires_in` (`"4h"`, `"90m"`) as a lifetime in ms, at most `max`.
pub(crate) fn lifetime_ms(
    text: Option<&str>,
    default: Option<std::time::Duration>,
    max: std::time::Duration,
) -> Result<Option<u64>, Refused> {
    let duration = match text {
        Some(t) => Some(humantime::parse_duration(t).map_err(|e| {
            Refused::bad(
                format!("`expires_in` {t:?} is not a duration: {e}"),
                "write e.g. \"4h\", \"90m\" or \"7days\"",
            )
        })?),
        None => default,
    };
    match duration {
        Some(d) if d.is_zero() || d > max => Err(Refused::bad(
            format!(
                "`expires_in` must be between 1s and {}",
                humantime::format_duration(max)
            ),
            "choose a shorter lifetime; make a lasting change in the policy files",
        )),
        Some(d) => Ok(Some(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))),
        None => Ok(None),
    }
}

/// A required, non-empty reason.
pub(crate) fn reason(reason: Option<String>) -> Result<String, Refused> {
    match reason.map(|r| r.trim().to_owned()) {
        Some(r) if !r.is_empty() && r.len() <= 500 => Ok(r),
        Some(r) if r.len() > 500 => Err(Refused::bad(
            "`reason` is longer than 500 characters",
            "say why in a sentence",
        )),
        _ => Err(Refused::bad(
            "`reason` is required",
            "say why, e.g. {\"reason\": \"launch day, approved by finance\"}; it goes to the audit log",
        )),
    }
}
