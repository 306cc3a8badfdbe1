//! Compressed request bodies: `content-encoding` `gzip`, `deflate`, `br` and `zstd` (and
//! lists of them) are decoded right after the body is read, so metering reads the request and
//! redaction scans it; the decoded body is forwarded with `content-encoding` removed (the
//! upstream client sets `content-length` from what it sends).
//!
//! Bounded: decoding stops one byte past `server.request_body_max_bytes` of *decoded* output,
//! so a zip bomb is a 413, never an allocation. An unknown encoding is a 415, data that does
//! not decode a 400; either way nothing is forwarded.

use std::io::Read;

use bytes::Bytes;
use gateway_core::{ErrorKind, GatewayError};
use http::{HeaderMap, header};

/// Most encodings one body may be wrapped in (`content-encoding: gzip, br`); more is refused.
const MAX_LAYERS: usize = 3;
/// Largest zstd window accepted (2^27 = 128 MiB, zstd's own default ceiling); a frame asking
/// for more is refused instead of allocated.
const ZSTD_WINDOW_LOG_MAX: u32 = 27;
/// Internal buffer of the brotli decoder.
const BROTLI_BUFFER_BYTES: usize = 64 * 1024;

/// One supported encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Coding {
    Gzip,
    Deflate,
    Brotli,
    Zstd,
}

impl Coding {
    fn parse(token: &str) -> Option<Option<Self>> {
        match token.to_ascii_lowercase().as_str() {
            "identity" | "" => Some(None),
            "gzip" | "x-gzip" => Some(Some(Self::Gzip)),
            "deflate" => Some(Some(Self::Deflate)),
            "br" => Some(Some(Self::Brotli)),
            "zstd" => Some(Some(Self::Zstd)),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Gzip => "gzip",
            Self::Deflate => "deflate",
            Self::Brotli => "br",
            Self::Zstd => "zstd",
        }
    }
}

/// The body as the client meant it: decoded when `content-encoding` names a supported
/// coding (the header is then removed from `headers`), unchanged otherwise.
pub(crate) fn decode(
    body: Bytes,
    headers: &mut HeaderMap,
    max: usize,
) -> Result<Bytes, GatewayError> {
    let Some(codings) = codings(headers)? else {
        return Ok(body);
    };
    let mut body = body;
    // Codings are listed in the order they were applied: undo them last first.
    for coding in codings.iter().rev() {
        body = decode_one(*coding, &body, max)?;
    }
    headers.remove(header::CONTENT_ENCODING);
    headers.remove(header::CONTENT_LENGTH);
    if !codings.is_empty() {
        tracing::debug!(
            encoding = %codings.iter().map(|c| c.name()).collect::<Vec<_>>().join(","),
            decoded_bytes = body.len(),
            "request body decoded"
        );
    }
    Ok(body)
}

/// The codings named by `content-encoding`, `None` without the header.
fn codings(headers: &HeaderMap) -> Result<Option<Vec<Coding>>, GatewayError> {
    let mut values = headers.get_all(header::CONTENT_ENCODING).iter().peekable();
    if values.peek().is_none() {
        return Ok(None);
    }
    let mut out = Vec::new();
    for value in values {
        let text = value.to_str().map_err(|_| unsupported("(not ASCII)"))?;
        for token in text.split(',').map(str::trim) {
            match Coding::parse(token) {
                Some(Some(c)) => out.push(c),
                Some(None) => {}
                None => return Err(unsupported(token)),
            }
        }
    }
    if out.len() > MAX_LAYERS {
        return Err(GatewayError::new(
            ErrorKind::UnsupportedMediaType,
            format!(
                "the request body is wrapped in {} content encodings; at most {MAX_LAYERS} are accepted",
                out.len()
            ),
        ));
    }
    Ok(Some(out))
}

fn decode_one(coding: Coding, data: &[u8], max: usize) -> Result<Bytes, GatewayError> {
    let result = match coding {
        Coding::Gzip => read_bounded(flate2::read::MultiGzDecoder::new(data), max),
        Coding::Deflate if is_zlib(data) => read_bounded(flate2::read::ZlibDecoder::new(data), max),
        // Some clients send raw DEFLATE (RFC 1951) for `deflate`; accept both.
        Coding::Deflate => read_bounded(flate2::read::DeflateDecoder::new(data), max),
        Coding::Brotli => read_bounded(brotli::Decompressor::new(data, BROTLI_BUFFER_BYTES), max),
        Coding::Zstd => match zstd::stream::read::Decoder::new(data) {
            Ok(mut d) => match d.window_log_max(ZSTD_WINDOW_LOG_MAX) {
                Ok(()) => read_bounded(d, max),
                Err(e) => Err(Failure::Corrupt(e)),
            },
            Err(e) => Err(Failure::Corrupt(e)),
        },
    };
    match result {
        Ok(decoded) => Ok(Bytes::from(decoded)),
        Err(Failure::TooLarge) => Err(GatewayError::new(
            ErrorKind::RequestTooLarge,
            format!(
                "the request body decodes ({}) to more than this gateway's limit of {max} bytes; shorten the conversation (e.g. compact it) or attach smaller files",
                coding.name()
            ),
        )),
        Err(Failure::Corrupt(e)) => Err(GatewayError::new(
            ErrorKind::InvalidRequest,
            format!(
                "the request body is not valid {} data (content-encoding: {}); send it uncompressed or fix the encoding",
                coding.name(),
                coding.name()
            ),
        )
        .with_source(DecodeError(e))),
    }
}

/// Whether `data` starts with a zlib header (RFC 1950: method 8, check bits).
fn is_zlib(data: &[u8]) -> bool {
    match data {
        [cmf, flg, ..] => cmf & 0x0f == 8 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0,
        _ => false,
    }
}

enum Failure {
    TooLarge,
    Corrupt(std::io::Error),
}

/// Reads at most `max + 1` bytes: one more than allowed proves the body too large without
/// decoding the rest.
fn read_bounded(reader: impl Read, max: usize) -> Result<Vec<u8>, Failure> {
    let mut out = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    reader
        .take(limit)
        .read_to_end(&mut out)
        .map_err(Failure::Corrupt)?;
    if out.len() > max {
        return Err(Failure::TooLarge);
    }
    Ok(out)
}

fn unsupported(encoding: &str) -> GatewayError {
    GatewayError::new(
        ErrorKind::UnsupportedMediaType,
        format!(
            "request bodies with content-encoding `{encoding}` are not accepted: the gateway scans every request for secrets before forwarding it; send the body uncompressed or as gzip, deflate, br or zstd"
        ),
    )
}

/// The decoder's own error (never a body byte).
#[derive(Debug, thiserror::Error)]
#[error("decoding the request body: {0}")]
struct DecodeError(std::io::Error);

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    const JSON: &[u8] = br#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn headers(encoding: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_ENCODING, encoding.parse().unwrap());
        h.insert(header::CONTENT_LENGTH, "10".parse().unwrap());
        h
    }

    fn status(r: Result<Bytes, GatewayError>) -> u16 {
        r.err().map_or(200, |e| e.kind().status().as_u16())
    }

    #[test]
    fn every_supported_coding_decodes_and_the_header_goes() {
        let zlib = {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(JSON).unwrap();
            e.finish().unwrap()
        };
        let raw_deflate = {
            let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(JSON).unwrap();
            e.finish().unwrap()
        };
        let br = {
            let mut out = Vec::new();
            let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
            w.write_all(JSON).unwrap();
            drop(w);
            out
        };
        let zstd = zstd::encode_all(JSON, 3).unwrap();
        for (enc, data) in [
            ("gzip", gzip(JSON)),
            ("deflate", zlib),
            ("deflate", raw_deflate),
            ("br", br),
            ("zstd", zstd),
            ("identity", JSON.to_vec()),
        ] {
            let mut h = headers(enc);
            let got = decode(Bytes::from(data), &mut h, 1 << 20).unwrap();
            assert_eq!(got, JSON, "{enc}");
            assert!(h.get(header::CONTENT_ENCODING).is_none(), "{enc}");
            assert!(h.get(header::CONTENT_LENGTH).is_none(), "{enc}");
        }
    }

    #[test]
    fn stacked_codings_are_undone_last_first() {
        let data = zstd::encode_all(&gzip(JSON)[..], 1).unwrap();
        let mut h = headers("gzip, zstd");
        assert_eq!(decode(Bytes::from(data), &mut h, 1 << 20).unwrap(), JSON);
    }

    #[test]
    fn no_header_means_no_change() {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_LENGTH, "3".parse().unwrap());
        let body = Bytes::from_static(b"abc");
        assert_eq!(decode(body.clone(), &mut h, 10).unwrap(), body);
        assert!(h.get(header::CONTENT_LENGTH).is_some());
    }

    #[test]
    fn bombs_are_413_garbage_400_and_unknown_codings_415() {
        let bomb = gzip(&vec![b'a'; 4 << 20]);
        assert!(bomb.len() < 64 * 1024);
        assert_eq!(
            status(decode(Bytes::from(bomb), &mut headers("gzip"), 1 << 20)),
            413
        );
        let exact = gzip(&[b'a'; 100]);
        assert_eq!(
            status(decode(Bytes::from(exact), &mut headers("gzip"), 100)),
            200
        );
        for enc in ["gzip", "deflate", "br", "zstd"] {
            let garbage = Bytes::from_static(b"{\"model\": \"not compressed at all\"}");
            assert_eq!(
                status(decode(garbage, &mut headers(enc), 1 << 20)),
                400,
                "{enc}"
            );
        }
        for enc in ["compress", "gzip, lzma", "snappy"] {
            let body = Bytes::from_static(b"x");
            assert_eq!(
                status(decode(body, &mut headers(enc), 1 << 20)),
                415,
                "{enc}"
            );
        }
        let four = Bytes::from_static(b"x");
        assert_eq!(
            status(decode(four, &mut headers("gzip,gzip,gzip,gzip"), 10)),
            415
        );
    }
}
