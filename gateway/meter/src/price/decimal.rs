//! Rates as admins write them (USD per million tokens, plain decimals) to integer micro-USD per
//! million tokens, exactly: no floating point on the way.

/// `3.75` → `3_750_000`: exact decimal arithmetic, at most six decimal places.
pub(super) fn usd_to_micro(text: &str) -> Result<u64, &'static str> {
    const HOW: &str = "must be USD per million tokens as a plain number, like 3 or 3.75";
    let digits: String = text.chars().filter(|&c| c != '_').collect();
    let digits = digits.strip_prefix('+').unwrap_or(&digits);
    if digits.starts_with('-') {
        return Err("must not be negative");
    }
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let frac = frac.trim_end_matches('0');
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !all_digits(whole) || !all_digits(frac) {
        return Err(HOW);
    }
    if frac.len() > 6 {
        return Err("has more than six decimal places (the unit is one micro-USD)");
    }
    let whole: u64 = whole.parse().map_err(|_| HOW)?;
    let frac: u64 = format!("{frac:0<6}").parse().map_err(|_| HOW)?;
    whole
        .checked_mul(1_000_000)
        .and_then(|w| w.checked_add(frac))
        .ok_or("is too large")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_convert_exactly() {
        assert_eq!(usd_to_micro("3"), Ok(3_000_000));
        assert_eq!(usd_to_micro("3.75"), Ok(3_750_000));
        assert_eq!(usd_to_micro("0.30"), Ok(300_000));
        assert_eq!(usd_to_micro("0.025"), Ok(25_000));
        assert_eq!(usd_to_micro("0.000001"), Ok(1));
        assert_eq!(usd_to_micro("1_000.5"), Ok(1_000_500_000));
        assert_eq!(usd_to_micro("+2.50"), Ok(2_500_000));
    }

    #[test]
    fn unusable_rates_are_refused() {
        for bad in [
            "-1",
            "1e3",
            "inf",
            "nan",
            "",
            ".5",
            "0.0000001",
            "99999999999999.0",
        ] {
            assert!(usd_to_micro(bad).is_err(), "{bad}");
        }
    }
}
