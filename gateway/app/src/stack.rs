//! The tower shell: request-agnostic concerns, outermost first. Each line says why it sits
//! where it does; the LLM stages are in `pipeline.rs`.

use std::{convert::Infallible, net::SocketAddr, sync::Arc};

use bytes::Bytes;
use gateway_core::BoxError;
use http::{HeaderMap, HeaderName, Request, header};
use hyper::body::Incoming;
use tower::ServiceBuilder;
use tower_http::{
    request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer},
    sensitive_headers::SetSensitiveRequestHeadersLayer,
    trace::TraceLayer,
};

use crate::Gateway;

/// The header carrying the gateway's request id, set on every request and response.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-gateway-request-id");

/// The request id set by the stack (empty only if the stack was bypassed).
pub(crate) fn request_id(headers: &HeaderMap) -> &str {
    headers
        .get(&REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// The client-facing service for one connection from `peer`.
pub(crate) fn proxy_service(
    gw: Arc<Gateway>,
    peer: SocketAddr,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = http::Response<
        impl http_body::Body<Data = Bytes, Error = BoxError> + Send + 'static,
    >,
    Error = Infallible,
    Future = impl std::future::Future + Send + 'static,
> + Send
+ 'static {
    let pipeline = tower::service_fn(move |req: Request<Incoming>| {
        let gw = gw.clone();
        async move { Ok::<_, Infallible>(crate::pipeline::handle(&gw, req, peer).await) }
    });
    let service = ServiceBuilder::new()
        // First: nothing below may print a credential, not even a debug log of the head.
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            HeaderName::from_static("x-api-key"),
        ]))
        // An id before anything logs, so every line of this request carries it...
        .layer(SetRequestIdLayer::new(
            REQUEST_ID_HEADER,
            RequestIds::default(),
        ))
        // ...and the client gets it back to quote in a support ticket.
        .layer(PropagateRequestIdLayer::new(REQUEST_ID_HEADER))
        // One span per request; stages record route, product and subject into it.
        .layer(
            TraceLayer::new_for_http().make_span_with(move |req: &Request<Incoming>| {
                tracing::info_span!(
                    "request",
                    id = request_id(req.headers()),
                    method = %req.method(),
                    path = req.uri().path(),
                    %peer,
                    route = tracing::field::Empty,
                    product = tracing::field::Empty,
                    subject = tracing::field::Empty,
                )
            }),
        )
        .service(pipeline);
    hyper_util::service::TowerToHyperService::new(service)
}

/// Request ids: a random per-process prefix and a counter (`gw-<16 hex>-<n>`). Unique across
/// replicas without a random-number system call per request.
#[derive(Clone, Debug)]
struct RequestIds {
    prefix: Arc<str>,
    next: Arc<std::sync::atomic::AtomicU64>,
}

impl Default for RequestIds {
    fn default() -> Self {
        let random = uuid::Uuid::new_v4().simple().to_string();
        Self {
            prefix: Arc::from(format!("gw-{}", &random[..16])),
            next: Arc::new(std::sync::atomic::AtomicU64::new(1)),
        }
    }
}

impl MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut digits = itoa::Buffer::new();
        let n = digits.format(n);
        // One allocation, handed to the header value as it is (no formatting, no copy).
        let mut id = String::with_capacity(self.prefix.len() + 1 + n.len());
        id.push_str(&self.prefix);
        id.push('-');
        id.push_str(n);
        http::HeaderValue::try_from(id).ok().map(RequestId::new)
    }
}
