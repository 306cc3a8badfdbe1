//! Detection on decoded text: one anchor prefilter (ASCII case-insensitive, anchors ≥ 3
//! bytes, Aho-Corasick semantics; see [`prefilter`]) over every rule's anchors, then per-hit
//! confirmation: anchored bytes-mode regexes
//! plus validators for vendor formats, small parsers for structural rules, the assignment
//! lexer for sensitive names. Overlaps resolve by priority (formats beat names).

pub(crate) mod assign;
mod check;
pub(crate) mod file;
pub(crate) mod judge;
mod lines;
mod name;
mod pair;
pub(crate) mod prefilter;
mod structural;
mod vendor;
mod words;

use regex_automata::util::syntax;
use regex_automata::{Anchored, Input, meta};

use crate::config::ExtraRule;
use crate::error::RedactError;
use crate::placeholder::{self, Kind};
use file::{FILE_RULES, FileKind};
use prefilter::Anchors;
use vendor::{Check, Start, VENDOR_RULES};

/// Index of a rule in [`Engine::rule`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct RuleId(u16);

#[cfg(test)]
impl RuleId {
    pub(crate) fn for_tests() -> Self {
        Self(0)
    }
}

/// What the engine knows about a rule.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RuleInfo {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    /// Higher wins an overlap; vendor formats beat connection strings beat names.
    priority: u8,
}

/// A confirmed secret in decoded text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Finding {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) rule: RuleId,
}

#[derive(Clone, Copy, Debug)]
enum Action {
    Vendor(usize),
    PrivateKey,
    EncodedPrivateKey,
    Putty,
    UrlPassword,
    Bearer,
    Basic,
    Assign,
    Custom(usize),
    /// Not an anchor's action: run after the hits, around each AWS key id found.
    AwsPair,
}

/// Non-vendor rules, appended after the vendor table: (name, kind, priority, action).
const SPECIAL: &[(&str, Kind, u8, Action)] = &[
    ("private-key", Kind::Pem, 4, Action::PrivateKey),
    ("putty-private-key", Kind::Pem, 4, Action::Putty),
    (
        "connection-string-password",
        Kind::UrlPassword,
        2,
        Action::UrlPassword,
    ),
    ("http-bearer-token", Kind::Header, 2, Action::Bearer),
    ("http-basic-credentials", Kind::Header, 2, Action::Basic),
    ("sensitive-assignment", Kind::Env, 1, Action::Assign),
    ("custom", Kind::Custom, 2, Action::Custom(0)),
    ("aws-secret-access-key", Kind::Aws, 3, Action::AwsPair),
];

/// Index of `aws-secret-access-key` in [`SPECIAL`].
const AWS_PAIR_SPECIAL: usize = 7;

const STRUCTURAL_ANCHORS: &[(&str, Action)] = &[
    ("-----BEGIN ", Action::PrivateKey),
    (structural::ENCODED_PEM_ANCHOR, Action::EncodedPrivateKey),
    ("PuTTY-User-Key-File-", Action::Putty),
    ("://", Action::UrlPassword),
    ("bearer ", Action::Bearer),
    ("basic ", Action::Basic),
];

/// Name fragments that send a hit to the assignment lexer.
const ASSIGN_ANCHORS: &[&str] = &[
    "secret", "token", "pass", "pwd", "auth", "cred", "cookie", "salt", "apikey", "api_key",
    "api-key", "_key", "-key", ".key", "key=", "key:", "key\"", "key'", "key =", "key :",
];

const WINDOW: usize = 8192;

/// The compiled rule set. Built once per configuration; `Send + Sync`.
#[derive(Debug)]
pub(crate) struct Engine {
    anchors: Anchors,
    actions: Vec<Vec<Action>>,
    vendor: Vec<meta::Regex>,
    custom: Vec<meta::Regex>,
    rules: Vec<RuleInfo>,
    /// The `aws-access-key-id` vendor rule, whose hits are searched for their secret.
    aws_key_id: Option<RuleId>,
}

fn compile(pattern: &str) -> Result<meta::Regex, String> {
    meta::Regex::builder()
        .syntax(syntax::Config::new().unicode(false).utf8(false))
        .configure(meta::Regex::config().utf8_empty(false))
        .build(pattern)
        .map_err(|e| e.to_string())
}

fn rule_id(i: usize) -> RuleId {
    RuleId(u16::try_from(i).unwrap_or(u16::MAX))
}

fn special_id(action_index: usize) -> RuleId {
    rule_id(VENDOR_RULES.len() + action_index)
}

impl Engine {
    pub(crate) fn new(extra: &[ExtraRule]) -> Result<Self, RedactError> {
        let engine_err = |reason: String| RedactError::InvalidRule {
            index: usize::MAX,
            reason,
        };
        let mut anchors: Vec<(String, Action)> = Vec::new();
        let mut vendor = Vec::with_capacity(VENDOR_RULES.len());
        let mut rules = Vec::new();
        for (i, def) in VENDOR_RULES.iter().enumerate() {
            vendor.push(compile(def.pattern).map_err(engine_err)?);
            rules.push(RuleInfo {
                name: def.name,
                kind: def.kind,
                priority: 3,
            });
            anchors.extend(
                def.anchors
                    .iter()
                    .map(|a| ((*a).to_owned(), Action::Vendor(i))),
            );
        }
        rules.extend(SPECIAL.iter().map(|&(name, kind, priority, _)| RuleInfo {
            name,
            kind,
            priority,
        }));
        rules.extend(FILE_RULES.iter().map(|&(name, file)| RuleInfo {
            name,
            kind: match file {
                FileKind::KeyFile => Kind::Pem,
                FileKind::GitCredentials => Kind::UrlPassword,
                _ => Kind::Env,
            },
            priority: 1,
        }));
        anchors.extend(
            STRUCTURAL_ANCHORS
                .iter()
                .map(|&(a, act)| (a.to_owned(), act)),
        );
        anchors.extend(
            ASSIGN_ANCHORS
                .iter()
                .map(|a| ((*a).to_owned(), Action::Assign)),
        );
        let mut custom = Vec::with_capacity(extra.len());
        for (index, rule) in extra.iter().enumerate() {
            let bad = |reason: String| RedactError::InvalidRule { index, reason };
            if rule.anchors.is_empty() {
                return Err(bad("needs at least one anchor".into()));
            }
            for a in &rule.anchors {
                if a.len() < gateway_core::REDACTION_ANCHOR_MIN_BYTES || !a.is_ascii() {
                    let min = gateway_core::REDACTION_ANCHOR_MIN_BYTES;
                    return Err(bad(format!("anchor {a:?} must be ≥ {min} ASCII bytes")));
                }
                anchors.push((a.clone(), Action::Custom(index)));
            }
            let bad_pattern = |reason: String| RedactError::InvalidPattern { index, reason };
            let re = compile(&rule.pattern)
                .map_err(|e| bad_pattern(format!("does not compile: {e}")))?;
            if re.is_match("") {
                return Err(bad_pattern(
                    "matches the empty string; a rule must match the secret itself".into(),
                ));
            }
            custom.push(re);
        }
        // One automaton pattern per distinct (case-folded) anchor, with all its actions.
        let mut patterns: Vec<Vec<u8>> = Vec::new();
        let mut actions: Vec<Vec<Action>> = Vec::new();
        for (a, act) in anchors {
            let folded = a.to_ascii_lowercase().into_bytes();
            match patterns.iter().position(|p| *p == folded) {
                Some(i) => actions[i].push(act),
                None => {
                    patterns.push(folded);
                    actions.push(vec![act]);
                }
            }
        }
        let anchors = Anchors::new(patterns).map_err(engine_err)?;
        let aws_key_id = VENDOR_RULES
            .iter()
            .position(|d| d.name == "aws-access-key-id")
            .map(rule_id);
        Ok(Self {
            anchors,
            actions,
            vendor,
            custom,
            rules,
            aws_key_id,
        })
    }

    pub(crate) fn rule(&self, id: RuleId) -> RuleInfo {
        self.rules
            .get(usize::from(id.0))
            .copied()
            .unwrap_or(RuleInfo {
                name: "custom",
                kind: Kind::Custom,
                priority: 0,
            })
    }

    /// Appends the confirmed, non-overlapping findings in `text` to `out`.
    pub(crate) fn detect(
        &self,
        text: &[u8],
        scratch: &mut prefilter::Scratch,
        out: &mut Vec<Finding>,
    ) {
        let mut found: Vec<Finding> = Vec::new();
        let mut covered = 0;
        let mut names_done = 0;
        self.anchors.find(text, scratch);
        for hit in &scratch.hits {
            let p = hit.start;
            if p < covered {
                continue;
            }
            for &action in &self.actions[hit.anchor] {
                let (span, rule) = match action {
                    Action::Assign => {
                        if p < names_done {
                            continue;
                        }
                        let (span, end) = assign::assignment(text, p);
                        names_done = end;
                        (span, special_id(5))
                    }
                    Action::Vendor(i) => (self.vendor_at(i, text, p), rule_id(i)),
                    Action::PrivateKey => (structural::private_key(text, p), special_id(0)),
                    Action::EncodedPrivateKey => {
                        (structural::encoded_private_key(text, p), special_id(0))
                    }
                    Action::Putty => (structural::putty_key(text, p), special_id(1)),
                    Action::UrlPassword => (structural::url_password(text, p), special_id(2)),
                    Action::Bearer => (structural::bearer(text, p), special_id(3)),
                    Action::Basic => (structural::basic(text, p), special_id(4)),
                    Action::Custom(i) => (self.custom_at(i, text, p), special_id(6)),
                    Action::AwsPair => (None, special_id(AWS_PAIR_SPECIAL)),
                };
                if let Some((start, end)) = span {
                    if !matches!(action, Action::Assign) {
                        covered = covered.max(end);
                    }
                    found.push(Finding { start, end, rule });
                    break;
                }
            }
        }
        if found.is_empty() {
            return;
        }
        self.pair_aws_secrets(text, &mut found);
        self.resolve(&mut found);
        out.extend(
            found
                .into_iter()
                .filter_map(|f| on_char_boundaries(text, f))
                .filter(|f| !overlaps_placeholder(text, f.start, f.end)),
        );
    }

    /// [`Self::detect`] for the content of a `kind` file (known by the path a tool call
    /// read it from): the content rules plus the file format's own ([`file`]).
    pub(crate) fn detect_in_file(
        &self,
        text: &[u8],
        kind: FileKind,
        scratch: &mut prefilter::Scratch,
        out: &mut Vec<Finding>,
    ) {
        let mut found = Vec::new();
        self.detect(text, scratch, &mut found);
        let mut spans = Vec::new();
        file::find(text, kind, &mut spans);
        if spans.is_empty() {
            out.extend(found);
            return;
        }
        // Content findings win every overlap: a file rule's span that overlaps one is
        // dropped, not merged, so that a second pass (which skips lines holding a
        // placeholder) finds nothing new.
        let first_file_rule = VENDOR_RULES.len() + SPECIAL.len();
        let content = found.len();
        for (start, end, i) in spans {
            if !found[..content]
                .iter()
                .any(|f| f.start < end && start < f.end)
            {
                found.push(Finding {
                    start,
                    end,
                    rule: rule_id(first_file_rule + i),
                });
            }
        }
        found.sort_by_key(|f| f.start);
        out.extend(
            found
                .into_iter()
                .filter_map(|f| on_char_boundaries(text, f))
                .filter(|f| !overlaps_placeholder(text, f.start, f.end)),
        );
    }

    /// Adds the AWS secret access keys found beside the key ids in `found` ([`pair`]).
    fn pair_aws_secrets(&self, text: &[u8], found: &mut Vec<Finding>) {
        let mut spans = Vec::new();
        for f in found.iter().filter(|f| Some(f.rule) == self.aws_key_id) {
            pair::aws_secrets_near(text, f.start, f.end, &mut spans);
        }
        spans.sort_unstable();
        spans.dedup();
        let rule = special_id(AWS_PAIR_SPECIAL);
        found.extend(
            spans
                .into_iter()
                .map(|(start, end)| Finding { start, end, rule }),
        );
    }

    /// Keeps one finding per overlapping group: the higher priority, then the longer.
    fn resolve(&self, found: &mut Vec<Finding>) {
        found.sort_by_key(|f| (f.start, std::cmp::Reverse(f.end)));
        let mut kept: Vec<Finding> = Vec::with_capacity(found.len());
        for f in found.drain(..) {
            match kept.last_mut() {
                Some(last) if f.start < last.end => {
                    let (pf, pl) = (self.rule(f.rule).priority, self.rule(last.rule).priority);
                    if pf > pl || (pf == pl && f.end - f.start > last.end - last.start) {
                        *last = f;
                    }
                }
                _ => kept.push(f),
            }
        }
        *found = kept;
    }

    fn vendor_at(&self, i: usize, text: &[u8], p: usize) -> Option<(usize, usize)> {
        let def = &VENDOR_RULES[i];
        let re = &self.vendor[i];
        let (s, e) = match def.start {
            Start::At(back) => {
                let s = p.checked_sub(usize::from(back))?;
                let input = Input::new(text)
                    .span(s..text.len().min(s + WINDOW))
                    .anchored(Anchored::Yes);
                let m = re.search(&input)?;
                (m.start(), m.end())
            }
            Start::Around(before, after) => {
                let span =
                    p.saturating_sub(usize::from(before))..text.len().min(p + usize::from(after));
                let m = re
                    .find_iter(Input::new(text).span(span))
                    .take_while(|m| m.start() <= p)
                    .find(|m| p < m.end())?;
                (m.start(), m.end())
            }
        };
        if let Some(&b) = s.checked_sub(1).and_then(|i| text.get(i)) {
            // `\n` before a token in nested JSON text is a line break, not a letter.
            let escape = s >= 2 && text[s - 2] == b'\\' && matches!(b, b'n' | b'r' | b't');
            if !escape
                && (b.is_ascii_alphanumeric() || b == b'_' || (def.no_dot_before && b == b'.'))
            {
                return None;
            }
        }
        if text.get(e).is_some_and(|&b| def.cont.continues(b)) {
            return None;
        }
        let token = &text[s..e];
        let ok = match def.check {
            Check::None => true,
            Check::CrcTail => check::crc_tail_ok(token),
            Check::Jwt => check::jwt_ok(token),
            Check::NotDocExample => check::not_doc_example(token),
            Check::OpenAi => check::openai_ok(token),
        };
        ok.then_some((s, e))
    }

    fn custom_at(&self, i: usize, text: &[u8], p: usize) -> Option<(usize, usize)> {
        let re = self.custom.get(i)?;
        let span = p.saturating_sub(256)..text.len().min(p + 1024);
        let m = re
            .find_iter(Input::new(text).span(span))
            .take_while(|m| m.start() <= p)
            .find(|m| p < m.end() && m.start() < m.end())?;
        Some((m.start(), m.end()))
    }
}

/// `f` shrunk to whole UTF-8 characters (a value cut at a length bound may end inside one,
/// and splicing there would leave invalid UTF-8, hence invalid JSON); `None` if nothing is
/// left.
fn on_char_boundaries(text: &[u8], mut f: Finding) -> Option<Finding> {
    let continuation = |i: usize| text.get(i).is_some_and(|&b| b & 0xC0 == 0x80);
    while f.start < f.end && continuation(f.start) {
        f.start += 1;
    }
    while f.end > f.start && continuation(f.end) {
        f.end -= 1;
    }
    (f.start < f.end).then_some(f)
}

/// Whether `[s, e)` touches a `gwx_…` placeholder (never redact our own output).
fn overlaps_placeholder(text: &[u8], s: usize, e: usize) -> bool {
    let from = s.saturating_sub(placeholder::MAX_LEN);
    memchr::memmem::find_iter(&text[from..e], b"gwx_").any(|i| {
        let at = from + i;
        placeholder::token_len(&text[at..]).is_some_and(|len| at + len > s)
    })
}
