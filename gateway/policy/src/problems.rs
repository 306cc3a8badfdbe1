//! [`PolicyErrors`]: every problem of every policy file, each with file, line and key path.

use std::{fmt, ops::Range};

/// One problem in one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyProblem {
    /// The file, as given to [`crate::PolicySet::parse_files`] (a path for `load_dir`).
    pub file: String,
    /// 1-based line, when the problem has a place in the file.
    pub line: Option<usize>,
    /// Key path with 0-based indexes, e.g. `policy[1].usd_per_day` or `policy[0].org.bogus`;
    /// empty for the whole file (unreadable, not TOML).
    pub key: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for PolicyProblem {
    /// `file:line: key: message`, leaving out the parts that are unknown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// All problems found in a set of policy files, in file order, then line order. Never empty
/// when returned as an error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyErrors(pub Vec<PolicyProblem>);

impl PolicyErrors {
    /// The problems.
    pub fn problems(&self) -> &[PolicyProblem] {
        &self.0
    }

    /// How many distinct files have problems.
    pub fn file_count(&self) -> usize {
        let mut files: Vec<&str> = self.0.iter().map(|p| p.file.as_str()).collect();
        files.sort_unstable();
        files.dedup();
        files.len()
    }
}

impl fmt::Display for PolicyErrors {
    /// One line per problem: `file:line: key: message`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PolicyErrors {}

/// The text `llm-gateway check-policies` prints for invalid policies: a count, then one
/// problem per line, then what happens next.
pub fn report(errors: &PolicyErrors) -> String {
    let n = errors.0.len();
    let files = errors.file_count();
    format!(
        "{n} problem{} in {files} policy file{}:\n{errors}\nnothing was applied; fix these and \
         check again (a running gateway keeps its previous policies)\n",
        plural(n),
        plural(files),
    )
}

pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Byte offset → 1-based line, for one file's text.
#[derive(Debug)]
pub(crate) struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    pub(crate) fn new(text: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self { starts }
    }

    pub(crate) fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset).max(1)
    }
}

/// Collects the problems of one file.
#[derive(Debug)]
pub(crate) struct FileProblems<'a> {
    pub(crate) file: &'a str,
    lines: Lines,
    pub(crate) problems: Vec<PolicyProblem>,
}

impl<'a> FileProblems<'a> {
    pub(crate) fn new(file: &'a str, text: &str) -> Self {
        Self {
            file,
            lines: Lines::new(text),
            problems: Vec::new(),
        }
    }

    pub(crate) fn line(&self, span: &Range<usize>) -> usize {
        self.lines.line(span.start)
    }

    /// A problem at the place `span` (byte offsets into the file).
    pub(crate) fn at(&mut self, span: &Range<usize>, key: &str, message: impl Into<String>) {
        let line = Some(self.line(span));
        self.push(line, key, message);
    }

    pub(crate) fn push(&mut self, line: Option<usize>, key: &str, message: impl Into<String>) {
        self.problems.push(PolicyProblem {
            file: self.file.to_owned(),
            line,
            key: key.to_owned(),
            message: message.into(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_map_to_one_based_lines() {
        let lines = Lines::new("a\nbb\n\nc");
        assert_eq!(lines.line(0), 1);
        assert_eq!(lines.line(1), 1);
        assert_eq!(lines.line(2), 2);
        assert_eq!(lines.line(5), 3);
        assert_eq!(lines.line(6), 4);
        assert_eq!(lines.line(100), 4);
    }

    #[test]
    fn problems_print_as_file_line_key_message() {
        let p = |line, key: &str| PolicyProblem {
            file: "policies/plans.toml".into(),
            line,
            key: key.into(),
            message: "must be greater than 0".into(),
        };
        let errors = PolicyErrors(vec![p(Some(7), "policy[1].usd_per_day"), p(None, "")]);
        assert_eq!(
            errors.to_string(),
            "policies/plans.toml:7: policy[1].usd_per_day: must be greater than 0\n\
             policies/plans.toml: must be greater than 0"
        );
        assert!(report(&errors).starts_with("2 problems in 1 policy file:\n"));
    }
}
