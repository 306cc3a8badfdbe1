//! [`Redactors`]: one redaction engine per policy whose `[policy.redaction]` adds rules or an
//! allowlist (the gateway's default engine serves every other policy), built for the whole
//! policy set before it goes live. A set whose engines cannot be built is refused as a policy
//! problem (at start: exit 78; on reload: the old set stays), so a bad rule never reaches the
//! request path.
//!
//! Engines are cached by policy name and exact settings: a reload that leaves a policy's
//! rules and allowlist alone reuses its engine, and the previous generation is kept until the
//! next reload so a request matched just before a swap still finds its engine.

use std::{
    collections::HashMap,
    sync::{Arc, PoisonError, RwLock},
};

use gateway_policy::{Policy, PolicyErrors, PolicyProblem, PolicySet, RedactionRule};
use gateway_redact::{ExtraRule, RedactError, Redactor, RedactorConfig, TenantKey};

/// Engines kept per policy name: this generation's and the previous one's.
const GENERATIONS_KEPT: usize = 2;

/// An engine and the settings it was built from.
#[derive(Debug)]
struct Engine {
    allow: Vec<String>,
    rules: Vec<RedactionRule>,
    redactor: Arc<Redactor>,
}

impl Engine {
    fn serves(&self, p: &Policy) -> bool {
        self.allow == p.redaction.allow && self.rules == p.redaction.rules
    }
}

/// The engines of a validated policy set, ready to install.
#[derive(Debug)]
pub struct Prepared {
    engines: HashMap<String, Vec<Arc<Engine>>>,
    unscanned: Vec<String>,
}

/// The per-policy engines in force.
#[derive(Debug)]
pub(crate) struct Redactors {
    key: TenantKey,
    default: Arc<Redactor>,
    live: RwLock<Arc<HashMap<String, Vec<Arc<Engine>>>>>,
}

impl Redactors {
    /// The default engine (built-in rules) plus the engines `set` needs.
    pub(crate) fn new(key: TenantKey, set: &PolicySet) -> Result<Self, SetupError> {
        let default =
            Redactor::new(RedactorConfig::new(key.clone())).map_err(SetupError::Engine)?;
        let this = Self {
            key,
            default: Arc::new(default),
            live: RwLock::new(Arc::default()),
        };
        let prepared = this.prepare(set).map_err(SetupError::Policies)?;
        this.install(prepared);
        Ok(this)
    }

    /// Builds (or reuses) the engine of every policy of `set` that needs one; every rule
    /// the engine refuses is a problem at its policy's key path.
    pub(crate) fn prepare(&self, set: &PolicySet) -> Result<Prepared, PolicyErrors> {
        let live = self.snapshot();
        let mut engines: HashMap<String, Vec<Arc<Engine>>> = HashMap::new();
        let mut problems = Vec::new();
        let mut unscanned = Vec::new();
        for p in set.policies() {
            if !p.redaction.enabled {
                unscanned.push(p.name.clone());
            }
            if !p.redaction.customises_engine() {
                continue;
            }
            let previous = live.get(&p.name);
            let current = previous.and_then(|list| list.iter().find(|e| e.serves(p)).cloned());
            let current = match current {
                Some(e) => e,
                None => match self.build(p) {
                    Ok(e) => Arc::new(e),
                    Err(e) => {
                        problems.push(problem(p, &e));
                        continue;
                    }
                },
            };
            let mut kept = vec![current.clone()];
            kept.extend(
                previous
                    .into_iter()
                    .flatten()
                    .filter(|e| !Arc::ptr_eq(e, &current))
                    .take(GENERATIONS_KEPT - 1)
                    .cloned(),
            );
            engines.insert(p.name.clone(), kept);
        }
        if problems.is_empty() {
            Ok(Prepared { engines, unscanned })
        } else {
            Err(PolicyErrors(problems))
        }
    }

    /// Puts prepared engines in force; warns once for every policy that turns scanning off.
    pub(crate) fn install(&self, prepared: Prepared) {
        for name in &prepared.unscanned {
            tracing::warn!(
                policy = %name,
                "secret redaction is OFF for this policy ([policy.redaction] enabled = false): its requests reach the provider unscanned"
            );
        }
        *self.live.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(prepared.engines);
    }

    /// The engine for a request matched to `policy` (the default engine without one, or
    /// when the policy adds nothing). A policy from a set that is no longer in force gets a
    /// freshly built engine.
    pub(crate) fn for_policy(&self, policy: Option<&Policy>) -> Result<Arc<Redactor>, RedactError> {
        let Some(p) = policy.filter(|p| p.redaction.customises_engine()) else {
            return Ok(self.default.clone());
        };
        let live = self.snapshot();
        if let Some(e) = live
            .get(&p.name)
            .and_then(|list| list.iter().find(|e| e.serves(p)))
        {
            return Ok(e.redactor.clone());
        }
        tracing::debug!(policy = %p.name, "no engine for this policy's settings in force; building one");
        self.build(p).map(|e| e.redactor)
    }

    fn snapshot(&self) -> Arc<HashMap<String, Vec<Arc<Engine>>>> {
        self.live
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn build(&self, p: &Policy) -> Result<Engine, RedactError> {
        let config = RedactorConfig {
            tenant_key: self.key.clone(),
            extra_rules: p
                .redaction
                .rules
                .iter()
                .map(|r| ExtraRule {
                    anchors: r.anchors.clone(),
                    pattern: r.pattern.clone(),
                })
                .collect(),
            allowlist: p.redaction.allow.clone(),
        };
        Ok(Engine {
            allow: p.redaction.allow.clone(),
            rules: p.redaction.rules.clone(),
            redactor: Arc::new(Redactor::new(config)?),
        })
    }
}

/// A rule the engine refused, at the policy's place in its file.
fn problem(p: &Policy, e: &RedactError) -> PolicyProblem {
    let at = p.origin.index;
    let (key, line) = match e {
        RedactError::InvalidPattern { index, .. } if *index < p.redaction.rules.len() => (
            format!("policy[{at}].redaction.rules[{index}].pattern"),
            p.redaction.rules[*index].pattern_line,
        ),
        RedactError::InvalidRule { index, .. } if *index < p.redaction.rules.len() => (
            format!("policy[{at}].redaction.rules[{index}]"),
            p.origin.line,
        ),
        _ => (format!("policy[{at}].redaction"), p.origin.line),
    };
    PolicyProblem {
        file: p.origin.file.clone(),
        line: Some(line),
        key,
        message: format!("the redaction engine refused it: {e}"),
    }
}

/// The engines could not be built at start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SetupError {
    /// The built-in rule set (a bug).
    #[error("{0}")]
    Engine(RedactError),
    /// A policy's rules.
    #[error("{0}")]
    Policies(PolicyErrors),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Redaction;

    fn key() -> TenantKey {
        TenantKey::new(b"0123456789abcdef0123456789abcdef".to_vec()).unwrap()
    }

    fn set(text: &str) -> PolicySet {
        PolicySet::parse_files(&[("p.toml".to_owned(), text.to_owned())]).unwrap()
    }

    const RULED: &str = r#"
[[policy]]
name = "ruled"
match = { plan = "a" }
[policy.redaction]
allow = ["keep-me-please"]
[[policy.redaction.rules]]
name = "acme"
anchors = ["acmetok_"]
pattern = "acmetok_[A-Za-z0-9]{32}"

[[policy]]
name = "plain"
"#;

    #[test]
    fn policies_that_add_nothing_share_the_default_engine() {
        let r = Redactors::new(key(), &set(RULED)).unwrap();
        let s = set(RULED);
        let plain = s.get("plain").unwrap();
        let ruled = s.get("ruled").unwrap();
        assert!(Arc::ptr_eq(&r.for_policy(Some(plain)).unwrap(), &r.default));
        assert!(Arc::ptr_eq(&r.for_policy(None).unwrap(), &r.default));
        let a = r.for_policy(Some(ruled)).unwrap();
        assert!(!Arc::ptr_eq(&a, &r.default));
        assert!(
            Arc::ptr_eq(&a, &r.for_policy(Some(ruled)).unwrap()),
            "cached"
        );
    }

    #[test]
    fn reload_reuses_unchanged_engines_and_keeps_the_previous_generation() {
        let r = Redactors::new(key(), &set(RULED)).unwrap();
        let old_set = set(RULED);
        let old = r.for_policy(old_set.get("ruled")).unwrap();
        // Same settings: the same engine.
        r.install(r.prepare(&set(RULED)).unwrap());
        assert!(Arc::ptr_eq(
            &old,
            &r.for_policy(old_set.get("ruled")).unwrap()
        ));
        // New allowlist: a new engine, and the old one still serves the old policy.
        let edited = RULED.replace("keep-me-please", "keep-me-too");
        let new_set = set(&edited);
        r.install(r.prepare(&new_set).unwrap());
        let new = r.for_policy(new_set.get("ruled")).unwrap();
        assert!(!Arc::ptr_eq(&old, &new));
        assert!(Arc::ptr_eq(
            &old,
            &r.for_policy(old_set.get("ruled")).unwrap()
        ));
    }

    #[test]
    fn a_rule_the_engine_refuses_is_a_policy_problem_with_its_path() {
        let r = Redactors::new(key(), &set(RULED)).unwrap();
        // The policy crate checks rules as the engine does; force a disagreement.
        let mut p = (*set(RULED).policies()[0]).clone();
        p.redaction.rules[0].anchors = vec!["ab".to_owned()];
        let e = r.build(&p).err().unwrap();
        let got = problem(&p, &e);
        assert_eq!(got.key, "policy[0].redaction.rules[0]");
        assert_eq!(got.file, "p.toml");
    }

    #[test]
    fn a_pattern_the_engine_refuses_is_reported_at_its_line() {
        let broken = RULED.replace("acmetok_[A-Za-z0-9]{32}", "acmetok_[A-Z");
        let empty = RULED.replace("acmetok_[A-Za-z0-9]{32}", "(acmetok_)?");
        for (text, says) in [
            (broken, "does not compile"),
            (empty, "matches the empty string"),
        ] {
            let errors = Redaction::check(&set(&text)).unwrap_err();
            let p = &errors.problems()[0];
            assert_eq!(p.key, "policy[0].redaction.rules[0].pattern", "{p:?}");
            assert_eq!(p.line, Some(10), "the pattern's own line: {p:?}");
            assert!(p.message.contains(says), "{p:?}");
        }
        // The same set passes `check` and builds at start only when every engine builds.
        assert!(Redaction::check(&set(RULED)).is_ok());
        assert!(Redactors::new(key(), &set(&RULED.replace("{32}", "{"))).is_err());
    }
}
