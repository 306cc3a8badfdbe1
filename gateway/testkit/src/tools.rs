//! The real clients installed by `scripts/setup-clients` into `target/clients/`.
//!
//! Locally a missing client skips its test with a loud message; under CI (`CI` set) it fails
//! the test, because `.ci/run` installs every client.

use std::path::PathBuf;

/// The fake Anthropic provider key tests configure; the mock must see it and nothing else.
pub const ANTHROPIC_PROVIDER_KEY: &str = "sk-ant-provider-test";
/// The fake OpenAI provider key tests configure.
pub const OPENAI_PROVIDER_KEY: &str = "sk-openai-provider-test";

fn clients_dir() -> PathBuf {
    crate::workspace_root().join("target/clients")
}

/// The virtual environment's Python with the pinned `anthropic` and `openai` SDKs.
pub fn python() -> Option<PathBuf> {
    require(
        clients_dir().join("venv/bin/python"),
        "Python SDK virtualenv",
    )
}

/// The pinned Claude Code CLI's native binary.
pub fn claude() -> Option<PathBuf> {
    require(
        clients_dir().join("node/node_modules/@anthropic-ai/claude-code-linux-x64/claude"),
        "Claude Code CLI",
    )
}

fn require(path: PathBuf, what: &str) -> Option<PathBuf> {
    if path.exists() {
        return Some(path);
    }
    let message = format!(
        "{what} not found at {}: run scripts/setup-clients (the README's test command does)",
        path.display()
    );
    if std::env::var_os("CI").is_some() {
        panic!("{message}");
    }
    eprintln!("\n!!!!!!!! SKIPPED: {message} !!!!!!!!\n");
    None
}
