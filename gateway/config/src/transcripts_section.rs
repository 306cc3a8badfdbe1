//! `[transcripts]` → validated [`Transcripts`]: the sink (files or S3) and the queue.

use gateway_core::Secret;

use crate::{
    Environment, TranscriptFiles, TranscriptS3, TranscriptSink, Transcripts, raw,
    validate::Collector,
};

const DEFAULT_SESSION_HEADER: &str = "x-claude-code-session-id";
const DEFAULT_ROTATE_BYTES: u64 = 64 << 20;
const DEFAULT_ROTATE_AGE_MS: u64 = 3_600_000;
const DEFAULT_RETENTION_DAYS: u64 = 30;
const DEFAULT_QUEUE_CAPACITY: u64 = 8192;
const DEFAULT_FLUSH_MS: u64 = 100;
const DEFAULT_QUEUE_MAX_BYTES: u64 = 256 << 20;
/// A longer idle tick delays age rotation and S3 uploads (what an S3 crash can lose).
const FLUSH_MS_MAX: u64 = 10_000;
/// Smallest rotation size: smaller files make a directory of confetti.
const ROTATE_BYTES_MIN: u64 = 4096;

pub(crate) fn transcripts(
    c: &mut Collector<'_>,
    value: Option<toml::Value>,
    env: &dyn Environment,
) -> Transcripts {
    let t = value
        .and_then(|v| c.section::<raw::Transcripts>("transcripts", v))
        .unwrap_or_default();
    let files = TranscriptFiles {
        dir: t.dir.unwrap_or_else(|| "transcripts".into()),
        rotate_bytes: t.rotate_bytes.unwrap_or(DEFAULT_ROTATE_BYTES),
        rotate_age: c.millis(
            "transcripts.rotate_age_ms",
            t.rotate_age_ms,
            DEFAULT_ROTATE_AGE_MS,
            1000,
        ),
        retention_days: u32::try_from(t.retention_days.unwrap_or(DEFAULT_RETENTION_DAYS))
            .unwrap_or(u32::MAX),
        compress: t.compress.unwrap_or(true),
    };
    if files.rotate_bytes < ROTATE_BYTES_MIN {
        c.push(
            "transcripts.rotate_bytes",
            format!("must be at least {ROTATE_BYTES_MIN} bytes"),
        );
    }
    if files.dir.as_os_str().is_empty() {
        c.push("transcripts.dir", "must not be empty");
    }
    let sink = match t.sink.as_deref() {
        None | Some("file") => {
            if t.s3.is_some() {
                c.push(
                    "transcripts.s3",
                    "is set but `transcripts.sink` is not \"s3\"; set sink = \"s3\" or remove the section",
                );
            }
            TranscriptSink::File(files)
        }
        Some("s3") => match t.s3 {
            Some(s3) => s3_sink(c, s3, env).map_or(TranscriptSink::File(files), TranscriptSink::S3),
            None => {
                c.push(
                    "transcripts.s3",
                    "missing: `sink = \"s3\"` needs a [transcripts.s3] section with at least `bucket`",
                );
                TranscriptSink::File(files)
            }
        },
        Some(other) => {
            c.push(
                "transcripts.sink",
                format!("`{other}` is not a sink; use \"file\" or \"s3\""),
            );
            TranscriptSink::File(files)
        }
    };
    let session_header = t
        .session_header
        .unwrap_or_else(|| DEFAULT_SESSION_HEADER.to_owned())
        .to_ascii_lowercase();
    if http_header_name_invalid(&session_header) {
        c.push(
            "transcripts.session_header",
            format!("`{session_header}` is not an HTTP header name"),
        );
    }
    let flush_ms = t.flush_ms.unwrap_or(DEFAULT_FLUSH_MS);
    if flush_ms > FLUSH_MS_MAX {
        c.push(
            "transcripts.flush_ms",
            format!("must be at most {FLUSH_MS_MAX} ms (S3 uploads and rotation wait for it)"),
        );
    }
    Transcripts {
        enabled: t.enabled.unwrap_or(true),
        sink,
        session_header,
        queue_capacity: c.positive(
            "transcripts.queue_capacity",
            t.queue_capacity,
            DEFAULT_QUEUE_CAPACITY,
        ),
        queue_max_bytes: c.positive(
            "transcripts.queue_max_bytes",
            t.queue_max_bytes,
            DEFAULT_QUEUE_MAX_BYTES,
        ),
        flush_interval: c.millis("transcripts.flush_ms", Some(flush_ms), DEFAULT_FLUSH_MS, 1),
    }
}

fn s3_sink(
    c: &mut Collector<'_>,
    s: raw::TranscriptsS3,
    env: &dyn Environment,
) -> Option<TranscriptS3> {
    if s.bucket.trim().is_empty() {
        c.push("transcripts.s3.bucket", "must not be empty");
    }
    let mut secret = |path: &str, var: Option<String>, default: &str| {
        let var = var.unwrap_or_else(|| default.to_owned());
        match env.var(&var) {
            Some(v) if !v.is_empty() => Some(Secret::new(v)),
            _ => {
                c.push(
                    path,
                    format!("environment variable {var} is not set or empty; export the S3 credential in it"),
                );
                None
            }
        }
    };
    let access_key_id = secret(
        "transcripts.s3.access_key_id_env",
        s.access_key_id_env,
        "AWS_ACCESS_KEY_ID",
    );
    let secret_access_key = secret(
        "transcripts.s3.secret_access_key_env",
        s.secret_access_key_env,
        "AWS_SECRET_ACCESS_KEY",
    );
    if let Some(endpoint) = &s.endpoint
        && url::Url::parse(endpoint).is_err()
    {
        c.push(
            "transcripts.s3.endpoint",
            format!("`{endpoint}` is not a URL like http://127.0.0.1:9000"),
        );
    }
    let object_max_age = c.millis(
        "transcripts.s3.object_max_age_ms",
        s.object_max_age_ms,
        10_000,
        100,
    );
    let object_max_records = c.positive(
        "transcripts.s3.object_max_records",
        s.object_max_records,
        5000,
    );
    let buffer_max_bytes = c.positive(
        "transcripts.s3.buffer_max_bytes",
        s.buffer_max_bytes,
        256 << 20,
    );
    Some(TranscriptS3 {
        bucket: s.bucket,
        region: s.region.unwrap_or_else(|| "us-east-1".to_owned()),
        endpoint: s.endpoint,
        prefix: s.prefix.unwrap_or_else(|| "transcripts".to_owned()),
        access_key_id: access_key_id?,
        secret_access_key: secret_access_key?,
        allow_http: s.allow_http.unwrap_or(false),
        object_max_age,
        object_max_records,
        buffer_max_bytes,
    })
}

/// RFC 9110 token characters only.
fn http_header_name_invalid(name: &str) -> bool {
    name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}
