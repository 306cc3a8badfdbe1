//! The intake stage: the request body, read whole and bounded, and decoded.
//!
//! Owns: [`Intake::read`] (a declared or actual body over `server.request_body_max_bytes` is
//! a 413 before it is buffered; every body's bytes are reserved in the shared [`BodyBudget`],
//! `server.inflight_body_max_bytes`, so all bodies in flight together stay bounded) and
//! [`Intake::decode`] (`content-encoding` `gzip`, `deflate`, `br`, `zstd` and lists of them,
//! bounded on the decoded size, so a zip bomb is a 413 and never an allocation; the decoded
//! body is forwarded with `content-encoding` removed, and its growth is reserved too).
//!
//! Invariants: every later stage (metering, redaction, transcripts) reads the body as JSON the
//! client meant, so nothing reads a compressed or partial body; a body that cannot be read or
//! decoded is refused, never forwarded; no body byte is buffered unreserved.
//!
//! Not here: parsing the JSON (each stage reads what it needs), routing, authentication.

mod budget;
mod decode;

use bytes::{Buf, Bytes, BytesMut};
use gateway_core::{ErrorKind, GatewayError};
use http::{HeaderMap, header};
use http_body::Body;
use http_body_util::BodyExt;

pub use budget::{BodyBudget, BodyPermit};

/// The intake stage's settings: the per-body limit and the shared budget.
#[derive(Clone, Debug)]
pub struct Intake {
    max_bytes: usize,
    budget: BodyBudget,
}

impl Intake {
    /// Bodies up to `max_bytes` each, all together within `budget`.
    pub fn new(max_bytes: usize, budget: BodyBudget) -> Self {
        Self { max_bytes, budget }
    }

    /// The shared budget (for the in-flight gauge).
    pub fn budget(&self) -> &BodyBudget {
        &self.budget
    }

    /// Reads the request body, reserving its bytes; a declared or actual body over the limit
    /// is a 413, a body that does not fit the budget in time a 503. Keep the permit until the
    /// response ends.
    pub async fn read<B>(
        &self,
        body: B,
        headers: &HeaderMap,
    ) -> Result<(Bytes, BodyPermit), GatewayError>
    where
        B: Body + Unpin,
        B::Data: Buf,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        let max = self.max_bytes;
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > max as u64) {
            return Err(too_large(declared, max));
        }
        let declared = declared.and_then(|n| usize::try_from(n).ok());
        let mut permit = match declared {
            Some(n) => self.budget.reserve_declared(n).await?,
            None => BodyPermit::default(),
        };
        let mut body = body;
        let mut first: Option<Bytes> = None;
        let mut joined: Option<BytesMut> = None;
        let mut len = 0usize;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| {
                GatewayError::new(
                    ErrorKind::InvalidRequest,
                    "the request body could not be read completely; retry the request",
                )
                .with_source(BodyReadError(Box::new(e)))
            })?;
            let Ok(mut data) = frame.into_data() else {
                continue; // trailers carry nothing a later stage reads
            };
            let chunk = data.copy_to_bytes(data.remaining());
            if chunk.is_empty() {
                continue;
            }
            len += chunk.len();
            if len > max {
                return Err(too_large(None, max));
            }
            // An undeclared body reserves as it comes; a declared one already holds its
            // length, and hyper refuses a body longer than it declared.
            let short = len.saturating_sub(permit.bytes());
            self.budget.grow(&mut permit, short)?;
            match (&mut first, &mut joined) {
                (None, None) => first = Some(chunk),
                (Some(head), None) => {
                    let mut all = BytesMut::with_capacity(declared.unwrap_or(len).max(len));
                    all.extend_from_slice(head);
                    all.extend_from_slice(&chunk);
                    first = None;
                    joined = Some(all);
                }
                (_, Some(all)) => all.extend_from_slice(&chunk),
            }
        }
        let body = match (first, joined) {
            (_, Some(all)) => all.freeze(),
            (Some(one), None) => one,
            (None, None) => Bytes::new(),
        };
        Ok((body, permit))
    }

    /// The body as the client meant it: decoded when `content-encoding` names a supported
    /// coding (the header is then removed), unchanged otherwise; its growth reserved in
    /// `permit`.
    pub fn decode(
        &self,
        body: Bytes,
        headers: &mut HeaderMap,
        permit: &mut BodyPermit,
    ) -> Result<Bytes, GatewayError> {
        let decoded = decode::decode(body, headers, self.max_bytes)?;
        if decoded.len() > permit.bytes() {
            self.budget.grow(permit, decoded.len() - permit.bytes())?;
        }
        Ok(decoded)
    }
}

fn too_large(size: Option<u64>, max: usize) -> GatewayError {
    let size = size.map_or_else(|| "more than".to_owned(), |n| format!("{n} bytes,"));
    GatewayError::new(
        ErrorKind::RequestTooLarge,
        format!(
            "the request body is {size} over this gateway's limit of {max} bytes; shorten the conversation (e.g. compact it) or attach smaller files"
        ),
    )
}

/// The client's body stream failed while we read it.
#[derive(Debug, thiserror::Error)]
#[error("reading the request body")]
struct BodyReadError(#[source] Box<dyn std::error::Error + Send + Sync>);

#[cfg(test)]
mod tests {
    use http_body_util::{Full, StreamBody};

    use super::*;

    fn intake(max: usize, budget: usize) -> Intake {
        Intake::new(max, BodyBudget::new(budget, std::time::Duration::ZERO))
    }

    fn chunks(
        parts: &'static [&'static [u8]],
    ) -> StreamBody<impl futures_util::Stream<Item = Result<http_body::Frame<Bytes>, std::io::Error>>>
    {
        StreamBody::new(futures_util::stream::iter(
            parts
                .iter()
                .map(|c| Ok(http_body::Frame::data(Bytes::from_static(c)))),
        ))
    }

    fn declaring(n: usize) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_LENGTH, n.into());
        h
    }

    #[tokio::test]
    async fn bodies_over_the_limit_are_413_whether_declared_or_not() {
        let intake = intake(10, 100);
        let e = intake
            .read(
                Full::new(Bytes::from_static(b"hello world")),
                &declaring(11),
            )
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::RequestTooLarge);
        assert!(e.message().contains("11 bytes"), "{}", e.message());

        let e = intake
            .read(chunks(&[b"hello ", b"world"]), &HeaderMap::new())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::RequestTooLarge);

        let (ok, permit) = intake
            .read(
                Full::new(Bytes::from_static(b"0123456789")),
                &HeaderMap::new(),
            )
            .await
            .unwrap();
        assert_eq!(&ok[..], b"0123456789");
        assert_eq!(
            intake.budget().in_use(),
            10,
            "refused bodies returned theirs"
        );
        drop(permit);
        assert_eq!(intake.budget().in_use(), 0);
    }

    #[tokio::test]
    async fn every_body_byte_is_reserved_until_the_permit_drops() {
        let intake = intake(100, 25);
        let (a, pa) = intake
            .read(chunks(&[b"0123", b"456789"]), &HeaderMap::new())
            .await
            .unwrap();
        assert_eq!((&a[..], pa.bytes()), (&b"0123456789"[..], 10));
        let (b, pb) = intake
            .read(Full::new(Bytes::from_static(b"0123456789")), &declaring(10))
            .await
            .unwrap();
        assert_eq!(
            (b.len(), pb.bytes(), intake.budget().in_use()),
            (10, 10, 20)
        );
        // An undeclared body that outgrows the budget is refused, not waited for.
        let e = intake
            .read(chunks(&[b"0123", b"456789"]), &HeaderMap::new())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        assert_eq!(e.retry_after(), Some(std::time::Duration::from_secs(1)));
        assert_eq!(intake.budget().in_use(), 20);
        drop((pa, pb));
        assert_eq!(intake.budget().in_use(), 0);
    }

    #[tokio::test]
    async fn decoded_growth_is_reserved() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&[b'a'; 40]).unwrap();
        let packed = Bytes::from(gz.finish().unwrap());
        let mut headers = declaring(packed.len());
        headers.insert(header::CONTENT_ENCODING, "gzip".parse().unwrap());

        let intake = intake(100, 70);
        let (raw, mut permit) = intake
            .read(Full::new(packed.clone()), &headers)
            .await
            .unwrap();
        let body = intake.decode(raw, &mut headers, &mut permit).unwrap();
        assert_eq!((body.len(), permit.bytes()), (40, 40));

        // A second one fits raw, not decoded: the budget refuses the growth.
        let mut headers2 = declaring(packed.len());
        headers2.insert(header::CONTENT_ENCODING, "gzip".parse().unwrap());
        let (raw, mut p2) = intake.read(Full::new(packed), &headers2).await.unwrap();
        let e = intake.decode(raw, &mut headers2, &mut p2).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unavailable);
    }

    #[tokio::test]
    async fn a_broken_client_stream_is_a_400_that_says_retry() {
        let chunks = futures_util::stream::iter([
            Ok(http_body::Frame::data(Bytes::from_static(b"{\"a\""))),
            Err(std::io::Error::other("reset")),
        ]);
        let e = intake(100, 100)
            .read(StreamBody::new(chunks), &HeaderMap::new())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
        assert!(e.message().contains("retry"));
    }
}
