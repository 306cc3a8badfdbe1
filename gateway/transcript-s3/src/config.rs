//! [`S3SinkConfig`]: where objects go and when they are cut. The app fills it from the
//! `[transcripts.s3]` section; [`S3SinkConfig::validate`] reports every problem at once.

use std::time::Duration;

use gateway_core::Secret;

use crate::S3Error;

/// Default key prefix.
pub const DEFAULT_PREFIX: &str = "transcripts";
/// Default records per object.
pub const DEFAULT_OBJECT_MAX_RECORDS: usize = 5000;
/// Default uncompressed bytes per object (32 MiB).
pub const DEFAULT_OBJECT_MAX_BYTES: usize = 32 << 20;
/// Default age of a partition buffer before it is uploaded.
pub const DEFAULT_OBJECT_MAX_AGE: Duration = Duration::from_secs(10);
/// Default compressed bytes kept while S3 is unreachable (256 MiB).
pub const DEFAULT_BUFFER_MAX_BYTES: usize = 256 << 20;
/// Default bound on one S3 call, retries included.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Where and how the S3 sink writes.
#[derive(Clone, Debug)]
pub struct S3SinkConfig {
    /// The S3 endpoint (`http://127.0.0.1:9000` for MinIO or moto); `None` for AWS S3 itself.
    /// With an endpoint, requests are path style (`{endpoint}/{bucket}/{key}`).
    pub endpoint: Option<String>,
    /// The region (`us-east-1`; anything for most S3-compatible servers).
    pub region: String,
    /// The bucket. It must exist.
    pub bucket: String,
    /// The key prefix (no leading or trailing `/`), default [`DEFAULT_PREFIX`].
    pub prefix: String,
    /// The access key id; with `secret_access_key`. Both `None`: the instance or container
    /// role (object_store's credential chain).
    pub access_key_id: Option<Secret<String>>,
    /// The secret access key.
    pub secret_access_key: Option<Secret<String>>,
    /// Allow `http://` endpoints (loopback tests, a sidecar). Off by default.
    pub allow_http: bool,
    /// A partition buffer is uploaded once it holds this many records.
    pub object_max_records: usize,
    /// ... or this many uncompressed bytes.
    pub object_max_bytes: usize,
    /// ... or once its first record is this old (checked by `maintain`).
    pub object_max_age: Duration,
    /// Compressed bytes of objects kept while uploads fail; the oldest go beyond it.
    pub buffer_max_bytes: usize,
    /// Bound on each S3 call, the client's own retries included.
    pub request_timeout: Duration,
}

impl S3SinkConfig {
    /// A config for `bucket` in `region` with every other setting at its default.
    pub fn new(bucket: impl Into<String>, region: impl Into<String>) -> Self {
        Self {
            endpoint: None,
            region: region.into(),
            bucket: bucket.into(),
            prefix: DEFAULT_PREFIX.to_owned(),
            access_key_id: None,
            secret_access_key: None,
            allow_http: false,
            object_max_records: DEFAULT_OBJECT_MAX_RECORDS,
            object_max_bytes: DEFAULT_OBJECT_MAX_BYTES,
            object_max_age: DEFAULT_OBJECT_MAX_AGE,
            buffer_max_bytes: DEFAULT_BUFFER_MAX_BYTES,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }

    /// Every problem with this config, in one error.
    pub fn validate(&self) -> Result<(), S3Error> {
        let mut problems = Vec::new();
        let mut bad = |field: &str, problem: &str| problems.push(format!("{field}: {problem}"));
        if self.bucket.is_empty() {
            bad("bucket", "must not be empty");
        }
        if self.region.is_empty() {
            bad("region", "must not be empty");
        }
        if self.prefix.starts_with('/') || self.prefix.ends_with('/') {
            bad("prefix", "must not start or end with '/'");
        } else if self.prefix.split('/').any(|p| {
            p.is_empty() || p == "." || p == ".." || p.chars().any(|c| c.is_ascii_control())
        }) {
            bad(
                "prefix",
                "must be '/'-separated names without '.', '..' or control characters",
            );
        }
        if self.access_key_id.is_some() != self.secret_access_key.is_some() {
            bad(
                "access_key_id",
                "give both access_key_id and secret_access_key, or neither",
            );
        }
        if let Some(endpoint) = &self.endpoint
            && endpoint.starts_with("http://")
            && !self.allow_http
        {
            bad("endpoint", "is http:// but allow_http is false");
        }
        if self.object_max_records == 0 {
            bad("object_max_records", "must be at least 1");
        }
        if self.object_max_bytes == 0 {
            bad("object_max_bytes", "must be at least 1");
        }
        if self.object_max_age.is_zero() {
            bad("object_max_age", "must be more than 0");
        }
        if self.buffer_max_bytes == 0 {
            bad("buffer_max_bytes", "must be at least 1");
        }
        if self.request_timeout.is_zero() {
            bad("request_timeout", "must be more than 0");
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(S3Error::Config(problems.join("; ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_credentials() {
        let mut c = S3SinkConfig::new("b", "us-east-1");
        c.access_key_id = Some(Secret::new("AKIAEXAMPLEKEYID".to_owned()));
        c.secret_access_key = Some(Secret::new("wJalrXUtnFEMIsecretvalue".to_owned()));
        let shown = format!("{c:?}");
        assert!(!shown.contains("AKIAEXAMPLEKEYID"), "{shown}");
        assert!(!shown.contains("wJalrXUtnFEMIsecretvalue"), "{shown}");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let mut c = S3SinkConfig::new("", "us-east-1");
        c.prefix = "a/../b".to_owned();
        c.object_max_records = 0;
        c.endpoint = Some("http://127.0.0.1:9000".to_owned());
        c.access_key_id = Some(Secret::new("id".to_owned()));
        let Err(S3Error::Config(message)) = c.validate() else {
            panic!("invalid config accepted");
        };
        for field in [
            "bucket",
            "prefix",
            "object_max_records",
            "endpoint",
            "access_key_id",
        ] {
            assert!(message.contains(field), "{field} missing from {message}");
        }
    }

    #[test]
    fn defaults_are_valid() {
        assert!(S3SinkConfig::new("b", "us-east-1").validate().is_ok());
    }
}
