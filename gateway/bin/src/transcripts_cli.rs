//! `llm-gateway transcripts show`: a session's conversation rebuilt from the file sink's
//! records and blocks, for operators (text) or machines (`--json`).

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::ExitCode,
};

use gateway_transcript::read::Library;

/// Where the transcripts are: `--dir`, else `GATEWAY__TRANSCRIPTS__DIR`, else
/// `transcripts.dir` of the config file (read as plain TOML: the CLI needs no provider keys),
/// else `transcripts`.
pub(crate) fn resolve_dir(dir: Option<PathBuf>, config: &Path) -> PathBuf {
    if let Some(dir) = dir {
        return dir;
    }
    if let Some(dir) = std::env::var_os("GATEWAY__TRANSCRIPTS__DIR") {
        return dir.into();
    }
    std::fs::read_to_string(config)
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok())
        .and_then(|t| {
            t.get("transcripts")?
                .get("dir")?
                .as_str()
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| PathBuf::from("transcripts"))
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
