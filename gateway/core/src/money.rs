//! Money as the gateway shows it: micro-USD integers, printed with six decimals.

use std::fmt;

const MICROS_PER_USD: u64 = 1_000_000;

/// An amount in micro-USD that displays as dollars with six decimals (`1234567` →
/// `1.234567`): exact, no float on the way. Used in headers (`x-gateway-budget-remaining-usd`),
/// refusal messages and transcripts (with a `$` in front where text is for people).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct MicroUsd(pub u64);

impl fmt::Display for MicroUsd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:06}",
            self.0 / MICROS_PER_USD,
            self.0 % MICROS_PER_USD
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_decimals_exactly() {
        assert_eq!(MicroUsd(0).to_string(), "0.000000");
        assert_eq!(MicroUsd(1).to_string(), "0.000001");
        assert_eq!(MicroUsd(4_213).to_string(), "0.004213");
        assert_eq!(MicroUsd(12_500_000).to_string(), "12.500000");
        assert_eq!(MicroUsd(u64::MAX).to_string(), "18446744073709.551615");
    }
}
