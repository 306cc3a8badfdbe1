//! [`PriceErrors`]: every problem of a prices file, each with its key path (as TOML writes it)
//! and line.

use std::fmt;
use std::path::{Path, PathBuf};

/// One problem of a prices file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriceProblem {
    /// Dotted key path, e.g. `models."gpt-5.4".input`; empty for the whole file.
    pub path: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for PriceProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// Every problem of a prices file. Never empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriceErrors {
    pub(super) file: Option<PathBuf>,
    pub(super) problems: Vec<PriceProblem>,
}

impl PriceErrors {
    /// The problems, in file order.
    pub fn problems(&self) -> &[PriceProblem] {
        &self.problems
    }

    pub(super) fn io(path: &Path, error: &std::io::Error) -> Self {
        Self {
            file: Some(path.to_owned()),
            problems: vec![PriceProblem {
                path: String::new(),
                line: None,
                message: format!("cannot read the prices file: {error}"),
            }],
        }
    }

    pub(super) fn in_file(mut self, path: &Path) -> Self {
        self.file = Some(path.to_owned());
        self
    }
}

impl fmt::Display for PriceErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        let s = if n == 1 { "" } else { "s" };
        match &self.file {
            Some(file) => writeln!(f, "{n} problem{s} in {}:", file.display())?,
            None => writeln!(f, "{n} problem{s} in the prices file:")?,
        }
        for p in &self.problems {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PriceErrors {}

/// `path.key`, the key quoted when TOML would need it.
pub(super) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        quote(key)
    } else {
        format!("{path}.{}", quote(key))
    }
}

/// A key as TOML writes it: bare when it can be, else quoted.
pub(super) fn quote(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare {
        key.to_owned()
    } else {
        format!("{key:?}")
    }
}
