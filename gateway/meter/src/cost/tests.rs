use proptest::prelude::*;

use super::*;
use crate::price::{LongContext, Price};

const SONNET_4_6: Price = Price {
    input: 3_000_000,
    output: 15_000_000,
    cache_write_5m: 3_750_000,
    cache_write_1h: 6_000_000,
    cache_read: 300_000,
    max_output_tokens: 64_000,
    long_context: None,
};

#[test]
fn oracle_claude_code_total_cost() {
    let u = Usage {
        input: 10,
        output: 3,
        ..Usage::default()
    };
    assert_eq!(cost_micro_usd(&u, &SONNET_4_6), 75);
    let u = Usage {
        input: 12,
        cache_write_5m: 20,
        cache_read: 100,
        output: 7,
        ..Usage::default()
    };
    assert_eq!(cost_micro_usd(&u, &SONNET_4_6), 246);
}

#[test]
fn fractions_of_a_micro_usd_round_up() {
    let one_read = Usage {
        cache_read: 1,
        ..Usage::default()
    };
    assert_eq!(cost_micro_usd(&one_read, &SONNET_4_6), 1);
    assert_eq!(cost_micro_usd(&Usage::default(), &SONNET_4_6), 0);
    let hour = Usage {
        cache_write_1h: 1_000_000,
        ..Usage::default()
    };
    assert_eq!(cost_micro_usd(&hour, &SONNET_4_6), 6_000_000);
}

#[test]
fn long_prompts_bill_every_token_at_the_long_rates() {
    let price = Price {
        long_context: Some(LongContext {
            above_prompt_tokens: 100,
            input: 10_000_000,
            output: 20_000_000,
            cache_write_5m: 0,
            cache_write_1h: 0,
            cache_read: 1_000_000,
        }),
        ..SONNET_4_6
    };
    let at = |input, cache_read| Usage {
        input,
        cache_read,
        output: 1_000,
        ..Usage::default()
    };
    assert_eq!(cost_micro_usd(&at(50, 50), &price), 150 + 15 + 15_000);
    assert_eq!(cost_micro_usd(&at(50, 51), &price), 500 + 51 + 20_000);
}

#[test]
fn reservation_prices_input_at_the_dearest_input_rate() {
    assert_eq!(
        reservation_micro_usd(1_000, 100, &SONNET_4_6),
        6_000 + 1_500
    );
    assert_eq!(reservation_micro_usd(1, 0, &SONNET_4_6), 6);
    assert_eq!(
        reservation_micro_usd(u64::MAX, u64::MAX, &SONNET_4_6),
        u64::MAX
    );
}

#[test]
fn affordable_output_fits_the_budget() {
    assert_eq!(max_affordable_output_tokens(7_500, 1_000, &SONNET_4_6), 100);
    assert_eq!(max_affordable_output_tokens(7_514, 1_000, &SONNET_4_6), 100);
    assert_eq!(max_affordable_output_tokens(7_515, 1_000, &SONNET_4_6), 101);
    assert_eq!(max_affordable_output_tokens(5_999, 1_000, &SONNET_4_6), 0);
    assert_eq!(
        max_affordable_output_tokens(u64::MAX, 0, &SONNET_4_6),
        64_000
    );
}

proptest! {
    #[test]
    fn cost_is_the_exact_price_rounded_up(
        input in 0u64..10_000_000, output in 0u64..1_000_000, read in 0u64..10_000_000,
        w5 in 0u64..1_000_000, w1 in 0u64..1_000_000,
    ) {
        let u = Usage { input, output, cache_read: read, cache_write_5m: w5, cache_write_1h: w1 };
        let exact = u128::from(input) * 3_000_000 + u128::from(output) * 15_000_000
            + u128::from(read) * 300_000 + u128::from(w5) * 3_750_000 + u128::from(w1) * 6_000_000;
        let cost = u128::from(cost_micro_usd(&u, &SONNET_4_6));
        prop_assert!(cost * 1_000_000 >= exact);
        prop_assert!(cost * 1_000_000 < exact + 1_000_000);
        let reserve = reservation_micro_usd(u.prompt_tokens(), output, &SONNET_4_6);
        prop_assert!(u128::from(reserve) >= cost);
    }

    #[test]
    fn affordable_output_never_overshoots(budget in 0u64..10_000_000, est in 0u64..1_000_000) {
        let n = max_affordable_output_tokens(budget, est, &SONNET_4_6);
        if n > 0 {
            prop_assert!(reservation_micro_usd(est, n, &SONNET_4_6) <= budget);
        }
        if n < SONNET_4_6.max_output_tokens && reservation_micro_usd(est, 0, &SONNET_4_6) <= budget {
            prop_assert!(reservation_micro_usd(est, n + 1, &SONNET_4_6) > budget);
        }
    }
}
