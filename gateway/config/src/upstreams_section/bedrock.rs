//! `kind = "bedrock"` fallbacks: region and endpoint, credentials (SigV4 from AWS key
//! variables, or Bedrock API keys sent as bearer tokens), the model map and the beta allowlist.

use std::collections::BTreeMap;

use gateway_core::Secret;

use super::{ProviderKey, Target, TargetKind, base_url, keys, model_map};
use crate::{Environment, raw, validate::Collector};

/// The `anthropic-beta` values passed on to Bedrock when a target lists none: the betas
/// Bedrock's Anthropic models accept (others, like `claude-code-20250219` or
/// `oauth-2025-04-20`, are refused by Bedrock and dropped).
pub const DEFAULT_BEDROCK_BETAS: &[&str] = &[
    "computer-use-2024-10-22",
    "computer-use-2025-01-24",
    "computer-use-2025-11-24",
    "token-efficient-tools-2025-02-19",
    "interleaved-thinking-2025-05-14",
    "output-128k-2025-02-19",
    "dev-full-thinking-2025-05-14",
    "context-1m-2025-08-07",
    "context-management-2025-06-27",
    "effort-2025-11-24",
    "tool-search-tool-2025-10-19",
    "tool-examples-2025-10-29",
];

/// A Bedrock target's settings beside its name, base URL and keys.
#[derive(Debug, Clone)]
pub struct Bedrock {
    /// The AWS region signed for, e.g. `us-east-1`.
    pub region: String,
    /// How requests are authenticated.
    pub auth: BedrockAuth,
    /// The client's model name → the Bedrock model id (an inference profile like
    /// `us.anthropic.claude-sonnet-4-5-20250929-v1:0`, or a base model id). A model not in
    /// the map is sent as it is when it already is a Bedrock id (contains `anthropic.`), else
    /// the target is skipped for that request.
    pub models: BTreeMap<String, String>,
    /// The `anthropic-beta` values passed on (in the body's `anthropic_beta`); others dropped.
    pub betas: Vec<String>,
}

/// How a Bedrock target authenticates.
#[derive(Debug, Clone)]
pub enum BedrockAuth {
    /// AWS Signature Version 4 (service `bedrock`). The target's key pool then holds one
    /// entry named after the access key variable, whose secret is unused.
    SigV4(AwsCredentials),
    /// A Bedrock API key as `Authorization: Bearer`, from the target's key pool.
    ApiKey,
}

/// Static AWS credentials.
#[derive(Debug, Clone)]
pub struct AwsCredentials {
    /// The access key id.
    pub access_key_id: Secret<String>,
    /// The secret access key.
    pub secret_access_key: Secret<String>,
    /// The session token of temporary credentials.
    pub session_token: Option<Secret<String>>,
}

/// Validates one `kind = "bedrock"` fallback at `path`.
pub(super) fn target(
    c: &mut Collector<'_>,
    path: &str,
    mut f: raw::Fallback,
    env: &dyn Environment,
) -> Option<Target> {
    for (field, set) in [
        ("project", f.project.is_some()),
        ("credentials_file", f.credentials_file.is_some()),
        ("access_token_env", f.access_token_env.is_some()),
    ] {
        if set {
            c.push(
                &format!("{path}.{field}"),
                "is a setting of `kind = \"vertex\"` targets; remove it or change the kind",
            );
        }
    }
    let region = f.region.take().filter(|r| {
        !r.is_empty()
            && r.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    });
    if region.is_none() {
        c.push(
            &format!("{path}.region"),
            "a Bedrock target needs its AWS region, like `us-east-1` (lowercase letters, digits and dashes)",
        );
    }
    let base = match (&f.base_url, &region) {
        (Some(raw), _) => base_url(c, path, raw),
        (None, Some(region)) => {
            url::Url::parse(&format!("https://bedrock-runtime.{region}.amazonaws.com")).ok()
        }
        (None, None) => None,
    };
    let models = model_map(
        c,
        path,
        f.models.take().unwrap_or_default(),
        b"/",
        "a Bedrock model id like `us.anthropic.claude-sonnet-4-5-20250929-v1:0` (visible ASCII, no `/`)",
    );
    let betas = f.anthropic_betas.take().unwrap_or_else(|| {
        DEFAULT_BEDROCK_BETAS
            .iter()
            .map(|b| (*b).to_owned())
            .collect()
    });
    let aws_set = f.aws_access_key_id_env.is_some()
        || f.aws_secret_access_key_env.is_some()
        || f.aws_session_token_env.is_some();
    let bearer_set = f.api_key_env.is_some() || f.api_key_file.is_some() || !f.keys.is_empty();
    let (auth, keys) = match (aws_set, bearer_set) {
        (true, false) => {
            let creds = aws_credentials(c, path, &f, env)?;
            let id = f.aws_access_key_id_env.take().unwrap_or_default();
            let key = ProviderKey {
                id,
                weight: 1,
                secret: Secret::new(String::new()),
            };
            (BedrockAuth::SigV4(creds), vec![key])
        }
        (false, true) => {
            let single = keys::Single {
                env: f.api_key_env,
                file: f.api_key_file,
            };
            match keys::target_keys(c, path, single, f.keys, env) {
                Ok(keys) => (BedrockAuth::ApiKey, keys),
                Err(Some(var)) => {
                    c.push(
                        &format!("{path}.api_key_env"),
                        format!("environment variable {var} is not set or empty; export the Bedrock API key in it"),
                    );
                    return None;
                }
                Err(None) => return None,
            }
        }
        _ => {
            c.push(
                path,
                "a Bedrock target needs either `aws_access_key_id_env` and `aws_secret_access_key_env` (SigV4) or a Bedrock API key (`api_key_env`, `api_key_file` or `[[keys]]`), not both",
            );
            return None;
        }
    };
    let bedrock = Bedrock {
        region: region?,
        auth,
        models: models?,
        betas,
    };
    Some(Target {
        name: f.name,
        kind: TargetKind::Bedrock(Box::new(bedrock)),
        base_url: base?,
        keys,
        prices_file: None,
    })
}

fn aws_credentials(
    c: &mut Collector<'_>,
    path: &str,
    f: &raw::Fallback,
    env: &dyn Environment,
) -> Option<AwsCredentials> {
    let mut var = |field: &str,
                   name: &Option<String>,
                   required: bool|
     -> Option<Option<Secret<String>>> {
        let Some(name) = name else {
            if required {
                c.push(
                    &format!("{path}.{field}"),
                    "SigV4 needs both `aws_access_key_id_env` and `aws_secret_access_key_env`",
                );
                return None;
            }
            return Some(None);
        };
        match env.var(name) {
            Some(v) if !v.trim().is_empty() => Some(Some(Secret::new(v.trim().to_owned()))),
            _ => {
                c.push(
                    &format!("{path}.{field}"),
                    format!("environment variable {name} is not set or empty; export the AWS credential in it"),
                );
                None
            }
        }
    };
    let access_key_id = var("aws_access_key_id_env", &f.aws_access_key_id_env, true);
    let secret_access_key = var(
        "aws_secret_access_key_env",
        &f.aws_secret_access_key_env,
        true,
    );
    let session_token = var("aws_session_token_env", &f.aws_session_token_env, false);
    Some(AwsCredentials {
        access_key_id: access_key_id??,
        secret_access_key: secret_access_key??,
        session_token: session_token?,
    })
}
