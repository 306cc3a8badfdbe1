//! The intake stage: the request body, read whole and bounded, and decoded.
//!
//! Owns: [`read_body`] (a declared or actual body over `server.request_body_max_bytes` is a
//! 413 before it is buffered) and [`decode`] (`content-encoding` `gzip`, `deflate`, `br`,
//! `zstd` and lists of them, bounded on the decoded size, so a zip bomb is a 413 and never an
//! allocation; the decoded body is forwarded with `content-encoding` removed).
//!
//! Invariants: every later stage (metering, redaction, transcripts) reads the body as JSON the
//! client meant, so nothing reads a compressed or partial body; a body that cannot be read or
//! decoded is refused, never forwarded.
//!
//! Not here: parsing the JSON (each stage reads what it needs), routing, authentication.

mod decode;

use bytes::Bytes;
use gateway_core::{ErrorKind, GatewayError};
use http::{HeaderMap, header};
use http_body::Body;
use http_body_util::{BodyExt, LengthLimitError, Limited};

pub use decode::decode;

/// Reads the request body up to `max` bytes; a declared or actual larger body is a 413.
pub async fn read_body<B>(body: B, headers: &HeaderMap, max: usize) -> Result<Bytes, GatewayError>
where
    B: Body,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let too_large = |size: Option<u64>| {
        let size = size.map_or_else(|| "more than".to_owned(), |n| format!("{n} bytes,"));
        GatewayError::new(
            ErrorKind::RequestTooLarge,
            format!(
                "the request body is {size} over this gateway's limit of {max} bytes; shorten the conversation (e.g. compact it) or attach smaller files"
            ),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large(declared));
    }
    match Limited::new(body, max).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large(None)),
        Err(e) => Err(GatewayError::new(
            ErrorKind::InvalidRequest,
            "the request body could not be read completely; retry the request",
        )
        .with_source(BodyReadError(e))),
    }
}

/// The client's body stream failed while we read it.
#[derive(Debug, thiserror::Error)]
#[error("reading the request body")]
struct BodyReadError(#[source] Box<dyn std::error::Error + Send + Sync>);

#[cfg(test)]
mod tests {
    use http_body_util::{Full, StreamBody};

    use super::*;

    #[tokio::test]
    async fn bodies_over_the_limit_are_413_whether_declared_or_not() {
        let mut declared = HeaderMap::new();
        declared.insert(header::CONTENT_LENGTH, "11".parse().unwrap());
        let e = read_body(Full::new(Bytes::from_static(b"hello world")), &declared, 10)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::RequestTooLarge);
        assert!(e.message().contains("11 bytes"), "{}", e.message());

        let chunks = futures_util::stream::iter(
            [b"hello ".as_slice(), b"world".as_slice()]
                .map(|c| Ok::<_, std::io::Error>(http_body::Frame::data(Bytes::from_static(c)))),
        );
        let e = read_body(StreamBody::new(chunks), &HeaderMap::new(), 10)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::RequestTooLarge);

        let ok = read_body(
            Full::new(Bytes::from_static(b"0123456789")),
            &HeaderMap::new(),
            10,
        )
        .await
        .unwrap();
        assert_eq!(&ok[..], b"0123456789");
    }

    #[tokio::test]
    async fn a_broken_client_stream_is_a_400_that_says_retry() {
        let chunks = futures_util::stream::iter([
            Ok(http_body::Frame::data(Bytes::from_static(b"{\"a\""))),
            Err(std::io::Error::other("reset")),
        ]);
        let e = read_body(StreamBody::new(chunks), &HeaderMap::new(), 100)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
        assert!(e.message().contains("retry"));
    }
}
