//! Builds the configured transcript sink: files under `transcripts.dir` or S3.

use gateway_config::TranscriptSink;
use gateway_transcript::{
    Sink,
    file_sink::{FileSink, FileSinkConfig},
};
use gateway_transcript_s3::{S3Sink, S3SinkConfig};

use crate::TranscriptSetupError;

/// The sink `config` names, ready to write.
pub(crate) fn build(config: &TranscriptSink) -> Result<Box<dyn Sink>, TranscriptSetupError> {
    match config {
        TranscriptSink::File(files) => {
            let sink = FileSink::open(FileSinkConfig {
                dir: files.dir.clone(),
                rotate_bytes: files.rotate_bytes,
                rotate_age: files.rotate_age,
                retention_days: files.retention_days,
                compress: files.compress,
            })
            .map_err(|source| TranscriptSetupError::Dir {
                dir: files.dir.clone(),
                source,
            })?;
            Ok(Box::new(sink))
        }
        TranscriptSink::S3(s3) => {
            let mut c = S3SinkConfig::new(&s3.bucket, &s3.region);
            c.endpoint.clone_from(&s3.endpoint);
            c.prefix.clone_from(&s3.prefix);
            c.access_key_id = Some(s3.access_key_id.clone());
            c.secret_access_key = Some(s3.secret_access_key.clone());
            c.allow_http = s3.allow_http;
            c.object_max_age = s3.object_max_age;
            c.object_max_records = s3.object_max_records;
            c.buffer_max_bytes = s3.buffer_max_bytes;
            let sink = S3Sink::new(c).map_err(TranscriptSetupError::S3)?;
            Ok(Box::new(sink))
        }
    }
}
