//! AWS Signature Version 4 checked the way AWS checks it, written from the spec and
//! independent of any signer: the canonical request is rebuilt from the request as received
//! (method, the path bytes on the wire, the sorted query, the headers the `Authorization`
//! header says were signed, `x-amz-content-sha256` or the body's SHA-256), then the string
//! to sign, the derived key (HMAC chain over date, region, service, `aws4_request`) and the
//! signature.
//!
//! The canonical URI encodes the received path once more, as AWS does for every service but
//! S3: a model id's `:` arrives as `%3A` and is signed as `%253A`. A signer that signs one
//! string and sends another fails here as it would at AWS.
//!
//! Not here: session tokens (accepted unchecked when signed), path normalization (`.`/`..`
//! segments, which no Bedrock path has), S3's single encoding, chunked payload signing,
//! presigned (query-string) requests.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha2::{Digest, Sha256};

/// The only algorithm accepted.
const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// How far `x-amz-date` may be from the mock's clock (AWS allows 15 minutes).
pub(crate) const CLOCK_SKEW_MAX: Duration = Duration::from_secs(15 * 60);

/// Who may sign, for which region and service.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Signer<'a> {
    pub(crate) access_key_id: &'a str,
    pub(crate) secret_access_key: &'a str,
    pub(crate) region: &'a str,
    pub(crate) service: &'a str,
}

/// The request as received.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Received<'a> {
    pub(crate) method: &'a str,
    /// The request target's path and query, exactly as on the wire.
    pub(crate) path_and_query: &'a str,
    pub(crate) headers: &'a HeaderMap,
    /// The URI's authority, for `host` when no `host` header came (HTTP/2).
    pub(crate) authority: Option<&'a str>,
    pub(crate) body: &'a [u8],
}

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The `Authorization` header is not a SigV4 header (missing parts, other algorithm).
    Incomplete(String),
    /// Another access key id than the configured one.
    UnknownAccessKey,
    /// The credential scope names another date, region or service.
    Scope(String),
    /// `x-amz-date` is too far from now.
    Expired,
    /// The signature is not the one computed here.
    Mismatch {
        canonical_request: String,
        string_to_sign: String,
    },
}

/// Checks the SigV4 `Authorization` header `authorization` of `request` against `signer`.
pub(crate) fn verify(
    authorization: &str,
    request: &Received<'_>,
    signer: &Signer<'_>,
    now: SystemTime,
) -> Result<(), Refusal> {
    let auth = Authorization::parse(authorization)?;
    let (key_id, scope) = auth
        .credential
        .split_once('/')
        .ok_or_else(|| Refusal::Incomplete("Credential has no scope".to_owned()))?;
    if key_id != signer.access_key_id {
        return Err(Refusal::UnknownAccessKey);
    }
    let amz_date = header(request, "x-amz-date")
        .ok_or_else(|| Refusal::Incomplete("x-amz-date is missing".to_owned()))?;
    let signed_at = parse_amz_date(&amz_date)
        .ok_or_else(|| Refusal::Incomplete(format!("x-amz-date {amz_date:?} is not a date")))?;
    let skew = now
        .duration_since(signed_at)
        .or_else(|_| signed_at.duration_since(now))
        .unwrap_or(Duration::MAX);
    if skew > CLOCK_SKEW_MAX {
        return Err(Refusal::Expired);
    }
    let expected_scope = format!(
        "{}/{}/{}/aws4_request",
        amz_date.get(..8).unwrap_or_default(),
        signer.region,
        signer.service
    );
    if scope != expected_scope {
        return Err(Refusal::Scope(format!(
            "Credential should be scoped to {expected_scope}, not {scope}"
        )));
    }
    for required in ["host", "x-amz-date"] {
        if !auth.signed_headers.iter().any(|h| h == required) {
            return Err(Refusal::Incomplete(format!(
                "SignedHeaders must include {required}"
            )));
        }
    }
    let canonical_request = canonical_request(request, &auth.signed_headers);
    let string_to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let mut key = hmac(
        format!("AWS4{}", signer.secret_access_key).as_bytes(),
        amz_date.get(..8).unwrap_or_default().as_bytes(),
    );
    for part in [signer.region, signer.service, "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    let expected = hex::encode(hmac(&key, string_to_sign.as_bytes()));
    if expected.as_bytes() == auth.signature.as_bytes() {
        Ok(())
    } else {
        Err(Refusal::Mismatch {
            canonical_request,
            string_to_sign,
        })
    }
}

/// The parts of `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
#[derive(Debug)]
struct Authorization {
    credential: String,
    signed_headers: Vec<String>,
    signature: String,
}

impl Authorization {
    fn parse(value: &str) -> Result<Self, Refusal> {
        let rest = value
            .strip_prefix(ALGORITHM)
            .and_then(|r| r.strip_prefix(' '))
            .ok_or_else(|| Refusal::Incomplete(format!("the algorithm must be {ALGORITHM}")))?;
        let (mut credential, mut signed, mut signature) = (None, None, None);
        for part in rest.split(',').map(str::trim) {
            match part.split_once('=') {
                Some(("Credential", v)) => credential = Some(v.to_owned()),
                Some(("SignedHeaders", v)) => signed = Some(v),
                Some(("Signature", v)) => signature = Some(v.to_owned()),
                _ => {}
            }
        }
        let missing = |name: &str| Refusal::Incomplete(format!("Authorization lacks {name}"));
        let signed = signed.ok_or_else(|| missing("SignedHeaders"))?;
        let signed_headers: Vec<String> = signed.split(';').map(str::to_owned).collect();
        if signed_headers.windows(2).any(|w| w[0] >= w[1])
            || signed_headers.iter().any(|h| h != &h.to_ascii_lowercase())
        {
            return Err(Refusal::Incomplete(
                "SignedHeaders must be lowercase, sorted and unique".to_owned(),
            ));
        }
        Ok(Self {
            credential: credential.ok_or_else(|| missing("Credential"))?,
            signed_headers,
            signature: signature.ok_or_else(|| missing("Signature"))?,
        })
    }
}

/// The canonical request of `request` over `signed_headers` (lowercase, sorted).
pub(crate) fn canonical_request(request: &Received<'_>, signed_headers: &[String]) -> String {
    let (path, query) = request
        .path_and_query
        .split_once('?')
        .unwrap_or((request.path_and_query, ""));
    let mut out = String::with_capacity(256);
    out.push_str(request.method);
    out.push('\n');
    out.push_str(&uri_encode(path.as_bytes(), false));
    out.push('\n');
    out.push_str(&canonical_query(query));
    out.push('\n');
    for name in signed_headers {
        out.push_str(name);
        out.push(':');
        out.push_str(&header(request, name).unwrap_or_default());
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&signed_headers.join(";"));
    out.push('\n');
    match header(request, "x-amz-content-sha256") {
        Some(declared) => out.push_str(&declared),
        None => out.push_str(&hex::encode(Sha256::digest(request.body))),
    }
    out
}

/// A header's canonical value: every value of the name, trimmed, inner runs of spaces made
/// one, joined by commas; `host` falls back to the URI's authority.
fn header(request: &Received<'_>, name: &str) -> Option<String> {
    let values: Vec<String> = request
        .headers
        .get_all(name)
        .iter()
        .map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    if values.is_empty() {
        return (name == "host")
            .then(|| request.authority.map(str::to_owned))
            .flatten();
    }
    Some(values.join(","))
}

/// The query's `name=value` pairs, each part decoded then strictly encoded, sorted.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                uri_encode(&percent_decode(k), true),
                uri_encode(&percent_decode(v), true),
            )
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// SigV4's URI encoding: RFC 3986 unreserved bytes stay, `/` stays unless `slash`, every
/// other byte (a `%` included) becomes `%XX`, upper-case hex.
fn uri_encode(bytes: &[u8], slash: bool) -> String {
    let mut out = String::with_capacity(bytes.len() + 8);
    for &b in bytes {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~')
            || (b == b'/' && !slash)
        {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(decoded)) => {
                out.push(decoded);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return Vec::new();
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// `YYYYMMDDTHHMMSSZ` as a time.
fn parse_amz_date(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hh, mm, ss) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    // Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = u64::try_from(days * 86_400 + hh * 3600 + mm * 60 + ss).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(secs))
}

#[cfg(test)]
mod tests;
