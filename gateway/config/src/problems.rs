//! [`ConfigErrors`]: every problem of a config, each with its key path.

use std::fmt;

/// One problem: where (key path, and the override variable when it came from one) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted key path, e.g. `upstreams.anthropic.base_url`; empty for the whole file.
    pub path: String,
    /// What is wrong and how to fix it.
    pub message: String,
    /// The environment variable the value came from, if an override.
    pub from_env: Option<String>,
}

impl Problem {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
            from_env: None,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)?;
        } else {
            write!(f, "{}: {}", self.path, self.message)?;
        }
        if let Some(var) = &self.from_env {
            write!(f, " (from {var})")?;
        }
        Ok(())
    }
}

/// All problems found in a config. Never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<Problem>);

impl ConfigErrors {
    pub(crate) fn one(problem: Problem) -> Self {
        Self(vec![problem])
    }

    /// The problems, in file order as far as known.
    pub fn problems(&self) -> &[Problem] {
        &self.0
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        writeln!(
            f,
            "{n} problem{} in the configuration:",
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.0 {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}
