//! `llm-gateway transcripts show`: a session's conversation rebuilt from the file sink's
//! records and blocks, for operators (text) or machines (`--json`).

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::ExitCode,
};

use gateway_config::{Config, ProcessEnvironment, TranscriptSink};
use gateway_transcript::read::Library;

/// Where the transcripts are: `--dir`, else the file sink's `transcripts.dir` as `serve`
/// would resolve it (the config file with its `GATEWAY__TRANSCRIPTS__*` overrides, through
/// gateway-config; only the `[transcripts]` section is read, so no provider key is needed).
/// An unusable section, or transcripts in S3, is said on stderr with what to do.
pub(crate) fn resolve_dir(dir: Option<PathBuf>, config: &Path) -> Result<PathBuf, ExitCode> {
    if let Some(dir) = dir {
        return Ok(dir);
    }
    match Config::load_transcripts(config, &ProcessEnvironment) {
        Ok(t) => match t.sink {
            TranscriptSink::File(files) => Ok(files.dir),
            TranscriptSink::S3(_) => {
                let _ = writeln!(
                    std::io::stderr(),
                    "{}: transcripts go to S3 (transcripts.sink = \"s3\"); copy the objects locally and pass --dir",
                    config.display()
                );
                Err(ExitCode::FAILURE)
            }
        },
        Err(problems) => {
            let _ = write!(std::io::stderr(), "{}: {problems}", config.display());
            Err(ExitCode::from(crate::EXIT_BAD_CONFIG))
        }
    }
}

/// Prints session `session` from `dir`; exit 1 when it has no record.
pub(crate) fn show(dir: &Path, session: &str, json: bool) -> ExitCode {
    let library = match Library::load_dir_for_session(dir, session) {
        Ok(library) => library,
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "cannot read transcripts under {}: {e}",
                dir.display()
            );
            return ExitCode::FAILURE;
        }
    };
    let turns = library.session(session);
    if turns.is_empty() {
        let _ = writeln!(
            std::io::stderr(),
            "no record of session {session} under {} ({} records read); check --dir and the session id (the x-claude-code-session-id header)",
            dir.display(),
            library.records().len(),
        );
        return ExitCode::FAILURE;
    }
    let out = if json {
        gateway_transcript::render::json(session, &turns).to_string()
    } else {
        gateway_transcript::render::text(session, &turns)
    };
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{out}");
    if library.skipped_lines() > 0 {
        let _ = writeln!(
            std::io::stderr(),
            "note: {} unreadable line(s) skipped (a file cut short by a crash?)",
            library.skipped_lines()
        );
    }
    ExitCode::SUCCESS
}
