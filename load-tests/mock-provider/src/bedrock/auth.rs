//! Who may call the mock Bedrock: a request signed with SigV4 by the configured key pair
//! (checked by `sigv4.rs`), or the configured Bedrock API key as `Authorization: Bearer`.
//! Anything else is refused the way Bedrock refuses it: 403, a JSON `message`, the
//! exception's name in `x-amzn-errortype`. Refusals never echo a credential.

use std::time::SystemTime;

use http::header::AUTHORIZATION;

use super::ErrorAnswer;
use super::sigv4::{self, Received, Refusal};
use crate::config::BedrockCredentials;

/// The SigV4 service name of the Bedrock runtime.
const SERVICE: &str = "bedrock";

/// Checks the credentials of one Bedrock request.
pub(crate) fn check(
    creds: &BedrockCredentials,
    request: &Received<'_>,
    now: SystemTime,
) -> Result<(), ErrorAnswer> {
    let Some(authorization) = request.headers.get(AUTHORIZATION) else {
        return Err(ErrorAnswer::new(
            "MissingAuthenticationTokenException",
            "message",
            "Missing Authentication Token",
        ));
    };
    let authorization = String::from_utf8_lossy(authorization.as_bytes());
    if let Some(key) = authorization.strip_prefix("Bearer ") {
        return if key == creds.api_key {
            Ok(())
        } else {
            Err(ErrorAnswer::new(
                "AccessDeniedException",
                "Message",
                "Authentication failed: Please make sure your API Key is valid.",
            ))
        };
    }
    let signer = sigv4::Signer {
        access_key_id: &creds.access_key_id,
        secret_access_key: &creds.secret_access_key,
        region: &creds.region,
        service: SERVICE,
    };
    sigv4::verify(&authorization, request, &signer, now).map_err(|refusal| match refusal {
        Refusal::Incomplete(why) => ErrorAnswer::new(
            "IncompleteSignatureException",
            "message",
            &format!("Authorization header requires a valid SigV4 signature: {why}"),
        ),
        Refusal::UnknownAccessKey => ErrorAnswer::new(
            "UnrecognizedClientException",
            "message",
            "The security token included in the request is invalid.",
        ),
        Refusal::Scope(why) => ErrorAnswer::new("InvalidSignatureException", "message", &why),
        Refusal::Expired => ErrorAnswer::new(
            "InvalidSignatureException",
            "message",
            "Signature expired: the x-amz-date is more than 15 minutes from the current time.",
        ),
        // Like AWS, the message shows what was computed (no secret is part of either).
        Refusal::Mismatch {
            canonical_request,
            string_to_sign,
        } => ErrorAnswer::new(
            "InvalidSignatureException",
            "message",
            &format!(
                "The request signature we calculated does not match the signature you provided. \
                 Check your AWS Secret Access Key and signing method. Consult the service \
                 documentation for details.\n\nThe Canonical String for this request should have \
                 been\n'{canonical_request}'\n\nThe String-to-Sign should have been\n'{string_to_sign}'\n"
            ),
        ),
    })
}
