//! The scale-out transcript sink: records and their blocks as zstd-compressed JSON Lines
//! objects in S3-compatible object storage, one prefix per UTC day and organisation.
//!
//! Owns: [`S3SinkConfig`] (validated by [`S3Sink::new`]), [`S3Sink`] (implements
//! [`gateway_transcript::Sink`]; runs on the transcript writer thread), the object key layout
//! ([`key`]), and, behind the `reader` feature (test support: the integration tests read
//! back what the sink wrote; no shipped code reads S3), `S3Reader` (list and fetch the
//! objects of a day range).
//!
//! Layout: `{prefix}/{YYYY-MM-DD}/org={org}/{HHMMSS}-{replica}-{seq}.jsonl.zst`, where the day
//! is the record's (`Meta::day`, UTC), `org` is the subject's organisation percent-encoded
//! outside `[A-Za-z0-9._-]` (`_none` without one), `HHMMSS` the UTC time of the cut,
//! `replica` a random id chosen when the sink starts and `seq` the replica's object counter
//! (its upload order; the key's lexical order is not, since `HHMMSS` wraps at midnight).
//! Each object holds whole lines of `gateway_transcript::Line`, zstd level 3.
//!
//! Invariants:
//! - Each day/org prefix is self-contained: every block a record references is in the same
//!   object (before the record) or in an object of the same prefix and replica with a lower
//!   `seq` that was uploaded. A block is stored once per prefix and replica, except after a
//!   failed upload, an idle partition forgotten, or a ledger overflow, when it is stored
//!   again: an object not uploaded at its cut is treated as possibly lost, so no later
//!   object relies on it, and dropping it (buffer bound, close) breaks no other object.
//! - [`gateway_transcript::Sink::write`] accepts the whole batch and returns `Ok` (asking the
//!   writer to resend would duplicate records); upload failures show as `Err` from
//!   [`gateway_transcript::Sink::maintain`] while objects wait for S3.
//! - Memory is bounded: each open partition buffer by `object_max_bytes` (uncompressed, cut
//!   after the record that reaches it), all of them together by
//!   [`OPEN_BUFFERS_MAX_OBJECTS`] times that, and objects waiting for S3 by
//!   `buffer_max_bytes` (compressed); beyond that the oldest objects are dropped and their
//!   records counted ([`S3Sink::take_dropped_records`]).
//! - Every S3 call is bounded by `request_timeout`, so the writer thread blocks at most that
//!   long per attempt; after a failure, uploads wait for an exponential backoff (1 s to 60 s,
//!   checked by `maintain` and `write`) and then go oldest first.
//! - Credentials live in [`gateway_core::Secret`]: never printed.
//!
//! What a crash loses: everything not yet uploaded, i.e. the open partition buffers (up to
//! `object_max_age` plus one writer flush interval of records, less when a size bound cuts
//! first) and, during an S3 outage, the objects waiting for upload (up to
//! `buffer_max_bytes`). A clean [`close`](gateway_transcript::Sink::close) uploads the
//! buffers; objects S3 still refuses then are lost and counted. The sink never writes to
//! local disk.
//!
//! Not here: the record format and block ledger (`gateway-transcript`), the writer thread and
//! its queue (`gateway_transcript::writer`), parsing transcripts back into sessions
//! (`gateway_transcript::read`), reading the gateway config (the app builds
//! [`S3SinkConfig`]), bucket lifecycle and retention (an S3 lifecycle rule on `prefix`).

mod buffer;
mod config;
mod error;
pub mod key;
#[cfg(feature = "reader")]
mod read;
mod sink;
mod store;

pub use config::{
    DEFAULT_BUFFER_MAX_BYTES, DEFAULT_OBJECT_MAX_AGE, DEFAULT_OBJECT_MAX_BYTES,
    DEFAULT_OBJECT_MAX_RECORDS, DEFAULT_PREFIX, DEFAULT_REQUEST_TIMEOUT, S3SinkConfig,
};
pub use error::S3Error;
#[cfg(feature = "reader")]
pub use read::{LIST_MAX_OBJECTS, ObjectInfo, OrgFilter, READ_OBJECT_MAX_BYTES, S3Reader};
pub use sink::{OPEN_BUFFERS_MAX_OBJECTS, S3Sink, UploadStats};
