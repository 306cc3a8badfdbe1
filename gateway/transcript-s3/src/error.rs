//! [`S3Error`]: what can go wrong talking to S3 or decoding what it returned.

use std::{error::Error as _, fmt::Write as _, time::Duration};

use gateway_transcript::SinkError;

/// An S3 sink or reader failure.
#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    /// The config is invalid; every problem, `; `-separated.
    #[error("invalid s3 transcript config: {0}")]
    Config(String),
    /// The S3 client could not be built.
    #[error("s3 client setup failed")]
    Client(#[source] object_store::Error),
    /// The sink's runtime could not be started.
    #[error("could not start the s3 sink's runtime")]
    Runtime(#[source] std::io::Error),
    /// An S3 call failed (after the client's own retries).
    #[error("s3 {op} of {key} failed")]
    Request {
        /// `put`, `get`, `list`.
        op: &'static str,
        /// The key or prefix.
        key: String,
        /// The cause.
        #[source]
        source: object_store::Error,
    },
    /// An S3 call took longer than `request_timeout`.
    #[error("s3 {op} of {key} timed out after {after:?}")]
    Timeout {
        /// `put`, `get`, `list`.
        op: &'static str,
        /// The key or prefix.
        key: String,
        /// The bound.
        after: Duration,
    },
    /// An object could not be compressed or decompressed.
    #[error("object {key} is not valid zstd")]
    Codec {
        /// The key.
        key: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A listing has more objects than the reader accepts: narrow the day range or org.
    #[error("more than {max} objects under {prefix}")]
    TooMany {
        /// The prefix listed.
        prefix: String,
        /// The bound.
        max: usize,
    },
    /// The consumer of an object's lines failed.
    #[error("reading object {key} failed")]
    Consumer {
        /// The key.
        key: String,
        /// The consumer's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An object is larger than the reader accepts.
    #[error("object {key} is larger than {max} bytes")]
    TooLarge {
        /// The key.
        key: String,
        /// The bound.
        max: usize,
    },
}

impl S3Error {
    /// The message and every cause, `: `-separated, for logs and health.
    pub fn chain(&self) -> String {
        let mut out = self.to_string();
        let mut source = self.source();
        while let Some(cause) = source {
            let _ = write!(out, ": {cause}");
            source = cause.source();
        }
        out
    }
}

impl From<S3Error> for SinkError {
    fn from(e: S3Error) -> Self {
        SinkError(e.chain())
    }
}
