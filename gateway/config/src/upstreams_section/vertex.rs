//! `kind = "vertex"` fallbacks: Google Vertex AI's Anthropic models. Project, region and
//! endpoint, the model map (ids with `@`), and the credential: a service-account key file
//! (read and checked here, its private key held as a [`Secret`]) or a ready access token from
//! a variable (workload identity setups).
//!
//! Not here: signing the service account's JWT and exchanging it for a token (gateway-upstream
//! `vertex/token.rs`).

use std::{collections::BTreeMap, path::Path};

use gateway_core::Secret;
use serde::Deserialize;

use super::{ProviderKey, Target, TargetKind, base_url, model_map};
use crate::{Environment, raw, validate::Collector};

/// The largest service-account key file read (real ones are about 2.3 KB).
const CREDENTIALS_FILE_MAX_BYTES: u64 = 64 * 1024;
/// The key id of a service-account target's one-entry pool (its secret is unused).
pub const SERVICE_ACCOUNT_KEY_ID: &str = "credentials_file";

/// A Vertex target's settings beside its name, base URL and keys.
#[derive(Debug, Clone)]
pub struct Vertex {
    /// The Google Cloud project id.
    pub project: String,
    /// The region in the path, e.g. `us-east5` or `global`.
    pub region: String,
    /// How requests are authenticated.
    pub auth: VertexAuth,
    /// The client's model name → the Vertex model id (`claude-sonnet-4-5@20250929`). A model
    /// not in the map is sent as it is when it already is a Vertex id (contains `@`), else the
    /// target is skipped for that request.
    pub models: BTreeMap<String, String>,
}

/// How a Vertex target authenticates.
#[derive(Debug, Clone)]
pub enum VertexAuth {
    /// OAuth2 JWT-bearer grant with a service account's key. The target's key pool then holds
    /// one entry, [`SERVICE_ACCOUNT_KEY_ID`], whose secret is unused.
    ServiceAccount(ServiceAccount),
    /// A ready access token as `Authorization: Bearer`, from the target's key pool (one key
    /// named after its variable).
    AccessToken,
}

/// The parts of a Google service-account key file the token exchange needs.
#[derive(Clone)]
pub struct ServiceAccount {
    /// The account's email: the JWT's issuer.
    pub client_email: String,
    /// The PEM of the account's RSA private key.
    pub private_key: Secret<String>,
    /// Where the signed JWT is exchanged for an access token (the JWT's audience).
    pub token_uri: url::Url,
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("client_email", &self.client_email)
            .field("private_key", &self.private_key)
            .field("token_uri", &self.token_uri.as_str())
            .finish()
    }
}

#[derive(Deserialize)]
struct KeyFile {
    client_email: Option<String>,
    private_key: Option<String>,
    token_uri: Option<String>,
}

/// Validates one `kind = "vertex"` fallback at `path`.
pub(super) fn target(
    c: &mut Collector<'_>,
    path: &str,
    mut f: raw::Fallback,
    env: &dyn Environment,
) -> Option<Target> {
    for (field, set) in [
        ("api_key_env", f.api_key_env.is_some()),
        ("api_key_file", f.api_key_file.is_some()),
        ("keys", !f.keys.is_empty()),
        ("aws_access_key_id_env", f.aws_access_key_id_env.is_some()),
        (
            "aws_secret_access_key_env",
            f.aws_secret_access_key_env.is_some(),
        ),
        ("aws_session_token_env", f.aws_session_token_env.is_some()),
        ("anthropic_betas", f.anthropic_betas.is_some()),
    ] {
        if set {
            c.push(
                &format!("{path}.{field}"),
                "is not a setting of `kind = \"vertex\"` targets (they authenticate with `credentials_file` or `access_token_env`)",
            );
        }
    }
    let name_ok = |v: &String| {
        !v.is_empty()
            && v.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    let project = f.project.take().filter(name_ok);
    if project.is_none() {
        c.push(
            &format!("{path}.project"),
            "a Vertex target needs its Google Cloud project id (lowercase letters, digits and dashes)",
        );
    }
    let region = f.region.take().filter(name_ok);
    if region.is_none() {
        c.push(
            &format!("{path}.region"),
            "a Vertex target needs its region, like `us-east5` or `global` (lowercase letters, digits and dashes)",
        );
    }
    let base = match (&f.base_url, &region) {
        (Some(raw), _) => base_url(c, path, raw),
        (None, Some(region)) => url::Url::parse(&default_base_url(region)).ok(),
        (None, None) => None,
    };
    let models = model_map(
        c,
        path,
        f.models.take().unwrap_or_default(),
        b"/:?#%",
        "a Vertex model id like `claude-sonnet-4-5@20250929` (visible ASCII, none of `/ : ? # %`)",
    );
    let (auth, keys) = match (f.credentials_file.take(), f.access_token_env.take()) {
        (Some(file), None) => {
            let account = service_account(c, &format!("{path}.credentials_file"), &file)?;
            let key = ProviderKey {
                id: SERVICE_ACCOUNT_KEY_ID.to_owned(),
                weight: 1,
                secret: Secret::new(String::new()),
            };
            (VertexAuth::ServiceAccount(account), vec![key])
        }
        (None, Some(var)) => match env.var(&var) {
            Some(v) if !v.trim().is_empty() => {
                let key = ProviderKey {
                    id: var,
                    weight: 1,
                    secret: Secret::new(v.trim().to_owned()),
                };
                (VertexAuth::AccessToken, vec![key])
            }
            _ => {
                c.push(
                    &format!("{path}.access_token_env"),
                    format!("environment variable {var} is not set or empty; export the access token in it"),
                );
                return None;
            }
        },
        _ => {
            c.push(
                path,
                "a Vertex target needs exactly one of `credentials_file` (a service-account key) or `access_token_env`",
            );
            return None;
        }
    };
    let vertex = Vertex {
        project: project?,
        region: region?,
        auth,
        models: models?,
    };
    Some(Target {
        name: f.name,
        kind: TargetKind::Vertex(Box::new(vertex)),
        base_url: base?,
        keys,
        // Set by the caller from the fallback's `prices_file`.
        prices_file: None,
    })
}

/// `https://{region}-aiplatform.googleapis.com`, or the global endpoint for `global`.
fn default_base_url(region: &str) -> String {
    if region == "global" {
        "https://aiplatform.googleapis.com".to_owned()
    } else {
        format!("https://{region}-aiplatform.googleapis.com")
    }
}

/// Reads the service-account key file at `file`; problems at `path`. Messages never quote the
/// file's contents.
fn service_account(c: &mut Collector<'_>, path: &str, file: &Path) -> Option<ServiceAccount> {
    let shown = file.display();
    let text = match std::fs::metadata(file) {
        Ok(m) if m.len() > CREDENTIALS_FILE_MAX_BYTES => {
            c.push(
                path,
                format!("{shown} is over {CREDENTIALS_FILE_MAX_BYTES} bytes; it is not a service-account key"),
            );
            return None;
        }
        _ => match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(e) => {
                c.push(path, format!("cannot read {shown}: {e}"));
                return None;
            }
        },
    };
    let Ok(key) = serde_json::from_str::<KeyFile>(&text) else {
        c.push(path, format!("{shown} is not a JSON service-account key"));
        return None;
    };
    let mut missing = |field: &str, v: Option<String>| {
        let v = v.filter(|v| !v.trim().is_empty());
        if v.is_none() {
            c.push(path, format!("{shown} has no `{field}`"));
        }
        v
    };
    let client_email = missing("client_email", key.client_email);
    let private_key = missing("private_key", key.private_key);
    let token_uri = missing("token_uri", key.token_uri);
    let private_key = private_key.map(Secret::new);
    if private_key.as_ref().is_some_and(|k| {
        !k.expose().contains("-----BEGIN PRIVATE KEY-----")
            && !k.expose().contains("-----BEGIN RSA PRIVATE KEY-----")
    }) {
        c.push(
            path,
            format!("{shown}: `private_key` is not a PEM RSA private key"),
        );
        return None;
    }
    let token_uri = match token_uri.map(|u| url::Url::parse(&u)) {
        Some(Ok(u)) if matches!(u.scheme(), "http" | "https") => Some(u),
        Some(_) => {
            c.push(path, format!("{shown}: `token_uri` is not an http(s) URL"));
            None
        }
        None => None,
    };
    Some(ServiceAccount {
        client_email: client_email?,
        private_key: private_key?,
        token_uri: token_uri?,
    })
}

#[cfg(test)]
mod tests;
