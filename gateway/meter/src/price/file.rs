//! Reading `prices.toml` into a [`PriceTable`]: every problem at once, each with its key path
//! and line.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::decimal::usd_to_micro;
use super::errors::{PriceErrors, PriceProblem, join, quote};
use super::{Glob, LongContext, Price, PriceTable, UnknownModelAnswer};

const TOP_KEYS: &[&str] = &["provider_prefixes", "unknown_models", "models"];
const UNKNOWN_KEYS: &[&str] = &["answer", "default"];
const RATE_KEYS: [&str; 5] = [
    "input",
    "output",
    "cache_write_5m",
    "cache_write_1h",
    "cache_read",
];
const MODEL_KEYS: &[&str] = &[
    "input",
    "output",
    "cache_write_5m",
    "cache_write_1h",
    "cache_read",
    "max_output_tokens",
    "aliases",
    "long_context",
];
const LONG_KEYS: &[&str] = &[
    "above_prompt_tokens",
    "input",
    "output",
    "cache_write_5m",
    "cache_write_1h",
    "cache_read",
];

type Value<'t> = Spanned<DeValue<'t>>;

pub(super) fn parse(text: &str) -> Result<PriceTable, PriceErrors> {
    let mut r = Reader {
        text,
        problems: Vec::new(),
    };
    let doc = match DeTable::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            let line = e.span().map(|s| r.line(&s));
            r.problems.push(PriceProblem {
                path: String::new(),
                line,
                message: format!("not valid TOML: {}", e.message().trim_end()),
            });
            return Err(r.finish());
        }
    };
    let mut prefixes = Vec::new();
    let mut unknown = None;
    let mut models = BTreeMap::new();
    let mut aliases: Vec<(Spanned<String>, String)> = Vec::new();
    let mut saw_models = false;
    for (key, value) in doc.get_ref().iter() {
        match key.get_ref().as_ref() {
            "provider_prefixes" => prefixes = r.prefixes(value),
            "unknown_models" => unknown = r.unknown_models(value),
            "models" => {
                saw_models = true;
                let Some(table) = r.table("models", value) else {
                    continue;
                };
                for (id, entry) in table.iter() {
                    let id = id.get_ref().as_ref();
                    let path = format!("models.{}", quote(id));
                    let Some((price, names)) = r.price(&path, entry, true) else {
                        continue;
                    };
                    models.insert(id.to_owned(), price);
                    aliases.extend(names.into_iter().map(|a| (a, id.to_owned())));
                }
            }
            other => r.unknown_key("", key, other, TOP_KEYS),
        }
    }
    if !saw_models {
        r.missing("", 0..0, "[models] (one table per model)");
    }
    if unknown.is_none() && !doc.get_ref().contains_key("unknown_models") {
        r.missing(
            "",
            0..0,
            "[unknown_models] with answer = \"refuse\" or \"default\"",
        );
    }
    let (exact, globs) = r.aliases(aliases, &models);
    match unknown {
        Some(unknown) if r.problems.is_empty() => Ok(PriceTable {
            models,
            aliases: exact,
            globs,
            provider_prefixes: prefixes,
            unknown,
        }),
        _ => Err(r.finish()),
    }
}

struct Reader<'t> {
    text: &'t str,
    problems: Vec<PriceProblem>,
}

impl<'t> Reader<'t> {
    fn finish(mut self) -> PriceErrors {
        self.problems.sort_by_key(|p| p.line.unwrap_or(0));
        PriceErrors {
            file: None,
            problems: self.problems,
        }
    }

    fn line(&self, span: &Range<usize>) -> usize {
        let before = self.text.as_bytes().get(..span.start).unwrap_or_default();
        memchr::memchr_iter(b'\n', before).count() + 1
    }

    fn problem(&mut self, path: &str, span: Range<usize>, message: impl Into<String>) {
        let line = (span != (0..0)).then(|| self.line(&span));
        self.problems.push(PriceProblem {
            path: path.to_owned(),
            line,
            message: message.into(),
        });
    }

    fn missing(&mut self, path: &str, span: Range<usize>, what: &str) {
        self.problem(path, span, format!("missing {what}"));
    }

    fn unknown_key(
        &mut self,
        path: &str,
        key: &Spanned<std::borrow::Cow<'_, str>>,
        name: &str,
        known: &[&str],
    ) {
        let full = join(path, name);
        let message = format!("unknown key; expected one of: {}", known.join(", "));
        self.problem(&full, key.span(), message);
    }

    fn table<'v>(&mut self, path: &str, value: &'v Value<'t>) -> Option<&'v DeTable<'t>> {
        match value.get_ref() {
            DeValue::Table(t) => Some(t),
            _ => {
                self.problem(path, value.span(), "must be a table");
                None
            }
        }
    }

    fn string(&mut self, path: &str, value: &Value<'t>) -> Option<String> {
        match value.get_ref() {
            DeValue::String(s) if !s.is_empty() => Some(s.to_string()),
            _ => {
                self.problem(path, value.span(), "must be a non-empty string");
                None
            }
        }
    }

    fn strings(&mut self, path: &str, value: &Value<'t>) -> Vec<Spanned<String>> {
        let DeValue::Array(items) = value.get_ref() else {
            self.problem(path, value.span(), "must be an array of strings");
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            if let Some(s) = self.string(&format!("{path}[{i}]"), item) {
                out.push(Spanned::new(item.span(), s));
            }
        }
        out
    }

    fn prefixes(&mut self, value: &Value<'t>) -> Vec<String> {
        let prefixes = self.strings("provider_prefixes", value);
        prefixes.into_iter().map(Spanned::into_inner).collect()
    }

    fn unknown_models(&mut self, value: &Value<'t>) -> Option<UnknownModelAnswer> {
        let table = self.table("unknown_models", value)?;
        let mut answer = None;
        let mut default = None;
        for (key, v) in table.iter() {
            match key.get_ref().as_ref() {
                "answer" => match v.get_ref() {
                    DeValue::String(s) if s == "refuse" || s == "default" => {
                        answer = Some(s.as_ref())
                    }
                    _ => self.problem(
                        "unknown_models.answer",
                        v.span(),
                        "must be \"refuse\" or \"default\"",
                    ),
                },
                "default" => {
                    default = self
                        .price("unknown_models.default", v, false)
                        .map(|(p, _)| p);
                }
                other => self.unknown_key("unknown_models", key, other, UNKNOWN_KEYS),
            }
        }
        match (answer, default) {
            (Some("refuse"), _) => Some(UnknownModelAnswer::Refuse),
            (Some(_), Some(price)) => Some(UnknownModelAnswer::Default(price)),
            (Some(_), None) => {
                if !table.contains_key("default") {
                    let what = "[unknown_models.default]: answer = \"default\" needs a price";
                    self.missing("unknown_models", value.span(), what);
                }
                None
            }
            (None, _) => {
                if !table.contains_key("answer") {
                    let what = "answer = \"refuse\" or \"default\"";
                    self.missing("unknown_models", value.span(), what);
                }
                None
            }
        }
    }

    /// A model's (or the default's) price, and its aliases when `aliases` are allowed.
    fn price(
        &mut self,
        path: &str,
        value: &Value<'t>,
        aliases: bool,
    ) -> Option<(Price, Vec<Spanned<String>>)> {
        let table = self.table(path, value)?;
        let before = self.problems.len();
        let mut rates: [Option<u64>; 5] = [None; 5];
        let mut max_output = None;
        let mut names = Vec::new();
        let mut long = None;
        for (key, v) in table.iter() {
            let name = key.get_ref().as_ref();
            let at = join(path, name);
            if let Some(i) = RATE_KEYS.iter().position(|k| *k == name) {
                rates[i] = self.rate(&at, v);
                continue;
            }
            match name {
                "max_output_tokens" => max_output = self.count(&at, v),
                "aliases" if aliases => names = self.strings(&at, v),
                "long_context" => long = Some((at, v)),
                _ => self.unknown_key(path, key, name, MODEL_KEYS),
            }
        }
        for (i, key) in RATE_KEYS.iter().enumerate() {
            if rates[i].is_none() && !table.contains_key(*key) {
                let what = format!("`{key}` (USD per million tokens, e.g. {key} = 3.75)");
                self.missing(path, value.span(), &what);
            }
        }
        if max_output.is_none() && !table.contains_key("max_output_tokens") {
            self.missing(path, value.span(), "`max_output_tokens` (e.g. 64000)");
        }
        let [Some(input), Some(output), Some(w5m), Some(w1h), Some(read)] = rates else {
            return None;
        };
        let mut price = Price {
            input,
            output,
            cache_write_5m: w5m,
            cache_write_1h: w1h,
            cache_read: read,
            max_output_tokens: max_output.unwrap_or(0),
            long_context: None,
        };
        if let Some((at, v)) = long {
            price.long_context = self.long_context(&at, v, &price);
        }
        (self.problems.len() == before).then_some((price, names))
    }

    /// A long-context tier; rates it leaves out stay at the model's base rate.
    fn long_context(&mut self, path: &str, value: &Value<'t>, base: &Price) -> Option<LongContext> {
        let table = self.table(path, value)?;
        let mut long = LongContext {
            above_prompt_tokens: 0,
            input: base.input,
            output: base.output,
            cache_write_5m: base.cache_write_5m,
            cache_write_1h: base.cache_write_1h,
            cache_read: base.cache_read,
        };
        let mut above = None;
        for (key, v) in table.iter() {
            let name = key.get_ref().as_ref();
            let at = join(path, name);
            let slot = match name {
                "above_prompt_tokens" => {
                    above = self.count(&at, v);
                    continue;
                }
                "input" => &mut long.input,
                "output" => &mut long.output,
                "cache_write_5m" => &mut long.cache_write_5m,
                "cache_write_1h" => &mut long.cache_write_1h,
                "cache_read" => &mut long.cache_read,
                _ => {
                    self.unknown_key(path, key, name, LONG_KEYS);
                    continue;
                }
            };
            if let Some(rate) = self.rate(&at, v) {
                *slot = rate;
            }
        }
        if above.is_none() && !table.contains_key("above_prompt_tokens") {
            self.missing(path, value.span(), "`above_prompt_tokens` (e.g. 272000)");
        }
        long.above_prompt_tokens = above?;
        Some(long)
    }

    /// A rate in USD per million tokens → micro-USD per million tokens.
    fn rate(&mut self, path: &str, value: &Value<'t>) -> Option<u64> {
        let text = match value.get_ref() {
            DeValue::Integer(i) if i.radix() == 10 => i.as_str(),
            DeValue::Float(f) => f.as_str(),
            _ => "",
        };
        match usd_to_micro(text) {
            Ok(micro) => Some(micro),
            Err(why) => {
                self.problem(path, value.span(), why);
                None
            }
        }
    }

    /// A positive whole number of tokens.
    fn count(&mut self, path: &str, value: &Value<'t>) -> Option<u64> {
        let parsed = match value.get_ref() {
            DeValue::Integer(i) => u64::from_str_radix(i.as_str(), i.radix()).ok(),
            _ => None,
        };
        match parsed {
            Some(n) if n > 0 => Some(n),
            _ => {
                self.problem(path, value.span(), "must be a whole number above 0");
                None
            }
        }
    }

    /// Splits aliases into exact names and globs; reports clashes.
    fn aliases(
        &mut self,
        aliases: Vec<(Spanned<String>, String)>,
        models: &BTreeMap<String, Price>,
    ) -> (BTreeMap<String, String>, Vec<Glob>) {
        let mut exact: BTreeMap<String, String> = BTreeMap::new();
        let mut globs: Vec<Glob> = Vec::new();
        for (alias, model) in aliases {
            let span = alias.span();
            let name = alias.into_inner();
            let path = format!("models.{}.aliases", quote(&model));
            let clash = if models.contains_key(&name) {
                Some(format!("`{name}` is already a model id"))
            } else if let Some(other) = exact.get(&name) {
                Some(format!("`{name}` is already an alias of `{other}`"))
            } else if let Some(other) = globs.iter().find(|g| g.pattern == name) {
                Some(format!("`{name}` is already an alias of `{}`", other.model))
            } else if name.chars().all(|c| c == '*') {
                Some("matches every model; use [unknown_models] answer = \"default\"".to_owned())
            } else {
                None
            };
            if let Some(message) = clash {
                self.problem(&path, span, message);
            } else if name.contains('*') {
                globs.push(Glob {
                    pattern: name,
                    model,
                });
            } else {
                exact.insert(name, model);
            }
        }
        globs.sort_by(|a, b| {
            (b.literal_len(), &a.model, &a.pattern).cmp(&(a.literal_len(), &b.model, &b.pattern))
        });
        (exact, globs)
    }
}
