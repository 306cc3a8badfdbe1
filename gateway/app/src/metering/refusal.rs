//! Quota refusals as answers clients understand: 429 with `retry-after` for per-minute limits,
//! 402 `billing_error` with `x-should-retry: false` for spent budgets, each saying which limit
//! and when it resets.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use gateway_core::{ErrorKind, GatewayError, Principal};
use gateway_meter::{Price, RequestFacts};
use gateway_quota::{Measure, Refusal, Window};

fn usd(micro: u64) -> String {
    format!("${}.{:06}", micro / 1_000_000, micro % 1_000_000)
}

fn amount(measure: Measure, value: u64) -> String {
    match measure {
        Measure::MicroUsd => usd(value),
        Measure::Tokens => format!("{value} tokens"),
        Measure::Requests => format!("{value} requests"),
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(0))
}

/// The refusal as a client-facing error.
pub(super) fn to_error(r: &Refusal, who: &Principal) -> GatewayError {
    let used = amount(r.measure, r.used);
    let limit = amount(r.measure, r.limit);
    let wanted = amount(r.measure, r.requested);
    match (r.window, r.resets_at_ms) {
        (Window::Minute, Some(resets)) => {
            let wait = Duration::from_millis(resets.saturating_sub(now_ms()).max(1));
            GatewayError::new(
                ErrorKind::RateLimited,
                format!(
                    "{} limit reached for {} ({used} of {limit} used this minute); retry in {} s",
                    r.label,
                    who.subject,
                    wait.as_secs().max(1)
                ),
            )
            .with_retry_after(wait)
        }
        (_, resets) => {
            let when = resets
                .map(|ms| {
                    format!(
                        "it resets at {}",
                        humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(ms))
                    )
                })
                .unwrap_or_else(|| "start a new run with a new token".to_owned());
            GatewayError::new(
                ErrorKind::BudgetExhausted,
                format!(
                    "{} budget is spent for {} ({used} of {limit} used or held; this request needs up to {wanted}); {when}",
                    r.label, who.subject
                ),
            )
        }
    }
}

/// How many output tokens the remaining room of the refusing bucket can still pay for.
pub(super) fn affordable_output(r: &Refusal, facts: &RequestFacts, price: &Price) -> Option<u64> {
    let room = r.limit.checked_sub(r.used)?;
    match r.measure {
        Measure::Requests => None,
        Measure::Tokens => room.checked_sub(facts.input_estimate_tokens),
        Measure::MicroUsd => {
            let input_cost =
                gateway_meter::reservation_micro_usd(facts.input_estimate_tokens, 0, price);
            let left = room.checked_sub(input_cost)?;
            // micro-USD → tokens at the output rate (micro-USD per million tokens).
            (price.output > 0).then(|| left.saturating_mul(1_000_000) / price.output)
        }
    }
}
