//! The admin listener's service: health and readiness (gateway-admin), Prometheus metrics
//! (`GET /metrics`), and the admin API (`GET /admin/usage/{subject}`), protected by
//! `[admin] token_sha256`.

use std::{convert::Infallible, future::Future, pin::Pin, sync::Arc};

use bytes::Bytes;
use gateway_admin::Readiness;
use http::{HeaderValue, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use sha2::Digest;
use subtle::ConstantTimeEq;

use crate::{Gateway, ResponseBody};

type AdminFuture = Pin<Box<dyn Future<Output = Result<Response<ResponseBody>, Infallible>> + Send>>;

fn json(status: StatusCode, value: &serde_json::Value) -> Response<ResponseBody> {
    let mut r = Response::new(ResponseBody::from(Bytes::from(value.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn error(status: StatusCode, message: &str) -> Response<ResponseBody> {
    json(
        status,
        &serde_json::json!({ "error": { "message": message } }),
    )
}

/// Whether the request carries the admin token.
fn authorized(gw: &Gateway, req: &Request<Incoming>) -> Result<(), Box<Response<ResponseBody>>> {
    let Some(expected) = gw.admin_token_sha256 else {
        return Err(Box::new(error(
            StatusCode::NOT_FOUND,
            "the admin API is off: set [admin] token_sha256 to the SHA-256 of an admin token",
        )));
    };
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let digest: [u8; 32] = sha2::Sha256::digest(token.as_bytes()).into();
    if bool::from(digest.ct_eq(&expected)) {
        Ok(())
    } else {
        Err(Box::new(error(
            StatusCode::UNAUTHORIZED,
            "send the admin token as `Authorization: Bearer <token>`",
        )))
    }
}

/// The admin service for one connection.
pub(crate) fn service(
    gw: Arc<Gateway>,
    readiness: Readiness,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = Response<ResponseBody>,
    Error = Infallible,
    Future = AdminFuture,
> + Send
+ 'static {
    hyper::service::service_fn(move |req: Request<Incoming>| {
        let (gw, readiness) = (gw.clone(), readiness.clone());
        Box::pin(async move {
            let path = req.uri().path().to_owned();
            if path == "/metrics" && req.method() == http::Method::GET {
                return Ok(metrics(&gw));
            }
            if let Some(subject) = path.strip_prefix("/admin/usage/") {
                if let Err(refusal) = authorized(&gw, &req) {
                    return Ok(*refusal);
                }
                return Ok(usage(&gw, subject).await);
            }
            let mut problems = Vec::new();
            if gw.metering.degraded() {
                problems.push(
                    "quota store unreachable: running on the policies' on_store_error fallback",
                );
            }
            if let Some(t) = &gw.transcripts
                && !t.recorder().health().healthy
            {
                problems.push(
                    "transcript sink failing: records are retained and retried, then dropped (see llm_gateway_transcript_records_total and the log)",
                );
            }
            let response = gateway_admin::respond(req.method(), &path, &readiness, &problems);
            Ok(response.map(ResponseBody::from))
        }) as AdminFuture
    })
}

/// The text exposition format. Counters kept by stages that do not hold the registry are
/// brought up to date first.
fn metrics(gw: &Gateway) -> Response<ResponseBody> {
    gw.metrics.sync_auth_failures(&gw.auth.failure_counts());
    if let Some(t) = &gw.transcripts {
        let counts = t.recorder().counters().snapshot();
        gw.metrics.sync_transcripts(
            &counts.records_total(),
            counts.queue_depth + counts.retained,
        );
    }
    let mut r = Response::new(ResponseBody::from(Bytes::from(gw.metrics.render())));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

async fn usage(gw: &Gateway, subject: &str) -> Response<ResponseBody> {
    let subject = percent_decode(subject);
    match gw.metering.store().usage(&subject).await {
        Ok(buckets) => {
            let windows: Vec<serde_json::Value> = buckets
                .iter()
                .map(|b| {
                    serde_json::json!({
                        "limit_name": b.label,
                        "key": b.key,
                        "spent": b.spent,
                        "reserved": b.reserved,
                        "limit": b.limit,
                        "unit": if b.label.starts_with("usd") || b.label == "run_usd" { "micro_usd" } else if b.label.starts_with("tokens") { "tokens" } else { "requests" },
                        "resets_at": b.resets_at_ms.map(|ms| humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms)).to_string()),
                    })
                })
                .collect();
            json(
                StatusCode::OK,
                &serde_json::json!({ "subject": subject, "windows": windows, "store_errors": gw.metering.store_errors() }),
            )
        }
        Err(e) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("quota store unreachable: {e}"),
        ),
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("s={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}
