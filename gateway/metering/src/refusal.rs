//! Quota refusals as answers clients understand: 429 with `retry-after` for per-minute limits,
//! 402 `billing_error` with `x-should-retry: false` for spent budgets, each saying which limit
//! and when it resets.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use gateway_core::{ErrorKind, GatewayError, MicroUsd, Principal};
use gateway_meter::{Price, RequestFacts};
use gateway_quota::{Measure, Refusal, Window};

fn amount(measure: Measure, value: u64) -> String {
    match measure {
        Measure::MicroUsd => format!("${}", MicroUsd(value)),
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

/// How many output tokens the remaining room of the refusing bucket can still pay for, at the
/// rates the reservation itself uses (long-context rates for a long prompt).
pub(super) fn affordable_output(r: &Refusal, facts: &RequestFacts, price: &Price) -> Option<u64> {
    let room = r.limit.checked_sub(r.used)?;
    match r.measure {
        Measure::Requests => None,
        Measure::Tokens => room.checked_sub(facts.input_estimate_tokens),
        Measure::MicroUsd => Some(gateway_meter::max_affordable_output_tokens(
            room,
            facts.input_estimate_tokens,
            price,
        )),
    }
}

#[cfg(test)]
mod tests {
    use gateway_meter::{LongContext, Price};
    use gateway_quota::{Measure, Refusal, Window};

    use super::*;

    fn refusal(limit: u64, used: u64) -> Refusal {
        Refusal {
            label: "usd_per_day",
            window: Window::Day,
            measure: Measure::MicroUsd,
            limit,
            used,
            requested: limit,
            resets_at_ms: None,
        }
    }

    #[test]
    fn a_long_prompt_is_clamped_at_long_context_rates_so_the_retry_fits() {
        // $3 / $15 per MTok, doubled past 200k prompt tokens.
        let price = Price {
            input: 3_000_000,
            output: 15_000_000,
            cache_read: 300_000,
            cache_write_5m: 3_750_000,
            cache_write_1h: 6_000_000,
            max_output_tokens: 64_000,
            long_context: Some(LongContext {
                above_prompt_tokens: 200_000,
                input: 6_000_000,
                output: 22_500_000,
                cache_read: 600_000,
                cache_write_5m: 7_500_000,
                cache_write_1h: 12_000_000,
            }),
        };
        let facts = RequestFacts {
            input_estimate_tokens: 250_000,
            ..RequestFacts::default()
        };
        // Room: the input at the dearest long-context input rate plus $0.45 of output.
        let input = gateway_meter::reservation_micro_usd(250_000, 0, &price);
        let r = refusal(input + 450_000, 0);
        let n = affordable_output(&r, &facts, &price).unwrap();
        // $0.45 at $22.50/MTok (long context), not at the base $15/MTok (30,000 tokens).
        assert_eq!(n, 20_000);
        assert!(
            gateway_meter::reservation_micro_usd(250_000, n, &price) <= r.limit,
            "the clamped request fits the room it was clamped to"
        );
    }
}
