//! The route table: which paths the gateway serves, under which product prefixes, which
//! model API each one speaks, and the named list of routes that need no credential.

use gateway_core::{Api, Provider};
use http::Method;

/// A model-provider endpoint the gateway proxies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `POST /v1/messages`
    Messages,
    /// `POST /v1/messages/count_tokens`
    CountTokens,
    /// `GET /v1/models`
    Models,
    /// `POST /v1/chat/completions`
    ChatCompletions,
    /// `POST /v1/responses`
    Responses,
}

impl Endpoint {
    /// Every endpoint, in declaration order (`as usize` indexes it).
    pub(crate) const ALL: [Self; 5] = [
        Self::Messages,
        Self::CountTokens,
        Self::Models,
        Self::ChatCompletions,
        Self::Responses,
    ];

    fn from_path(path: &str) -> Option<Self> {
        Some(match path {
            "/v1/messages" => Self::Messages,
            "/v1/messages/count_tokens" => Self::CountTokens,
            "/v1/models" => Self::Models,
            "/v1/chat/completions" => Self::ChatCompletions,
            "/v1/responses" => Self::Responses,
            _ => return None,
        })
    }

    /// The upstream path (the route path itself: prefixes never reach the provider).
    pub(crate) fn path(self) -> &'static str {
        match self {
            Self::Messages => "/v1/messages",
            Self::CountTokens => "/v1/messages/count_tokens",
            Self::Models => "/v1/models",
            Self::ChatCompletions => "/v1/chat/completions",
            Self::Responses => "/v1/responses",
        }
    }

    pub(crate) fn method(self) -> Method {
        match self {
            Self::Models => Method::GET,
            _ => Method::POST,
        }
    }

    pub(crate) fn provider(self) -> Provider {
        match self {
            Self::Messages | Self::CountTokens | Self::Models => Provider::Anthropic,
            Self::ChatCompletions | Self::Responses => Provider::OpenAi,
        }
    }

    /// The model API of the request body, which fixes its field names for metering,
    /// redaction, restore and transcripts (`count_tokens` takes a Messages body); `None` for
    /// a route without a model body. The one endpoint → API mapping of the gateway.
    pub(crate) fn body_api(self) -> Option<Api> {
        match self {
            Self::Messages | Self::CountTokens => Some(Api::AnthropicMessages),
            Self::ChatCompletions => Some(Api::OpenAiChat),
            Self::Responses => Some(Api::OpenAiResponses),
            Self::Models => None,
        }
    }

    /// The API of a metered (priced, reserved, recorded) endpoint; `None` for free ones
    /// (`count_tokens`, `models`).
    pub(crate) fn metered_api(self) -> Option<Api> {
        match self {
            Self::CountTokens | Self::Models => None,
            _ => self.body_api(),
        }
    }

    /// A stable label for logs and metrics.
    pub(crate) fn as_label(self) -> &'static str {
        match self {
            Self::Messages => "messages",
            Self::CountTokens => "count_tokens",
            Self::Models => "models",
            Self::ChatCompletions => "chat_completions",
            Self::Responses => "responses",
        }
    }
}

/// What a request's method and path resolve to.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Resolved<'a> {
    /// `HEAD /` or `HEAD /api/hello`: a client's startup probe. The only routes served
    /// without a credential; answered at once with 200.
    Probe,
    /// A proxied endpoint, with the product prefix it came under (without its slash).
    Route {
        endpoint: Endpoint,
        product: Option<&'a str>,
    },
    /// A known path with the wrong method.
    WrongMethod(Endpoint),
    /// Nothing here.
    NotFound,
}

/// Resolves `path` (the query is not part of it) after stripping the longest matching product
/// prefix. `prefixes` are sorted longest first by the config.
pub(crate) fn resolve<'a>(method: &Method, path: &'a str, prefixes: &'a [String]) -> Resolved<'a> {
    let (rest, product) = prefixes
        .iter()
        .find_map(|p| match path.strip_prefix(p.as_str()) {
            Some("") => Some(("/", Some(&p[1..]))),
            Some(rest) if rest.starts_with('/') => Some((rest, Some(&p[1..]))),
            _ => None,
        })
        .unwrap_or((path, None));
    if method == Method::HEAD && matches!(rest, "/" | "/api/hello") {
        return Resolved::Probe;
    }
    match Endpoint::from_path(rest) {
        Some(endpoint) if endpoint.method() == method => Resolved::Route { endpoint, product },
        Some(endpoint) => Resolved::WrongMethod(endpoint),
        None => Resolved::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefixes() -> Vec<String> {
        vec!["/wizard/beta".into(), "/wizard".into()]
    }

    #[test]
    fn prefixes_are_stripped_and_recorded_as_product() {
        let p = prefixes();
        assert_eq!(
            resolve(&Method::POST, "/wizard/v1/messages", &p),
            Resolved::Route {
                endpoint: Endpoint::Messages,
                product: Some("wizard")
            }
        );
        assert_eq!(
            resolve(&Method::POST, "/wizard/beta/v1/chat/completions", &p),
            Resolved::Route {
                endpoint: Endpoint::ChatCompletions,
                product: Some("wizard/beta")
            }
        );
        assert_eq!(
            resolve(&Method::GET, "/v1/models", &p),
            Resolved::Route {
                endpoint: Endpoint::Models,
                product: None
            }
        );
        assert_eq!(
            resolve(&Method::POST, "/wizardx/v1/messages", &p),
            Resolved::NotFound
        );
    }

    #[test]
    fn probes_need_head_and_everything_else_is_not_found() {
        let p = prefixes();
        assert_eq!(resolve(&Method::HEAD, "/", &p), Resolved::Probe);
        assert_eq!(resolve(&Method::HEAD, "/api/hello", &p), Resolved::Probe);
        assert_eq!(
            resolve(&Method::HEAD, "/wizard/api/hello", &p),
            Resolved::Probe
        );
        assert_eq!(resolve(&Method::GET, "/api/hello", &p), Resolved::NotFound);
        assert_eq!(
            resolve(&Method::GET, "/v1/messages", &p),
            Resolved::WrongMethod(Endpoint::Messages)
        );
        assert_eq!(
            resolve(&Method::POST, "/v1/messages/", &p),
            Resolved::NotFound
        );
    }
}
