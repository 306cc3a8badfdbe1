//! One request from arrival to answer: read, record, check credentials, pick the scenario,
//! answer. Every request is recorded, whatever its answer.

use std::borrow::Cow;
use std::cell::Cell;
use std::sync::Arc;
use std::time::Duration;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use serde::Deserialize;

use crate::anthropic;
use crate::bedrock;
use crate::body::MockBody;
use crate::journal::{RecordedRequest, path_only};
use crate::openai::{self, Ids};
use crate::reply::json_string;
use crate::route::{self, Route, Surface};
use crate::script::{Answer, InterruptKind, Interruption, SCENARIO_HEADER, Scenario};
use crate::sse::{self, SseBody};
use crate::state::Shared;
use crate::vertex;

/// Largest request body read; the real upstream accepts 32 MB.
pub const BODY_MAX_BYTES: usize = 64 * 1024 * 1024;

/// The fields of an inference request the mock looks at.
#[derive(Debug, Deserialize)]
struct InferenceRequest<'a> {
    #[serde(default, borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    stream_options: Option<StreamOptions>,
}

#[derive(Debug, Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: Option<bool>,
}

#[derive(Debug)]
enum ReadError {
    TooLarge,
    Broken,
}

/// Answers one request, after the configured latency.
pub(crate) async fn handle(shared: Arc<Shared>, request: Request<Incoming>) -> Response<MockBody> {
    let (parts, body) = request.into_parts();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
    let route = Route::new(&parts.method, path_only(&path_and_query));
    let body = match Limited::new(body, BODY_MAX_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => {
            Err(ReadError::TooLarge)
        }
        Err(_) => Err(ReadError::Broken),
    };
    let bedrock = matches!(route, Route::BedrockInvoke | Route::BedrockStream);
    // Bedrock and Vertex check their own credentials; the token endpoint takes an assertion.
    let authorized = bedrock
        || route.vertex()
        || route == Route::VertexToken
        || route
            .surface()
            .authorized(shared.config.expect_api_key.as_deref(), &parts.headers);
    // Bedrock's own check: the signature covers the path as received and the body.
    let denied = match &body {
        Ok(bytes) if bedrock => {
            bedrock::authorize(&shared.config.bedrock, &parts, &path_and_query, bytes)
        }
        _ => None,
    };
    let vertex = vertex::early(&shared, route, &parts.headers);
    let path_model = route
        .vertex()
        .then(|| vertex::model_of(path_only(&path_and_query)).to_owned());
    let scenario = match parts.headers.get(SCENARIO_HEADER) {
        Some(value) => Some(
            value
                .to_str()
                .map_err(|_| "the value is not visible ASCII".to_owned())
                .and_then(Scenario::parse_header),
        ),
        None => shared
            .config
            .scenario
            .as_deref()
            .map(Scenario::parse_header),
    };
    shared.record(RecordedRequest {
        method: parts.method,
        path_and_query,
        headers: parts.headers,
        body: body.as_ref().map_or_else(|_| Bytes::new(), Bytes::clone),
    });
    let id = shared.next_id();
    let call = Call {
        shared: &shared,
        route,
        id,
        request_id: format!("req_mock_{id}"),
        stall: Cell::new(Duration::ZERO),
        cut: Cell::new(None),
        path_model,
    };
    let response = match (denied, vertex) {
        (Some(denied), _) => call.bedrock_error(StatusCode::FORBIDDEN, denied),
        (None, vertex::Early::Denied(status, body)) => {
            vertex::error_response(status, body, &call.request_id)
        }
        (None, vertex::Early::Token { host }) => {
            let form = body.as_deref().unwrap_or_default();
            vertex::answer_token_request(&shared.tokens, &host, form, id, &call.request_id)
        }
        (None, vertex::Early::Normal) => call.answer(body, authorized, scenario),
    };
    let wait = shared.config.latency + call.stall.get();
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
    response
}

/// One request being answered.
struct Call<'a> {
    shared: &'a Arc<Shared>,
    route: Route,
    id: u64,
    request_id: String,
    /// A scripted silence before the head (`Script::StallBeforeHead`).
    stall: Cell<Duration>,
    /// The seed of a scripted cut stream (`Script::Cut`).
    cut: Cell<Option<u64>>,
    /// A Vertex route's model id, from its path.
    path_model: Option<String>,
}

impl Call<'_> {
    fn answer(
        &self,
        body: Result<Bytes, ReadError>,
        authorized: bool,
        scenario: Option<Result<Scenario, String>>,
    ) -> Response<MockBody> {
        if self.route == Route::NotFound {
            return self.error(StatusCode::NOT_FOUND, None);
        }
        let body = match body {
            Ok(body) => body,
            Err(ReadError::TooLarge) => return self.error(StatusCode::PAYLOAD_TOO_LARGE, None),
            Err(ReadError::Broken) => {
                return self.error(
                    StatusCode::BAD_REQUEST,
                    Some("could not read the request body"),
                );
            }
        };
        if !authorized {
            return self.error(StatusCode::UNAUTHORIZED, None);
        }
        let scenario = match scenario.transpose() {
            Ok(scenario) => scenario,
            Err(problem) => {
                let message = format!("{SCENARIO_HEADER}: {problem}");
                return self.error(StatusCode::BAD_REQUEST, Some(&message));
            }
        };
        match self.route {
            Route::CountTokens | Route::Models => match scenario {
                Some(Scenario::Answer(answer)) => self.scripted(answer),
                Some(Scenario::Stall(pause)) => {
                    self.stall.set(pause);
                    self.json(anthropic::MODELS)
                }
                _ if self.route == Route::Models => self.json(anthropic::MODELS),
                _ => self.json(format!(r#"{{"input_tokens":{}}}"#, (body.len() / 4).max(1))),
            },
            _ => self.inference(&body, scenario),
        }
    }

    fn inference(&self, body: &[u8], header_scenario: Option<Scenario>) -> Response<MockBody> {
        let request: InferenceRequest<'_> = match serde_json::from_slice(body) {
            Ok(request) => request,
            Err(error) => {
                let message = format!("invalid JSON body: {error}");
                return self.error(StatusCode::BAD_REQUEST, Some(&message));
            }
        };
        // The Bedrock body contract: the model is in the path, the version in the body.
        if matches!(self.route, Route::BedrockInvoke | Route::BedrockStream)
            && (request.model.is_some()
                || request.stream.is_some()
                || !body
                    .windows(40)
                    .any(|w| w == br#""anthropic_version":"bedrock-2023-05-31""#))
        {
            let message = "Bedrock bodies carry anthropic_version \"bedrock-2023-05-31\" and no model or stream";
            return self.error(StatusCode::BAD_REQUEST, Some(message));
        }
        if self.route.vertex()
            && let Some(message) = vertex::contract(body)
        {
            return self.error(StatusCode::BAD_REQUEST, Some(message));
        }
        let bedrock_stream = self.route == Route::BedrockStream;
        let streaming =
            request.stream == Some(true) || bedrock_stream || self.route == Route::VertexStream;
        let scenario = header_scenario.or_else(|| {
            self.shared
                .take_script(streaming, bedrock_stream)
                .map(Scenario::from)
        });
        let interruption = match scenario {
            Some(Scenario::Interrupt(interruption)) => Some(interruption),
            Some(Scenario::Answer(answer)) => return self.scripted(answer),
            Some(Scenario::Stall(pause)) => {
                self.stall.set(pause);
                None
            }
            Some(Scenario::Cut(seed)) => {
                self.cut.set(Some(seed));
                None
            }
            None => None,
        };
        if !bedrock_stream
            && interruption.as_ref().is_some_and(|i| {
                matches!(i.kind, InterruptKind::BadCrc | InterruptKind::Oversized(_))
            })
        {
            let message = format!("{SCENARIO_HEADER}: frame faults apply to Bedrock streams only");
            return self.error(StatusCode::BAD_REQUEST, Some(&message));
        }
        let default_model = match self.route.surface() {
            Surface::Anthropic => anthropic::DEFAULT_MODEL,
            Surface::OpenAi => openai::DEFAULT_MODEL,
        };
        let model = self.path_model.as_deref().or(request.model.as_deref());
        let model_json = json_string(model.unwrap_or(default_model));
        let canned = &self.shared.canned;
        let ids = Ids {
            id: self.id,
            created: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |since| since.as_secs()),
            model_json: &model_json,
        };
        let interruption = interruption.as_ref();
        match (self.route, streaming) {
            (Route::Messages | Route::BedrockInvoke | Route::VertexPredict, false) => {
                self.json(canned.anthropic.message(self.id, &model_json))
            }
            (Route::Messages | Route::VertexPredict | Route::VertexStream, true) => self.stream(
                canned.anthropic.stream(self.id, &model_json),
                interruption,
                |_, kind, message| anthropic::stream_error(kind, message),
            ),
            (Route::BedrockStream, _) => {
                let sse = canned.anthropic.stream(self.id, &model_json);
                let (frames, interruption) = bedrock::stream(&sse, interruption);
                let mut response =
                    self.stream(frames, interruption.as_ref(), |_, kind, message| {
                        bedrock::exception(kind, message)
                    });
                response.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static(bedrock::EVENT_STREAM_CONTENT_TYPE),
                );
                response
            }
            (Route::ChatCompletions, false) => self.json(canned.chat.completion(&ids)),
            (Route::ChatCompletions, true) => {
                let include_usage = request
                    .stream_options
                    .and_then(|options| options.include_usage)
                    == Some(true);
                self.stream(
                    canned.chat.stream(&ids, include_usage),
                    interruption,
                    |_, kind, message| openai::chat::stream_error(kind, message),
                )
            }
            (_, false) => self.json(canned.responses.response(&ids)),
            (_, true) => self.stream(
                canned.responses.stream(&ids),
                interruption,
                openai::responses::stream_error,
            ),
        }
    }

    fn stream(
        &self,
        frames: sse::Frames,
        interruption: Option<&Interruption>,
        error_frame: impl FnOnce(usize, &str, &str) -> Bytes,
    ) -> Response<MockBody> {
        let mut steps = sse::plan(
            frames,
            self.shared.config.inter_token_delay,
            interruption,
            error_frame,
        );
        if let Some(seed) = self.cut.get() {
            steps = sse::cut(steps, seed);
        }
        let mut response = Response::new(MockBody::Sse(SseBody::new(steps, self.shared.clone())));
        let headers = response.headers_mut();
        self.route
            .surface()
            .answer_headers(headers, &self.request_id);
        route::sse_content_type(headers);
        response
    }

    fn json(&self, body: impl Into<Bytes>) -> Response<MockBody> {
        self.respond(StatusCode::OK, body.into())
    }

    fn respond(&self, status: StatusCode, body: Bytes) -> Response<MockBody> {
        let mut response = Response::new(MockBody::full(body));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        self.route
            .surface()
            .answer_headers(headers, &self.request_id);
        route::json_content_type(headers);
        response
    }

    /// A Bedrock error answer.
    fn bedrock_error(
        &self,
        status: StatusCode,
        answer: bedrock::ErrorAnswer,
    ) -> Response<MockBody> {
        bedrock::error_response(status, answer, &self.request_id)
    }

    /// A realistic provider error for `status` in the route's shape (Bedrock's on its routes),
    /// with `message` if given.
    fn error(&self, status: StatusCode, message: Option<&str>) -> Response<MockBody> {
        if matches!(self.route, Route::BedrockInvoke | Route::BedrockStream) {
            let answer = bedrock::error_for_status(status.as_u16(), message);
            return self.bedrock_error(status, answer);
        }
        if self.route.vertex() {
            let code = status.as_u16();
            let body = vertex::error_body(code, message.unwrap_or(vertex::default_message(code)));
            return vertex::error_response(status, body, &self.request_id);
        }
        let body = match self.route.surface() {
            Surface::Anthropic => {
                let (kind, default_message) = anthropic::error_for_status(status.as_u16());
                let message = message.unwrap_or(default_message);
                anthropic::error_body(kind, message, &self.request_id)
            }
            Surface::OpenAi => {
                let (default_message, kind, code) = openai::error_for_status(status.as_u16());
                openai::error_body(message.unwrap_or(default_message), kind, code)
            }
        };
        self.respond(status, body)
    }

    /// Answers a replacement answer.
    fn scripted(&self, answer: Answer) -> Response<MockBody> {
        match answer {
            Answer::Verbatim {
                status,
                headers,
                body,
            } => self.verbatim(status, &headers, body),
            Answer::ProviderError {
                status,
                retry_after,
                should_retry,
            } => {
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
                let mut response = self.error(status, None);
                let headers = response.headers_mut();
                if let Some(value) = retry_after.and_then(|v| HeaderValue::try_from(v).ok()) {
                    headers.insert(http::header::RETRY_AFTER, value);
                }
                if let Some(should_retry) = should_retry {
                    headers.insert(
                        HeaderName::from_static("x-should-retry"),
                        HeaderValue::from_static(if should_retry { "true" } else { "false" }),
                    );
                }
                response
            }
        }
    }

    fn verbatim(
        &self,
        status: u16,
        headers: &[(String, String)],
        body: String,
    ) -> Response<MockBody> {
        let Ok(status) = StatusCode::from_u16(status) else {
            let message = format!("scripted status {status} is not a valid HTTP status");
            return self.error(StatusCode::INTERNAL_SERVER_ERROR, Some(&message));
        };
        let mut response = Response::new(MockBody::full(body));
        *response.status_mut() = status;
        let map = response.headers_mut();
        self.route
            .surface()
            .request_id_header(map, &self.request_id);
        for (name, value) in headers {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::try_from(value.as_str()),
            ) {
                map.append(name, value);
            }
        }
        if !map.contains_key(CONTENT_TYPE) {
            route::json_content_type(map);
        }
        response
    }
}
