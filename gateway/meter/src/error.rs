//! [`MeterError`]: why a request body could not be inspected or edited.

/// A request body the meter cannot read or edit. Messages are shown to the client: they say
/// what to fix.
#[derive(Debug, thiserror::Error)]
pub enum MeterError {
    /// The body is not JSON.
    #[error("request body is not valid JSON (line {line}, column {column}); send one JSON object")]
    InvalidJson {
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// The parser's description.
        #[source]
        source: serde_json::Error,
    },
    /// The body is JSON but not an object.
    #[error("request body must be a JSON object, like {{\"model\": …, …}}")]
    NotAnObject,
    /// A field the gateway reads has the wrong type.
    #[error("request field `{field}` must be {expected}")]
    InvalidField {
        /// The field's path, e.g. `stream_options.include_usage`.
        field: &'static str,
        /// What the field must be, e.g. `a non-negative integer`.
        expected: &'static str,
    },
    /// The body parsed but an edit could not be placed; a bug in the gateway.
    #[error("the gateway could not edit the request body; this is a gateway bug, please report it")]
    Internal,
}

impl MeterError {
    pub(crate) fn json(source: serde_json::Error) -> Self {
        if source.classify() == serde_json::error::Category::Data {
            return Self::NotAnObject;
        }
        Self::InvalidJson {
            line: source.line(),
            column: source.column(),
            source,
        }
    }
}
