//! Money: what a usage costs and what a request may cost, in integer micro-USD.
//!
//! Rates are micro-USD per million tokens, so `Σ tokens × rate` is in micro-USD × 10⁶. The sum
//! is taken in `u128` (saturating; real numbers are far from it), divided once and rounded up:
//! a cost is never below the exact price. Results beyond `u64` saturate.

use crate::price::Price;
use gateway_core::Usage;

const PER_MILLION: u128 = 1_000_000;

/// What `usage` costs at `price`, in micro-USD, rounded up. A prompt over the model's
/// long-context threshold bills every token at the long-context rates.
pub fn cost_micro_usd(usage: &Usage, price: &Price) -> u64 {
    let r = price.rates(usage.prompt_tokens());
    let scaled = [
        mul(usage.input, r.input),
        mul(usage.output, r.output),
        mul(usage.cache_read, r.cache_read),
        mul(usage.cache_write_5m, r.cache_write_5m),
        mul(usage.cache_write_1h, r.cache_write_1h),
    ]
    .into_iter()
    .fold(0, u128::saturating_add);
    to_micro(scaled)
}

/// An upper bound of what a request may cost, in micro-USD: every estimated input token at the
/// dearest input rate (uncached or a cache write) and `max_output_tokens` of output. The
/// long-context rates apply when the estimate is over the threshold.
pub fn reservation_micro_usd(
    input_estimate_tokens: u64,
    max_output_tokens: u64,
    price: &Price,
) -> u64 {
    let r = price.rates(input_estimate_tokens);
    let input_rate = r.input.max(r.cache_write_5m).max(r.cache_write_1h);
    to_micro(
        mul(input_estimate_tokens, input_rate).saturating_add(mul(max_output_tokens, r.output)),
    )
}

/// The largest output cap whose [`reservation_micro_usd`] fits in `budget_micro_usd`, at most
/// the model's `max_output_tokens`; 0 when even the input does not fit. For clamping a
/// request's `max_tokens` to what the remaining budget can pay for.
pub fn max_affordable_output_tokens(
    budget_micro_usd: u64,
    input_estimate_tokens: u64,
    price: &Price,
) -> u64 {
    let r = price.rates(input_estimate_tokens);
    let input_rate = r.input.max(r.cache_write_5m).max(r.cache_write_1h);
    let budget = mul(budget_micro_usd, 1_000_000);
    let Some(left) = budget.checked_sub(mul(input_estimate_tokens, input_rate)) else {
        return 0;
    };
    if r.output == 0 {
        return price.max_output_tokens;
    }
    let n = left / u128::from(r.output);
    u64::try_from(n)
        .unwrap_or(u64::MAX)
        .min(price.max_output_tokens)
}

fn mul(tokens: u64, rate: u64) -> u128 {
    u128::from(tokens) * u128::from(rate)
}

fn to_micro(scaled: u128) -> u64 {
    u64::try_from(scaled.div_ceil(PER_MILLION)).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests;
