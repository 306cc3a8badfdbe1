//! Money: US dollars as written by people (`5.0`, `0.25`, `1e3`, `5`) ↔ integer micro-USD.
//!
//! Conversion works on the decimal text, not on a binary float, so `0.1` is exactly
//! `100_000` and a value with more than six decimals is refused instead of rounded.

use std::fmt;

/// Micro-USD in one US dollar.
pub const MICROS_PER_USD: u64 = 1_000_000;

/// Why a dollar amount was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MoneyError {
    /// Not a decimal number (also NaN and infinities).
    NotANumber,
    /// Below zero.
    Negative,
    /// Finer than one micro-dollar (more than six decimals).
    TooPrecise,
    /// Does not fit in `u64` micro-USD.
    TooLarge,
}

impl fmt::Display for MoneyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MoneyError::NotANumber => "not a dollar amount; write e.g. 5.0 or 0.25",
            MoneyError::Negative => "must not be negative",
            MoneyError::TooPrecise => "more than 6 decimals; amounts are whole micro-dollars",
            MoneyError::TooLarge => "too large",
        })
    }
}

impl std::error::Error for MoneyError {}

/// Parses a decimal dollar amount (optional sign, digits with optional `_` separators, an
/// optional fraction and exponent, as TOML writes numbers) into micro-USD.
pub fn parse_usd(text: &str) -> Result<u64, MoneyError> {
    let text = text.replace('_', "");
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text.as_str()),
    };
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().map_err(|_| MoneyError::NotANumber)?),
        None => (unsigned, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return Err(MoneyError::NotANumber);
    }
    let digits = format!("{int}{frac}");
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Ok(0);
    }
    if negative {
        return Err(MoneyError::Negative);
    }
    // value = digits × 10^(exponent − |frac|) USD = digits × 10^scale micro-USD
    let frac_len = i64::try_from(frac.len()).map_err(|_| MoneyError::TooPrecise)?;
    let scale = i64::from(exponent) - frac_len + 6;
    let mut value: u64 = if scale >= 0 {
        digits.parse().map_err(|_| MoneyError::TooLarge)?
    } else {
        // Dropping the last `cut` digits must drop only zeros.
        let cut = usize::try_from(-scale).map_err(|_| MoneyError::TooPrecise)?;
        if cut > digits.len() {
            return Err(MoneyError::TooPrecise);
        }
        let (kept, dropped) = digits.split_at(digits.len() - cut);
        if dropped.bytes().any(|b| b != b'0') {
            return Err(MoneyError::TooPrecise);
        }
        kept.parse().map_err(|_| MoneyError::TooLarge)?
    };
    for _ in 0..scale.max(0) {
        value = value.checked_mul(10).ok_or(MoneyError::TooLarge)?;
    }
    Ok(value)
}

/// Converts a float (e.g. from JSON) to micro-USD, refusing NaN, infinities, negatives and
/// more than six decimals. Prefer [`parse_usd`] on the original text where there is one.
pub fn usd_to_micros(usd: f64) -> Result<u64, MoneyError> {
    if !usd.is_finite() {
        return Err(MoneyError::NotANumber);
    }
    if usd < 0.0 {
        return Err(MoneyError::Negative);
    }
    let scaled = usd * MICROS_PER_USD as f64;
    let rounded = scaled.round();
    // Allow the binary representation's error (0.1 × 10⁶ = 100000.00000000001), nothing more.
    let tolerance = (scaled * f64::EPSILON * 4.0).max(1e-6);
    if (scaled - rounded).abs() > tolerance {
        return Err(MoneyError::TooPrecise);
    }
    if rounded >= u64::MAX as f64 {
        return Err(MoneyError::TooLarge);
    }
    // Finite, non-negative, integral and below u64::MAX (checked above): the cast is exact.
    Ok(rounded as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollars_become_micro_dollars_exactly() {
        assert_eq!(parse_usd("5.0"), Ok(5_000_000));
        assert_eq!(parse_usd("50.0"), Ok(50_000_000));
        assert_eq!(parse_usd("5"), Ok(5_000_000));
        assert_eq!(parse_usd("0.1"), Ok(100_000));
        assert_eq!(parse_usd("0.000001"), Ok(1));
        assert_eq!(parse_usd("1_000.25"), Ok(1_000_250_000));
        assert_eq!(parse_usd("1e3"), Ok(1_000_000_000));
        assert_eq!(parse_usd("2.5E-1"), Ok(250_000));
        assert_eq!(parse_usd("+7.5"), Ok(7_500_000));
        assert_eq!(parse_usd("0.0"), Ok(0));
        assert_eq!(parse_usd("-0.0"), Ok(0));
        assert_eq!(parse_usd("1.0000000"), Ok(1_000_000));
    }

    #[test]
    fn bad_amounts_are_refused() {
        assert_eq!(parse_usd("-5.0"), Err(MoneyError::Negative));
        assert_eq!(parse_usd("0.0000001"), Err(MoneyError::TooPrecise));
        assert_eq!(parse_usd("1e-7"), Err(MoneyError::TooPrecise));
        assert_eq!(parse_usd("nan"), Err(MoneyError::NotANumber));
        assert_eq!(parse_usd("inf"), Err(MoneyError::NotANumber));
        assert_eq!(parse_usd(""), Err(MoneyError::NotANumber));
        assert_eq!(parse_usd(".5"), Err(MoneyError::NotANumber));
        assert_eq!(parse_usd("1e30"), Err(MoneyError::TooLarge));
        assert_eq!(parse_usd("99999999999999999999"), Err(MoneyError::TooLarge));
    }

    #[test]
    fn floats_convert_with_the_same_rules() {
        assert_eq!(usd_to_micros(5.0), Ok(5_000_000));
        assert_eq!(usd_to_micros(0.1), Ok(100_000));
        assert_eq!(usd_to_micros(0.000001), Ok(1));
        assert_eq!(usd_to_micros(-1.0), Err(MoneyError::Negative));
        assert_eq!(usd_to_micros(f64::NAN), Err(MoneyError::NotANumber));
        assert_eq!(usd_to_micros(f64::INFINITY), Err(MoneyError::NotANumber));
        assert_eq!(usd_to_micros(0.0000001), Err(MoneyError::TooPrecise));
        assert_eq!(usd_to_micros(1e30), Err(MoneyError::TooLarge));
    }

    proptest::proptest! {
        #[test]
        fn core_display_then_parse_is_identity(micros in 0u64..=u64::MAX) {
            let shown = gateway_core::MicroUsd(micros).to_string();
            proptest::prop_assert_eq!(parse_usd(&shown), Ok(micros));
        }

        #[test]
        fn cents_parse_like_floats(cents in 0u64..10_000_000_000) {
            let text = format!("{}.{:02}", cents / 100, cents % 100);
            proptest::prop_assert_eq!(parse_usd(&text), Ok(cents * 10_000));
            proptest::prop_assert_eq!(usd_to_micros(cents as f64 / 100.0), Ok(cents * 10_000));
        }
    }
}
