//! `GET /admin/sessions/{id}`: one agent session's conversation rebuilt from the transcript
//! file sink (redacted, as recorded), as `llm-gateway transcripts show` renders it: JSON, or
//! text with `?format=text`. Read on a blocking thread; the records of one session only.

use std::path::PathBuf;

use bytes::Bytes;
use gateway_transcript::read::Library;
use http::{HeaderValue, Response, StatusCode, header};

use crate::request::{decode_segment, query_param};
use crate::{Admin, error_hint, json};

pub(crate) async fn show(admin: &Admin, session: &str, query: Option<&str>) -> Response<Bytes> {
    let Some(dir) = admin.transcripts_dir.clone() else {
        return error_hint(
            StatusCode::NOT_FOUND,
            "this gateway keeps no transcripts it can read (transcripts are off, or go to S3)",
            "enable transcripts with the file sink, or read the S3 objects with `llm-gateway transcripts show --dir`",
        );
    };
    let session = decode_segment(session);
    let text = query_param(query, "format").is_some_and(|f| f == "text");
    let id = session.clone();
    let loaded = tokio::task::spawn_blocking(move || load(dir, &id, text)).await;
    match loaded {
        Ok(Ok(Some(Rendered::Json(v)))) => json(StatusCode::OK, &v),
        Ok(Ok(Some(Rendered::Text(t)))) => {
            let mut r = Response::new(Bytes::from(t));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            r
        }
        Ok(Ok(None)) => error_hint(
            StatusCode::NOT_FOUND,
            &format!("no record of session {session}"),
            "check the session id (the x-claude-code-session-id header of its requests) and that it was recorded (the policy's transcript mode and sampling)",
        ),
        Ok(Err(e)) => error_hint(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("the transcripts cannot be read: {e}"),
            "check transcripts.dir and its permissions",
        ),
        Err(_) => error_hint(
            StatusCode::INTERNAL_SERVER_ERROR,
            "reading the transcripts failed",
            "see the gateway's log",
        ),
    }
}

enum Rendered {
    Json(serde_json::Value),
    Text(String),
}

fn load(dir: PathBuf, session: &str, text: bool) -> std::io::Result<Option<Rendered>> {
    let library = Library::load_dir_for_session(&dir, session)?;
    let turns = library.session(session);
    if turns.is_empty() {
        return Ok(None);
    }
    Ok(Some(if text {
        Rendered::Text(gateway_transcript::render::text(session, &turns))
    } else {
        Rendered::Json(gateway_transcript::render::json(session, &turns))
    }))
}
