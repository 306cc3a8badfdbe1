//! [`PolicySet`]: all policy files, validated together, ranked once, and matched per request.

use std::{
    cmp::Reverse,
    fmt::Write as _,
    hash::{DefaultHasher, Hash, Hasher},
    path::Path,
    sync::Arc,
};

use crate::{
    Policy, PolicyErrors, PolicyProblem, Who,
    problems::{FileProblems, plural},
    read::{self, Read},
};

/// Every policy of a policies directory, validated and ranked. Immutable: the gateway builds a
/// new set on reload and swaps an `Arc<PolicySet>` atomically.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PolicySet {
    /// In selection order; the default policy, if any, last. Shared, so a request can keep
    /// its policy (for later stages) without copying it.
    ranked: Vec<Arc<Policy>>,
    fingerprint: u64,
}

impl PolicySet {
    /// No policies: every request is unlimited.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Reads every `*.toml` file of `dir` (not hidden ones, not subdirectories), sorted by
    /// file name, and validates them together. Files are named by their path in problems.
    /// A missing or unreadable directory is one problem; an unreadable file is one problem
    /// and the other files are still checked. An empty directory is an empty set.
    pub fn load_dir(dir: &Path) -> Result<PolicySet, PolicyErrors> {
        let whole_dir = |message: String| {
            PolicyErrors(vec![PolicyProblem {
                file: dir.display().to_string(),
                line: None,
                key: String::new(),
                message,
            }])
        };
        let entries = std::fs::read_dir(dir)
            .map_err(|e| whole_dir(format!("cannot read the policies directory: {e}")))?;
        let mut paths = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| whole_dir(format!("cannot list the directory: {e}")))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            // Hidden files include editors' lock files such as `.#plans.toml`.
            if name.starts_with('.') || !name.ends_with(".toml") {
                continue;
            }
            let path = entry.path();
            if path.is_file() {
                paths.push(path);
            }
        }
        paths.sort();
        let mut files = Vec::with_capacity(paths.len());
        let mut unreadable = Vec::new();
        for path in paths {
            let file = path.display().to_string();
            match std::fs::read_to_string(&path) {
                Ok(text) => files.push((file, text)),
                Err(e) => unreadable.push(PolicyProblem {
                    file,
                    line: None,
                    key: String::new(),
                    message: format!("cannot read: {e}"),
                }),
            }
        }
        match (Self::parse_files(&files), unreadable.is_empty()) {
            (Ok(set), true) => Ok(set),
            (Ok(_), false) => Err(PolicyErrors(unreadable)),
            (Err(PolicyErrors(mut problems)), _) => {
                problems.extend(unreadable);
                problems.sort_by(|a, b| a.file.cmp(&b.file));
                Err(PolicyErrors(problems))
            }
        }
    }

    /// Validates `(file name, text)` pairs together, taken in file name order (as
    /// [`PolicySet::load_dir`] does). Every problem of every file is reported.
    pub fn parse_files(files: &[(String, String)]) -> Result<PolicySet, PolicyErrors> {
        let mut order: Vec<&(String, String)> = files.iter().collect();
        order.sort_by(|a, b| a.0.cmp(&b.0));
        let mut hasher = DefaultHasher::new();
        let mut problems = Vec::new();
        let mut policies = Vec::new();
        for (file, text) in order {
            (file, text).hash(&mut hasher);
            let mut out = FileProblems::new(file, text);
            policies.extend(read::file(&mut out, text));
            out.problems.sort_by_key(|p| p.line);
            problems.append(&mut out.problems);
        }
        check_across(&policies, &mut problems);
        let valid = policies.len();
        let policies: Vec<Policy> = policies
            .into_iter()
            .filter_map(|r| r.ok.then_some(r.policy))
            .collect();
        if !problems.is_empty() || policies.len() != valid {
            // Problems across files were found later; keep each file's problems by line.
            problems.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
            return Err(PolicyErrors(problems));
        }
        Ok(Self {
            ranked: rank(policies),
            fingerprint: hasher.finish(),
        })
    }

    /// The policy for `who`: the first in [`PolicySet::policies`] order whose `match` fits,
    /// else the default policy, else `None` (no limits at all).
    pub fn select(&self, who: &Who<'_>) -> Option<&Policy> {
        self.select_shared(who).map(|p| &**p)
    }

    /// [`PolicySet::select`], as a shared handle a request can keep after the set is swapped.
    pub fn select_shared(&self, who: &Who<'_>) -> Option<&Arc<Policy>> {
        self.ranked.iter().find(|p| p.matcher.matches(who))
    }

    /// The policy named `name`.
    pub fn get(&self, name: &str) -> Option<&Policy> {
        self.ranked.iter().find(|p| p.name == name).map(|p| &**p)
    }

    /// All policies in selection order (see the crate docs), the default policy last.
    pub fn policies(&self) -> &[Arc<Policy>] {
        &self.ranked
    }

    /// Whether there are no policies.
    pub fn is_empty(&self) -> bool {
        self.ranked.is_empty()
    }

    /// A hash of the file names and texts the set was built from (0 for [`PolicySet::empty`]):
    /// equal fingerprints mean the same input, so a reload may skip the swap. Stable within
    /// one build of the gateway, not across versions.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }
}

/// Problems only visible across all files: duplicate names, two defaults, a policy that can
/// never be selected because an identical `match` with the same priority comes first. Runs
/// on policies with problems too, so one run reports everything; names and matches that
/// could not be read are left out of the comparisons.
fn check_across(read: &[Read], problems: &mut Vec<PolicyProblem>) {
    let at = |p: &Policy| format!("{}:{}", p.origin.file, p.origin.line);
    for (i, r) in read.iter().enumerate() {
        let p = &r.policy;
        let named = read[..i]
            .iter()
            .map(|e| &e.policy)
            .filter(|e| !e.name.is_empty());
        let matched: Vec<&Policy> = read[..i]
            .iter()
            .filter(|e| e.match_ok)
            .map(|e| &e.policy)
            .collect();
        let mut problem = |key: &str, message: String| {
            problems.push(PolicyProblem {
                file: p.origin.file.clone(),
                line: Some(p.origin.line),
                key: format!("policy[{}].{key}", p.origin.index),
                message,
            });
        };
        if let Some(first) = named.clone().find(|e| e.name == p.name) {
            let message = format!(
                "duplicate name; `{}` is already used at {}",
                p.name,
                at(first)
            );
            problem("name", message);
        }
        if !r.match_ok {
            continue;
        }
        if p.is_default()
            && let Some(first) = matched.iter().find(|e| e.is_default())
        {
            let message = format!(
                "a second default policy (no `match`); `{}` at {} is already the default, so \
                 give one of them a `match`",
                first.name,
                at(first)
            );
            problem("match", message);
        } else if !p.is_default()
            && let Some(first) = matched
                .iter()
                .find(|e| e.matcher == p.matcher && e.priority == p.priority)
        {
            let message = format!(
                "never selected: `{}` at {} has the same `match` and priority and comes first; \
                 merge them or set a `priority`",
                first.name,
                at(first)
            );
            problem("match", message);
        }
    }
}

/// Selection order: higher `priority` first (absent = 0); then more `match` fields; then more
/// fields without wildcards; then file name order; then order in the file. The default
/// policy goes last whatever its place.
fn rank(mut policies: Vec<Policy>) -> Vec<Arc<Policy>> {
    // `policies` is already in file, then in-file order, and the sort is stable.
    policies.sort_by_key(|p| {
        (
            p.is_default(),
            Reverse(p.priority.unwrap_or(0)),
            Reverse(p.matcher.field_count()),
            Reverse(p.matcher.literal_count()),
        )
    });
    policies.into_iter().map(Arc::new).collect()
}

/// The text `llm-gateway check-policies` prints for a valid set: one line per policy in
/// selection order, with where it was written and what it applies to.
pub fn summary(set: &PolicySet) -> String {
    let n = set.ranked.len();
    let mut text = format!("{n} polic{} valid, in selection order:\n", plural_y(n));
    for p in &set.ranked {
        let _ = write!(text, "  {} ({}:{}) ", p.name, p.origin.file, p.origin.line);
        let m = &p.matcher;
        let fields = [("subject", &m.subject), ("org", &m.org), ("plan", &m.plan)];
        let when: Vec<String> = fields
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k} = {v:?}")))
            .collect();
        if when.is_empty() {
            text.push_str("default, for everyone else");
        } else {
            let _ = write!(text, "when {}", when.join(", "));
        }
        if let Some(priority) = p.priority {
            let _ = write!(text, ", priority {priority}");
        }
        let limits =
            p.limits.iter().count() + p.org_limits.as_ref().map_or(0, |l| l.iter().count());
        let _ = writeln!(
            text,
            "; {limits} limit{}, on_store_error = {}",
            plural(limits),
            p.on_store_error.as_str()
        );
    }
    if set.ranked.iter().all(|p| !p.is_default()) {
        text.push_str("no default policy: principals matching none of these have no limits\n");
    }
    text
}

fn plural_y(n: usize) -> &'static str {
    if n == 1 { "y is" } else { "ies are" }
}
