//! Transcripts: one [`Record`] per model request, its conversation stored as
//! content-addressed [`Block`]s so an agent session that resends its whole history every turn
//! costs about one copy of that history, not one per turn.
//!
//! Owns: the record and line format ([`record`], [`block`]), turning what the request path
//! captured into a record and blocks ([`assemble`], run on the writer thread, never on the
//! request path; request blocks are sliced from the body's bytes and written in canonical
//! form by `canonical`, without a `Value` tree, and block lines are pre-encoded bytes; the
//! writer keeps a bounded [`assemble::BlockMemo`] so resent blocks are not built again), the
//! bounded queue and background writer ([`writer`]), the embedded file sink ([`file_sink`])
//! and reading sessions back ([`read`], shown by [`render`]).
//!
//! Invariants:
//! - The request path only builds a [`Pending`] (cheap: `Bytes` clones and numbers) and
//!   hands it to [`Recorder::record`], which never blocks and never does I/O; a full queue
//!   drops the record and counts it.
//! - The recorder only ever sees redacted request bodies: the pipeline hands it the body it
//!   forwarded, after the redaction stage.
//! - Every buffer is bounded by a named constant or a config value.
//!
//! Not here: deciding whether a request is recorded (per-policy sampling and mode: the app),
//! the S3 sink (`gateway-transcript-s3`, which implements [`Sink`]), metrics export (the app
//! reads [`Counters`] at scrape time).

pub mod assemble;
pub mod block;
mod canonical;
pub mod file_sink;
pub mod read;
pub mod record;
pub mod render;
pub mod writer;

pub use block::{Block, BlockHash, BlockLedger};
pub use file_sink::{FileSink, FileSinkConfig};
use gateway_core::Api;
pub use record::{Line, Meta, Mode, Pending, Record, ResponseCapture};
pub use writer::{Counters, Recorder, RecorderConfig, Sink, SinkError, WriterHandle};
pub use writer::{CountersSnapshot, ShutdownReport, SinkHealth, sampled};
