//! The Messages body as Vertex's `rawPredict` takes it: `model` out (it is in the path),
//! `anthropic_version: "vertex-2023-10-16"` in (first; a client's own `anthropic_version` is
//! replaced). Everything else, `stream` included, stays byte for byte: removed members are
//! cut out with the Bedrock transform's member cutter, the version inserted after the brace.

use gateway_core::json::{Edits, Object};

use crate::bedrock::body::{NotAnObject, insert_first, remove};

/// What Vertex's `rawPredict` wants in `anthropic_version`.
pub(crate) const VERTEX_ANTHROPIC_VERSION: &str = "vertex-2023-10-16";

/// A body ready for Vertex.
#[derive(Debug)]
pub(crate) struct Transformed {
    pub(crate) body: Vec<u8>,
    /// The client's `model`.
    pub(crate) model: Option<String>,
    /// `"stream": true`: `streamRawPredict`.
    pub(crate) stream: bool,
}

/// Transforms `body` for Vertex.
pub(crate) fn transform(body: &[u8]) -> Result<Transformed, NotAnObject> {
    let obj = Object::parse(body).map_err(NotAnObject)?;
    let model = obj
        .last("model")
        .and_then(|raw| serde_json::from_str::<String>(raw.get()).ok());
    let stream = obj
        .last("stream")
        .is_some_and(|raw| raw.get().trim() == "true");
    let whole = 0..body.len();
    let mut edits = Edits::default();
    let kept = remove(body, whole.clone(), &obj, &mut edits, |key| {
        !matches!(key, "model" | "anthropic_version")
    });
    let first = format!("\"anthropic_version\":\"{VERTEX_ANTHROPIC_VERSION}\"");
    let body = insert_first(body, edits, kept, first)?;
    Ok(Transformed {
        body,
        model,
        stream,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(t: &Transformed) -> &str {
        std::str::from_utf8(&t.body).unwrap()
    }

    #[test]
    fn model_goes_the_version_comes_in_first_and_every_other_byte_stays() {
        let t = transform(
            br#"{"model":"claude-sonnet-4-6", "max_tokens" : 10,"stream":true,"service_tier":"auto","messages":[{"role":"user","content":"h\u00e9"}]}"#,
        )
        .unwrap();
        assert_eq!(
            text(&t),
            r#"{"anthropic_version":"vertex-2023-10-16", "max_tokens" : 10,"stream":true,"service_tier":"auto","messages":[{"role":"user","content":"h\u00e9"}]}"#
        );
        assert_eq!(t.model.as_deref(), Some("claude-sonnet-4-6"));
        assert!(t.stream);
    }

    #[test]
    fn a_clients_version_is_replaced_and_a_model_only_body_keeps_just_the_version() {
        let t = transform(br#"{ "messages":[],"anthropic_version":"2023-06-01","model":"m" }"#)
            .unwrap();
        assert_eq!(
            text(&t),
            r#"{"anthropic_version":"vertex-2023-10-16", "messages":[] }"#
        );
        assert!(!t.stream);
        let t = transform(br#"{"model":"m"}"#).unwrap();
        assert_eq!(text(&t), r#"{"anthropic_version":"vertex-2023-10-16"}"#);
        assert!(transform(b"[1]").is_err());
    }
}
