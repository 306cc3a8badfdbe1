//! The transcript capture stage: the request-path side of transcripts.
//!
//! Owns: deciding whether a request is recorded (its policy's mode and session sampling,
//! [`Transcripts::begin`]), collecting what the record needs while the response is relayed
//! ([`Tee`]: the request body as forwarded, every response frame as the provider sent it,
//! timings), and handing one [`gateway_transcript::Pending`] to the recorder's bounded queue
//! when the exchange's [`gateway_core::Outcome`] is known ([`Tee::finish`]); building the
//! configured sink (files or S3).
//!
//! Invariants: nothing here does I/O or waits on the request path (parsing, hashing and
//! writing happen on the writer thread of gateway-transcript); only bodies the redaction
//! stage scanned are recorded in full, an unscanned body is recorded as metadata only; a
//! record never holds a credential or an original secret value (it sees placeholders).
//!
//! Not here: the record format, the writer and the sinks themselves (gateway-transcript,
//! gateway-transcript-s3); when an exchange ends (the app's response chain).

mod capture;
mod sinks;

use std::path::PathBuf;

pub use capture::{PolicyMode, RequestFacts, Tee, Transcripts};

/// The transcript stage could not start.
#[derive(Debug, thiserror::Error)]
pub enum TranscriptSetupError {
    /// `transcripts.session_header` is not a valid header name.
    #[error("transcripts.session_header: {0}")]
    SessionHeader(#[source] http::header::InvalidHeaderName),
    /// The transcript directory cannot be created or written.
    #[error("transcripts.dir {}: {source}", dir.display())]
    Dir {
        /// The configured directory.
        dir: PathBuf,
        /// Why it failed.
        #[source]
        source: gateway_transcript::SinkError,
    },
    /// The S3 sink could not be set up.
    #[error("transcripts.s3: {}", .0.chain())]
    S3(#[source] gateway_transcript_s3::S3Error),
    /// The writer thread could not start.
    #[error("transcripts: starting the writer thread: {0}")]
    Writer(#[source] std::io::Error),
}
