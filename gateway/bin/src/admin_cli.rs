//! `llm-gateway admin …`: the admin API from a shell, against a running gateway's admin
//! listener. Each subcommand is one API call: the answer is printed as JSON (a session's
//! transcript as text with `--text`); a refusal prints its message and hint on stderr and
//! exits 1. The admin token is read from an environment variable, never from an argument
//! (arguments show in `ps` and shell history).

use std::{io::Write, process::ExitCode, time::Duration};

use bytes::Bytes;
use clap::{Args, Subcommand};
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};

/// Longest an admin call may take.
const ADMIN_CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest a health check may take (a container runtime's check interval is seconds).
const HEALTHCHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// Where the admin listener is and how to authenticate.
#[derive(Args)]
pub(crate) struct Target {
    /// The admin listener's base URL.
    #[arg(
        long,
        default_value = "http://127.0.0.1:9090",
        env = "LLM_GATEWAY_ADMIN_URL"
    )]
    url: String,
    /// The environment variable holding the admin token.
    #[arg(long, default_value = "LLM_GATEWAY_ADMIN_TOKEN")]
    token_env: String,
}

#[derive(Subcommand)]
pub(crate) enum AdminCommand {
    /// A subject's quota windows and spend today / this month by model.
    Usage { subject: String },
    /// An organisation's shared quota windows and spend.
    OrgUsage { org: String },
    /// Which policy applies to a principal and each limit with its source (a dry run).
    Limits {
        subject: String,
        #[arg(long)]
        org: Option<String>,
        #[arg(long)]
        plan: Option<String>,
    },
    /// Top spenders, highest first.
    Spenders {
        /// This month instead of today.
        #[arg(long)]
        month: bool,
        /// Organisations instead of subjects.
        #[arg(long)]
        orgs: bool,
        #[arg(long, default_value_t = 0)]
        offset: usize,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// The gateway's spend per day.
    Spend {
        #[arg(long, default_value_t = 30)]
        days: usize,
    },
    /// This replica's recent requests (metadata only).
    Requests {
        #[arg(long)]
        subject: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// The policies in force and any refused reload.
    Policies,
    /// The audit log, newest first.
    Audit {
        #[arg(long, default_value_t = 0)]
        offset: usize,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// A session's transcript.
    Session {
        id: String,
        /// As text, like `transcripts show`.
        #[arg(long)]
        text: bool,
    },
    /// Raise or lower limits for a subject or org until an expiry (default 24 h).
    Override {
        #[command(flatten)]
        who: Who,
        /// `usd_per_day=25`, `requests_per_minute=100`, … (repeatable).
        #[arg(long = "limit", required = true, value_parser = parse_limit)]
        limits: Vec<(String, String)>,
        #[arg(long)]
        reason: String,
        /// e.g. `8h`.
        #[arg(long)]
        expires_in: Option<String>,
    },
    /// Every override.
    Overrides,
    /// Remove an override by id.
    RemoveOverride { id: String },
    /// Refuse a subject, org, token `jti` or virtual key id.
    Block {
        /// `subject`, `org`, `jti` or `key`.
        kind: String,
        value: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        expires_in: Option<String>,
    },
    /// Every block.
    Blocks,
    /// Lift a block by id.
    Unblock { id: String },
    /// Create a virtual key; its token is printed once.
    CreateKey {
        #[arg(long)]
        subject: String,
        #[arg(long)]
        org: Option<String>,
        #[arg(long)]
        plan: Option<String>,
        /// Lifetime budget in US dollars.
        #[arg(long)]
        budget_usd: Option<String>,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        expires_in: Option<String>,
    },
    /// Every virtual key (never their tokens).
    Keys,
    /// Revoke a virtual key by id.
    RevokeKey { id: String },
    /// Forget a subject's quota usage (audited; nothing else ever resets usage).
    ResetUsage {
        subject: String,
        #[arg(long)]
        reason: String,
    },
}

/// A subject or an org.
#[derive(Args)]
#[group(required = true, multiple = false)]
pub(crate) struct Who {
    #[arg(long)]
    subject: Option<String>,
    #[arg(long)]
    org: Option<String>,
}

fn parse_limit(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .ok_or_else(|| format!("`{s}`: write key=value, e.g. usd_per_day=25"))
}

fn segment(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The call a subcommand makes: method, path and query, JSON body.
fn call(command: AdminCommand) -> (http::Method, String, Option<Value>) {
    use http::Method;
    match command {
        AdminCommand::Usage { subject } => (
            Method::GET,
            format!("/admin/usage/{}", segment(&subject)),
            None,
        ),
        AdminCommand::OrgUsage { org } => (
            Method::GET,
            format!("/admin/orgs/{}/usage", segment(&org)),
            None,
        ),
        AdminCommand::Limits { subject, org, plan } => {
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            if let Some(o) = org {
                q.append_pair("org", &o);
            }
            if let Some(p) = plan {
                q.append_pair("plan", &p);
            }
            (
                Method::GET,
                format!("/admin/limits/{}?{}", segment(&subject), q.finish()),
                None,
            )
        }
        AdminCommand::Spenders {
            month,
            orgs,
            offset,
            limit,
        } => (
            Method::GET,
            format!(
                "/admin/spenders?window={}&scope={}&offset={offset}&limit={limit}",
                if month { "month" } else { "day" },
                if orgs { "org" } else { "subject" }
            ),
            None,
        ),
        AdminCommand::Spend { days } => (Method::GET, format!("/admin/spend?days={days}"), None),
        AdminCommand::Requests { subject, limit } => (
            Method::GET,
            match subject {
                Some(s) => format!("/admin/requests?limit={limit}&subject={}", segment(&s)),
                None => format!("/admin/requests?limit={limit}"),
            },
            None,
        ),
        AdminCommand::Policies => (Method::GET, "/admin/policies".to_owned(), None),
        AdminCommand::Audit { offset, limit } => (
            Method::GET,
            format!("/admin/audit?offset={offset}&limit={limit}"),
            None,
        ),
        AdminCommand::Session { id, text } => (
            Method::GET,
            format!(
                "/admin/sessions/{}{}",
                segment(&id),
                if text { "?format=text" } else { "" }
            ),
            None,
        ),
        AdminCommand::Override {
            who,
            limits,
            reason,
            expires_in,
        } => {
            let (scope, target) = match (who.subject, who.org) {
                (Some(s), _) => ("subject", s),
                (None, Some(o)) => ("org", o),
                (None, None) => ("subject", String::new()),
            };
            let limits: serde_json::Map<String, Value> = limits
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect();
            let mut body =
                json!({ "scope": scope, "target": target, "limits": limits, "reason": reason });
            if let Some(e) = expires_in {
                body["expires_in"] = e.into();
            }
            (Method::POST, "/admin/overrides".to_owned(), Some(body))
        }
        AdminCommand::Overrides => (Method::GET, "/admin/overrides".to_owned(), None),
        AdminCommand::RemoveOverride { id } => (
            Method::DELETE,
            format!("/admin/overrides/{}", segment(&id)),
            None,
        ),
        AdminCommand::Block {
            kind,
            value,
            reason,
            expires_in,
        } => {
            let mut body = json!({ "kind": kind, "value": value, "reason": reason });
            if let Some(e) = expires_in {
                body["expires_in"] = e.into();
            }
            (Method::POST, "/admin/blocks".to_owned(), Some(body))
        }
        AdminCommand::Blocks => (Method::GET, "/admin/blocks".to_owned(), None),
        AdminCommand::Unblock { id } => (
            Method::DELETE,
            format!("/admin/blocks/{}", segment(&id)),
            None,
        ),
        AdminCommand::CreateKey {
            subject,
            org,
            plan,
            budget_usd,
            description,
            expires_in,
        } => {
            let mut body = json!({ "subject": subject });
            for (k, v) in [
                ("org", org),
                ("plan", plan),
                ("budget_usd", budget_usd),
                ("description", description),
                ("expires_in", expires_in),
            ] {
                if let Some(v) = v {
                    body[k] = v.into();
                }
            }
            (Method::POST, "/admin/keys".to_owned(), Some(body))
        }
        AdminCommand::Keys => (Method::GET, "/admin/keys".to_owned(), None),
        AdminCommand::RevokeKey { id } => (
            Method::DELETE,
            format!("/admin/keys/{}", segment(&id)),
            None,
        ),
        AdminCommand::ResetUsage { subject, reason } => (
            Method::POST,
            format!("/admin/usage/{}/reset", segment(&subject)),
            Some(json!({ "reason": reason })),
        ),
    }
}

/// Runs one admin subcommand.
pub(crate) fn run(target: Target, command: AdminCommand) -> ExitCode {
    let token = match std::env::var(&target.token_env) {
        Ok(t) if !t.is_empty() => t,
        _ => {
            let _ = writeln!(
                std::io::stderr(),
                "set {} to an admin token (or pass --token-env NAME)",
                target.token_env
            );
            return ExitCode::FAILURE;
        }
    };
    let (method, path, body) = call(command);
    let url = format!("{}{path}", target.url.trim_end_matches('/'));
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        tokio::time::timeout(ADMIN_CALL_TIMEOUT, send(method, &url, &token, body))
            .await
            .unwrap_or_else(|_| {
                Err(format!(
                    "no answer from {url} within {ADMIN_CALL_TIMEOUT:?}"
                ))
            })
    });
    match result {
        Ok((status, text)) if status.is_success() => {
            let out = match serde_json::from_str::<Value>(&text) {
                Ok(v) => serde_json::to_string_pretty(&v).unwrap_or(text),
                Err(_) => text,
            };
            let _ = writeln!(std::io::stdout(), "{out}");
            ExitCode::SUCCESS
        }
        Ok((status, text)) => {
            let v: Value = serde_json::from_str(&text).unwrap_or_default();
            let message = v["error"]["message"].as_str().unwrap_or(text.as_str());
            let _ = writeln!(std::io::stderr(), "{} {message}", status.as_u16());
            if let Some(hint) = v["error"]["hint"].as_str() {
                let _ = writeln!(std::io::stderr(), "hint: {hint}");
            }
            ExitCode::FAILURE
        }
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "{e}; is the gateway's admin listener at {}?",
                target.url
            );
            ExitCode::FAILURE
        }
    }
}

/// `llm-gateway healthcheck`: exit 0 when the admin listener at `url` answers `/healthz`
/// with 200 (a container's HEALTHCHECK; no shell or curl needed in the image).
pub(crate) fn healthcheck(url: &str) -> ExitCode {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return ExitCode::FAILURE;
    };
    let target = format!("{}/healthz", url.trim_end_matches('/'));
    let answered = runtime.block_on(async {
        tokio::time::timeout(
            HEALTHCHECK_TIMEOUT,
            send(http::Method::GET, &target, "", None),
        )
        .await
    });
    match answered {
        Ok(Ok((status, _))) if status == http::StatusCode::OK => ExitCode::SUCCESS,
        Ok(Ok((status, _))) => {
            let _ = writeln!(std::io::stderr(), "{target}: {status}");
            ExitCode::FAILURE
        }
        Ok(Err(e)) => {
            let _ = writeln!(std::io::stderr(), "{e}");
            ExitCode::FAILURE
        }
        Err(_) => {
            let _ = writeln!(
                std::io::stderr(),
                "{target}: no answer within {HEALTHCHECK_TIMEOUT:?}"
            );
            ExitCode::FAILURE
        }
    }
}

async fn send(
    method: http::Method,
    url: &str,
    token: &str,
    body: Option<Value>,
) -> Result<(http::StatusCode, String), String> {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let mut req = http::Request::builder().method(method).uri(url);
    if !token.is_empty() {
        req = req.header(http::header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let bytes = match body {
        Some(b) => {
            req = req.header(http::header::CONTENT_TYPE, "application/json");
            Bytes::from(b.to_string())
        }
        None => Bytes::new(),
    };
    let req = req
        .body(Full::new(bytes))
        .map_err(|e| format!("bad request: {e}"))?;
    let resp = client
        .request(req)
        .await
        .map_err(|e| format!("cannot reach {url}: {e}"))?;
    let status = resp.status();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("the answer from {url} was cut: {e}"))?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}
