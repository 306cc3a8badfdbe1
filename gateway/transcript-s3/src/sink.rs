//! [`S3Sink`]: per-partition buffers cut into zstd objects, uploaded in order, retained
//! (bounded) while S3 fails and retried with a backoff by `maintain`.

use std::{
    collections::{BTreeMap, VecDeque},
    fmt,
    sync::Arc,
    time::{Duration, SystemTime},
};

use bytes::Bytes;
use gateway_transcript::{Sink, SinkError, assemble::Assembled};
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, path::Path};
use tokio::runtime::Runtime;

use crate::{
    S3Error, S3SinkConfig,
    buffer::PartitionBuffer,
    key::{self, PartitionKey},
    store,
};

/// All open partition buffers together hold at most this many `object_max_bytes`; past it
/// the largest is cut early (many orgs must not multiply memory).
pub const OPEN_BUFFERS_MAX_OBJECTS: usize = 4;
/// The zstd level of objects.
const ZSTD_LEVEL: i32 = 3;
/// The first wait before retrying after a failed upload.
const RETRY_BACKOFF_MIN: Duration = Duration::from_secs(1);
/// The longest wait between retries.
const RETRY_BACKOFF_MAX: Duration = Duration::from_secs(60);
/// An empty partition unused this long is forgotten with its ledger (the day has passed, or
/// the org is quiet); if it comes back, its blocks are written again.
const PARTITION_IDLE: Duration = Duration::from_secs(3600);

/// What the sink has uploaded so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UploadStats {
    /// Objects uploaded.
    pub objects: u64,
    /// Records in them.
    pub records: u64,
    /// Their JSON Lines bytes.
    pub uncompressed_bytes: u64,
    /// Their zstd bytes (what was sent).
    pub compressed_bytes: u64,
    /// Upload attempts that failed.
    pub failed_attempts: u64,
}

/// An object cut from a partition, waiting for its upload.
struct Object {
    key: String,
    body: Bytes,
    records: usize,
    uncompressed: usize,
}

/// The S3 transcript sink. Runs on the transcript writer thread: every call blocks on the
/// sink's own current-thread runtime, bounded by `request_timeout`, so its [`Sink`] methods
/// must not be called from inside another tokio runtime (building and dropping it may be).
///
/// [`Sink::write`] accepts the batch into the partition buffers and returns `Ok` (it never
/// asks the writer to resend: the batch is the sink's from then on, bounded by
/// `buffer_max_bytes`). Upload failures show in [`Sink::maintain`]'s result until the
/// retained objects are uploaded.
pub struct S3Sink {
    config: S3SinkConfig,
    store: Arc<dyn ObjectStore>,
    /// `Some` until drop (shut down in the background: dropping a runtime inside another
    /// would panic).
    runtime: Option<Runtime>,
    replica: String,
    seq: u64,
    partitions: BTreeMap<PartitionKey, PartitionBuffer>,
    /// Cut objects not uploaded yet, oldest first.
    outbox: VecDeque<Object>,
    outbox_bytes: usize,
    retry_at: Option<SystemTime>,
    backoff: Duration,
    last_error: Option<String>,
    dropped_records: u64,
    stats: UploadStats,
}

impl S3Sink {
    /// Validates `config`, builds the client and the sink's runtime, and picks a replica id.
    /// Does not touch the network: a missing bucket shows at the first upload.
    pub fn new(config: S3SinkConfig) -> Result<Self, S3Error> {
        let store = store::build(&config)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(S3Error::Runtime)?;
        let replica = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
        Ok(Self {
            config,
            store,
            runtime: Some(runtime),
            replica,
            seq: 0,
            partitions: BTreeMap::new(),
            outbox: VecDeque::new(),
            outbox_bytes: 0,
            retry_at: None,
            backoff: RETRY_BACKOFF_MIN,
            last_error: None,
            dropped_records: 0,
            stats: UploadStats::default(),
        })
    }

    /// This sink's replica id (in every object key).
    pub fn replica(&self) -> &str {
        &self.replica
    }

    /// What was uploaded so far.
    pub fn stats(&self) -> UploadStats {
        self.stats
    }

    /// Objects cut but not uploaded yet, and their compressed bytes.
    pub fn retained(&self) -> (usize, usize) {
        (self.outbox.len(), self.outbox_bytes)
    }

    /// Records dropped since the last call: objects pushed out of `buffer_max_bytes` while
    /// S3 failed, or still refused at [`Sink::close`].
    pub fn take_dropped_records(&mut self) -> u64 {
        std::mem::take(&mut self.dropped_records)
    }

    /// Cuts `partition`'s buffer into an object and queues it; with `upload`, tries the
    /// queue (unless backing off).
    fn cut(&mut self, partition: &PartitionKey, now: SystemTime, upload: bool) {
        let Some(buffer) = self.partitions.get_mut(partition) else {
            return;
        };
        if buffer.records() == 0 {
            return;
        }
        let (lines, records) = buffer.take();
        let dropped_before = self.dropped_records;
        self.seq += 1;
        let key = key::object_key(&self.config.prefix, partition, now, &self.replica, self.seq);
        match zstd::bulk::compress(&lines, ZSTD_LEVEL) {
            Ok(body) => {
                self.outbox_bytes += body.len();
                self.outbox.push_back(Object {
                    key,
                    body: Bytes::from(body),
                    records,
                    uncompressed: lines.len(),
                });
                if upload {
                    self.drain(now, false);
                }
            }
            Err(e) => {
                tracing::error!(key, records, error = %e, "transcript object not compressed; dropped");
                self.dropped_records += records as u64;
            }
        }
        // Not uploaded (still queued, and may be dropped; or lost): nothing later may rely
        // on its blocks, so the partition's next object carries its own.
        let uploaded = self.outbox.is_empty() && self.dropped_records == dropped_before;
        if !uploaded && let Some(buffer) = self.partitions.get_mut(partition) {
            buffer.forget_blocks();
        }
        self.enforce_retained_bound();
    }

    /// Uploads queued objects, oldest first, until one fails; skipped while backing off
    /// unless `force`.
    fn drain(&mut self, now: SystemTime, force: bool) {
        if !force && self.retry_at.is_some_and(|at| now < at) {
            return;
        }
        while let Some(object) = self.outbox.front() {
            if let Err(e) = self.upload(object) {
                self.stats.failed_attempts += 1;
                let error = e.chain();
                tracing::warn!(
                    waiting = self.outbox.len(),
                    retry_in = ?self.backoff,
                    error,
                    "transcript upload to s3 failed"
                );
                // From the failure (the attempt took time), or the injected `now` if later.
                self.retry_at = Some(now.max(SystemTime::now()) + self.backoff);
                self.backoff = (self.backoff * 2).min(RETRY_BACKOFF_MAX);
                self.last_error = Some(error);
                return;
            }
            if let Some(done) = self.outbox.pop_front() {
                self.outbox_bytes -= done.body.len();
                self.stats.objects += 1;
                self.stats.records += done.records as u64;
                self.stats.uncompressed_bytes += done.uncompressed as u64;
                self.stats.compressed_bytes += done.body.len() as u64;
            }
        }
        self.retry_at = None;
        self.backoff = RETRY_BACKOFF_MIN;
        self.last_error = None;
    }

    fn upload(&self, object: &Object) -> Result<(), S3Error> {
        let failed = |source: object_store::Error| S3Error::Request {
            op: "put",
            key: object.key.clone(),
            source,
        };
        let path = Path::parse(&object.key).map_err(|e| failed(e.into()))?;
        let Some(runtime) = &self.runtime else {
            return Err(failed(object_store::Error::NotImplemented {
                operation: "put after drop".to_owned(),
                implementer: "S3Sink".to_owned(),
            }));
        };
        let timeout = self.config.request_timeout;
        runtime.block_on(async {
            let started = tokio::time::Instant::now();
            let put = self.store.put(&path, PutPayload::from(object.body.clone()));
            store::bounded("put", &object.key, timeout, put).await?;
            tracing::debug!(
                key = object.key,
                records = object.records,
                bytes = object.uncompressed,
                compressed = object.body.len(),
                ms = started.elapsed().as_millis() as u64,
                "transcript object uploaded"
            );
            Ok(())
        })
    }

    /// Drops the oldest queued objects beyond `buffer_max_bytes`, counting their records.
    fn enforce_retained_bound(&mut self) {
        while self.outbox_bytes > self.config.buffer_max_bytes {
            let Some(dropped) = self.outbox.pop_front() else {
                break;
            };
            self.outbox_bytes -= dropped.body.len();
            self.dropped_records += dropped.records as u64;
            tracing::warn!(
                key = dropped.key,
                records = dropped.records,
                "transcript object dropped: s3 unreachable and buffer_max_bytes reached"
            );
        }
    }

    /// Cuts the largest buffers while all of them together exceed their bound.
    fn enforce_open_bound(&mut self, now: SystemTime) {
        let bound = self
            .config
            .object_max_bytes
            .saturating_mul(OPEN_BUFFERS_MAX_OBJECTS);
        while self
            .partitions
            .values()
            .map(PartitionBuffer::bytes)
            .sum::<usize>()
            > bound
        {
            let Some(largest) = self
                .partitions
                .iter()
                .max_by_key(|(_, b)| b.bytes())
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            self.cut(&largest, now, true);
        }
    }

    /// `Err` while objects wait for S3 after a failure.
    fn health(&self) -> Result<(), SinkError> {
        match &self.last_error {
            Some(error) if !self.outbox.is_empty() => Err(SinkError(format!(
                "{} transcript objects ({} records, {} bytes) waiting for s3: {error}",
                self.outbox.len(),
                self.outbox.iter().map(|o| o.records).sum::<usize>(),
                self.outbox_bytes,
            ))),
            _ => Ok(()),
        }
    }
}

impl Sink for S3Sink {
    fn name(&self) -> &'static str {
        "s3"
    }

    fn take_dropped_records(&mut self) -> u64 {
        std::mem::take(&mut self.dropped_records)
    }

    fn write(&mut self, batch: &[Assembled]) -> Result<(), SinkError> {
        let now = SystemTime::now();
        for assembled in batch {
            let partition = PartitionKey::of(&assembled.record.meta);
            let buffer = self
                .partitions
                .entry(partition.clone())
                .or_insert_with(|| PartitionBuffer::new(now));
            if let Err(e) = buffer.append(assembled, now) {
                tracing::error!(error = %e, "transcript record not serializable; dropped");
                self.dropped_records += 1;
                continue;
            }
            if buffer.records() >= self.config.object_max_records
                || buffer.bytes() >= self.config.object_max_bytes
            {
                self.cut(&partition, now, true);
            }
        }
        self.enforce_open_bound(now);
        Ok(())
    }

    fn maintain(&mut self, now: SystemTime) -> Result<(), SinkError> {
        let max_age = self.config.object_max_age;
        let due: Vec<PartitionKey> = self
            .partitions
            .iter()
            .filter(|(_, b)| {
                b.opened_at()
                    .is_some_and(|t| now.duration_since(t).is_ok_and(|age| age >= max_age))
            })
            .map(|(k, _)| k.clone())
            .collect();
        for partition in &due {
            self.cut(partition, now, true);
        }
        self.drain(now, false);
        self.partitions.retain(|_, b| {
            b.records() > 0
                || now
                    .duration_since(b.last_write())
                    .map_or(true, |idle| idle < PARTITION_IDLE)
        });
        self.health()
    }

    fn close(&mut self) -> Result<(), SinkError> {
        let now = SystemTime::now();
        let open: Vec<PartitionKey> = self.partitions.keys().cloned().collect();
        // Queue everything first, then one attempt for the whole queue, backoff or not.
        for partition in &open {
            self.cut(partition, now, false);
        }
        self.drain(now, true);
        let health = self.health();
        let lost: usize = self.outbox.drain(..).map(|o| o.records).sum();
        self.outbox_bytes = 0;
        self.dropped_records += lost as u64;
        health
    }
}

impl fmt::Debug for S3Sink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Sink")
            .field("config", &self.config)
            .field("replica", &self.replica)
            .field("partitions", &self.partitions.len())
            .field("retained", &self.retained())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Drop for S3Sink {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use gateway_core::Secret;

    use super::*;

    #[test]
    fn the_sink_never_prints_the_credentials() {
        let mut config = S3SinkConfig::new("bucket", "us-east-1");
        config.endpoint = Some("http://127.0.0.1:9".to_owned());
        config.allow_http = true;
        config.access_key_id = Some(Secret::new("AKIAEXAMPLEKEYID".to_owned()));
        config.secret_access_key = Some(Secret::new("wJalrXUtnFEMIsecretvalue".to_owned()));
        let shown = format!("{:?}", S3Sink::new(config).unwrap());
        assert!(!shown.contains("AKIAEXAMPLEKEYID"), "{shown}");
        assert!(!shown.contains("wJalrXUtnFEMIsecretvalue"), "{shown}");
    }
}
