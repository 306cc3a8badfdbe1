//! [`Price`] and [`PriceTable`]: per-model rates in micro-USD per million tokens, and how a
//! model id finds its price.

use std::collections::BTreeMap;
use std::path::Path;

mod decimal;
mod errors;
mod file;

pub use errors::{PriceErrors, PriceProblem};

/// One model's rates, in micro-USD per million tokens (3.75 USD/M = `3_750_000`), and its
/// output cap.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Price {
    /// Uncached input.
    pub input: u64,
    /// Output (thinking and reasoning included).
    pub output: u64,
    /// Cache writes with a 5-minute TTL.
    pub cache_write_5m: u64,
    /// Cache writes with a 1-hour TTL.
    pub cache_write_1h: u64,
    /// Cache reads.
    pub cache_read: u64,
    /// The most output tokens one request can produce: the reservation for a request that
    /// names no cap.
    pub max_output_tokens: u64,
    /// Rates for the whole request once the prompt is long, if the model has such a tier.
    pub long_context: Option<LongContext>,
}

/// A long-context tier: when a request's prompt (input, cache reads and cache writes) exceeds
/// `above_prompt_tokens`, all of its tokens are billed at these rates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LongContext {
    /// The prompt size the tier starts above.
    pub above_prompt_tokens: u64,
    /// Uncached input.
    pub input: u64,
    /// Output.
    pub output: u64,
    /// Cache writes with a 5-minute TTL.
    pub cache_write_5m: u64,
    /// Cache writes with a 1-hour TTL.
    pub cache_write_1h: u64,
    /// Cache reads.
    pub cache_read: u64,
}

/// The five rates that apply to one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rates {
    pub(crate) input: u64,
    pub(crate) output: u64,
    pub(crate) cache_write_5m: u64,
    pub(crate) cache_write_1h: u64,
    pub(crate) cache_read: u64,
}

impl Price {
    /// The rates for a request whose prompt is `prompt_tokens` long.
    pub(crate) fn rates(&self, prompt_tokens: u64) -> Rates {
        match self.long_context {
            Some(long) if prompt_tokens > long.above_prompt_tokens => Rates {
                input: long.input,
                output: long.output,
                cache_write_5m: long.cache_write_5m,
                cache_write_1h: long.cache_write_1h,
                cache_read: long.cache_read,
            },
            _ => Rates {
                input: self.input,
                output: self.output,
                cache_write_5m: self.cache_write_5m,
                cache_write_1h: self.cache_write_1h,
                cache_read: self.cache_read,
            },
        }
    }
}

/// What to do with a model the table does not know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnknownModelAnswer {
    /// Refuse the request: nothing can be charged for it.
    Refuse,
    /// Charge this price.
    Default(Price),
}

/// A model with no price while unknown models are refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "model `{model}` has no price configured on this gateway; use a listed model or ask the \
     gateway admin to add it to prices.toml"
)]
pub struct UnknownModel {
    /// The model id as requested.
    pub model: String,
}

/// A glob alias: `*` matches any run of characters.
#[derive(Clone, Debug)]
pub(crate) struct Glob {
    pub(crate) pattern: String,
    pub(crate) model: String,
}

impl Glob {
    /// Characters other than `*`: more is more specific.
    pub(crate) fn literal_len(&self) -> usize {
        self.pattern.chars().filter(|&c| c != '*').count()
    }
}

/// Prices of all models, validated. Built by [`PriceTable::parse`] from `config/prices.toml`.
#[derive(Clone, Debug)]
pub struct PriceTable {
    pub(crate) models: BTreeMap<String, Price>,
    /// Exact alias → model id.
    pub(crate) aliases: BTreeMap<String, String>,
    /// Most specific first, then by model id.
    pub(crate) globs: Vec<Glob>,
    pub(crate) provider_prefixes: Vec<String>,
    pub(crate) unknown: UnknownModelAnswer,
}

impl PriceTable {
    /// Reads a prices file's text; every problem is reported at once, each with its key path.
    pub fn parse(text: &str) -> Result<Self, PriceErrors> {
        file::parse(text)
    }

    /// Reads the prices file at `path`.
    pub fn load(path: &Path) -> Result<Self, PriceErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| PriceErrors::io(path, &e))?;
        Self::parse(&text).map_err(|e| e.in_file(path))
    }

    /// The price of `model`: its exact id, else an exact alias, else the most specific glob
    /// alias; each tried first on the id as given, then with a configured provider prefix
    /// (`openai/`) removed. Unknown models get the configured answer.
    pub fn price(&self, model: &str) -> Result<&Price, UnknownModel> {
        if let Some(price) = self.canonical(model).and_then(|id| self.models.get(id)) {
            return Ok(price);
        }
        match &self.unknown {
            UnknownModelAnswer::Default(price) => Ok(price),
            UnknownModelAnswer::Refuse => Err(UnknownModel {
                model: model.to_owned(),
            }),
        }
    }

    /// The price of the first of `ids` the table lists (each looked up as [`PriceTable::price`]
    /// does, without the unknown-model answer), else the unknown-model default; `None` when
    /// none is listed and unknown models are refused. For a target's table, tried with the
    /// target's model id first and then the id the client named.
    pub fn price_of_first<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> Option<&Price> {
        let listed = ids
            .into_iter()
            .find_map(|id| self.canonical(id).and_then(|c| self.models.get(c)));
        listed.or(match &self.unknown {
            UnknownModelAnswer::Default(price) => Some(price),
            UnknownModelAnswer::Refuse => None,
        })
    }

    /// The configured model id `model` resolves to, if any (for logs and labels).
    pub fn canonical(&self, model: &str) -> Option<&str> {
        let stripped = self
            .provider_prefixes
            .iter()
            .filter_map(|prefix| model.strip_prefix(prefix.as_str()));
        std::iter::once(model)
            .chain(stripped)
            .find_map(|candidate| self.resolve(candidate))
    }

    /// What to do with unknown models.
    pub fn unknown_model_answer(&self) -> UnknownModelAnswer {
        self.unknown
    }

    /// Every configured model id with its price, ordered by id.
    pub fn models(&self) -> impl Iterator<Item = (&str, &Price)> {
        self.models.iter().map(|(id, price)| (id.as_str(), price))
    }

    fn resolve(&self, candidate: &str) -> Option<&str> {
        if let Some((id, _)) = self.models.get_key_value(candidate) {
            return Some(id);
        }
        if let Some(id) = self.aliases.get(candidate) {
            return Some(id);
        }
        self.globs
            .iter()
            .find(|g| glob_matches(&g.pattern, candidate))
            .map(|g| g.model.as_str())
    }
}

/// `*` matches any run of characters (also none); everything else matches itself.
pub(crate) fn glob_matches(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let Some(first) = parts.next() else {
        return text.is_empty();
    };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let mut parts = parts.peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = rest.get(at + part.len()..).unwrap_or_default(),
            None => return false,
        }
    }
    rest.is_empty()
}

#[cfg(test)]
mod tests;
