//! Authenticating a Bedrock request: SigV4 (service `bedrock`, with `aws-sigv4`) over the exact
//! URI that is sent, or a Bedrock API key as a bearer token.
//!
//! The path is built once, with the model id's reserved characters (`:`) percent-encoded
//! ([`encode_model_id`]); that string is both signed and sent. `aws-sigv4` encodes the path
//! once more for the canonical request (`%3A` → `%253A`), as AWS expects for every service but
//! S3.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::{
    http_request::{SignableBody, SignableRequest, SigningSettings, sign},
    sign::v4,
};
use aws_smithy_runtime_api::client::identity::Identity;
use gateway_config::AwsCredentials;
use gateway_core::{BoxError, Secret};
use http::{HeaderMap, HeaderName, HeaderValue, header};

/// The SigV4 service name of the Bedrock runtime.
const SERVICE: &str = "bedrock";

/// A model id as one path segment: everything but RFC 3986 unreserved characters
/// percent-encoded (so `:` is `%3A`, like the AWS SDKs send it).
pub(crate) fn encode_model_id(id: &str) -> String {
    let mut out = String::with_capacity(id.len() + 8);
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Adds SigV4 headers (`x-amz-date`, `authorization`, `x-amz-security-token`) to `headers`
/// for a `POST` of `body` to `uri`; the headers already in `headers` are signed too.
pub(crate) fn sigv4(
    creds: &AwsCredentials,
    region: &str,
    uri: &str,
    headers: &mut HeaderMap,
    body: &[u8],
    now: SystemTime,
) -> Result<(), BoxError> {
    sign_for(SERVICE, creds, region, uri, headers, body, now)
}

/// [`sigv4`] for any service name (the AWS test-suite vectors sign for `service`).
fn sign_for(
    service: &str,
    creds: &AwsCredentials,
    region: &str,
    uri: &str,
    headers: &mut HeaderMap,
    body: &[u8],
    now: SystemTime,
) -> Result<(), BoxError> {
    let identity: Identity = Credentials::new(
        creds.access_key_id.expose(),
        creds.secret_access_key.expose(),
        creds.session_token.as_ref().map(|t| t.expose().clone()),
        None,
        "gateway-config",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(now)
        .settings(SigningSettings::default())
        .build()
        .map_err(Box::new)?
        .into();
    let signed: Vec<(&str, &str)> = headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)))
        .collect();
    let request = SignableRequest::new("POST", uri, signed.into_iter(), SignableBody::Bytes(body))?;
    let (instructions, _signature) = sign(request, &params)?.into_parts();
    let (added, _query) = instructions.into_parts();
    for h in added {
        let (Ok(name), Ok(mut value)) = (
            HeaderName::from_bytes(h.name().as_bytes()),
            HeaderValue::from_str(h.value()),
        ) else {
            continue;
        };
        value.set_sensitive(h.sensitive() || name == header::AUTHORIZATION);
        headers.insert(name, value);
    }
    Ok(())
}

/// `Authorization: Bearer <Bedrock API key>`.
pub(crate) fn bearer(headers: &mut HeaderMap, key: &Secret<String>) {
    if let Ok(mut v) = HeaderValue::from_str(&format!("Bearer {}", key.expose())) {
        v.set_sensitive(true);
        headers.insert(header::AUTHORIZATION, v);
    }
}

#[cfg(test)]
mod tests;
