//! [`Usage`]: the tokens of one response, by price class.

use serde::{Deserialize, Serialize};

/// Tokens of one response, split by price class. The five classes are disjoint: their sum is
/// every token the provider bills. Serialized as in transcript records (the field names are a
/// file format).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Uncached input (Anthropic `input_tokens`; OpenAI prompt/input minus cached).
    pub input: u64,
    /// Output, thinking/reasoning included.
    pub output: u64,
    /// Input read from the prompt cache.
    pub cache_read: u64,
    /// Input written to the cache with a 5-minute TTL (Anthropic without a TTL split: all
    /// `cache_creation_input_tokens`).
    pub cache_write_5m: u64,
    /// Input written to the cache with a 1-hour TTL.
    pub cache_write_1h: u64,
}

impl Usage {
    /// All five classes summed (saturating).
    pub fn total_tokens(&self) -> u64 {
        self.prompt_tokens().saturating_add(self.output)
    }

    /// The whole prompt: uncached input, cache reads and cache writes (saturating). Long-context
    /// price tiers are chosen by this number.
    pub fn prompt_tokens(&self) -> u64 {
        self.input
            .saturating_add(self.cache_read)
            .saturating_add(self.cache_write_5m)
            .saturating_add(self.cache_write_1h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn total_tokens_sums_all_five_classes() {
        let u = Usage {
            input: 1,
            output: 2,
            cache_read: 4,
            cache_write_5m: 8,
            cache_write_1h: 16,
        };
        assert_eq!(u.total_tokens(), 31);
        assert_eq!(u.prompt_tokens(), 29);
    }
}
