//! [`Window`]: when a bucket resets. Minute and day are fixed UTC windows; month is the UTC
//! calendar month; lifetime never resets. The Redis script implements the same arithmetic in
//! Lua (see `quota.lua`); the tests pin both to the same dates.

/// A bucket's reset window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Window {
    /// UTC minute.
    Minute,
    /// UTC calendar day.
    Day,
    /// UTC calendar month.
    Month,
    /// Never resets (run budgets).
    Lifetime,
}

const MINUTE_MS: u64 = 60_000;
const DAY_MS: u64 = 86_400_000;

impl Window {
    /// The name the Redis script understands.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Minute => "minute",
            Self::Day => "day",
            Self::Month => "month",
            Self::Lifetime => "lifetime",
        }
    }

    /// The window containing `now_ms`: its id and when it ends (unix ms; `None` = never).
    pub fn at(self, now_ms: u64) -> (u64, Option<u64>) {
        match self {
            Self::Minute => {
                let id = now_ms / MINUTE_MS;
                (id, Some((id + 1) * MINUTE_MS))
            }
            Self::Day => {
                let id = now_ms / DAY_MS;
                (id, Some((id + 1) * DAY_MS))
            }
            Self::Month => {
                let (y, m, _) = civil_from_days((now_ms / DAY_MS) as i64);
                let id = u64::try_from(y * 12 + i64::from(m) - 1).unwrap_or(0);
                let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                let next = u64::try_from(days_from_civil(ny, nm, 1)).unwrap_or(0) * DAY_MS;
                (id, Some(next))
            }
            Self::Lifetime => (0, None),
        }
    }
}

/// (year, month 1-12, day 1-31) of a day count since 1970-01-01 (H. Hinnant's algorithm).
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Days since 1970-01-01 of a civil date.
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NOV_26_2026_10H: u64 = 1_795_688_400_000; // 2026-11-26T10:20:00Z

    #[test]
    fn windows_end_at_utc_boundaries() {
        assert_eq!(
            Window::Minute.at(NOV_26_2026_10H).1,
            Some(NOV_26_2026_10H + 60_000)
        );
        // 2026-11-27T00:00:00Z
        assert_eq!(Window::Day.at(NOV_26_2026_10H).1, Some(1_795_737_600_000));
        // 2026-12-01T00:00:00Z
        assert_eq!(Window::Month.at(NOV_26_2026_10H).1, Some(1_796_083_200_000));
        // December rolls into the next year: 2027-01-01T00:00:00Z
        assert_eq!(
            Window::Month.at(1_796_083_200_000).1,
            Some(1_798_761_600_000)
        );
        assert_eq!(Window::Lifetime.at(NOV_26_2026_10H), (0, None));
    }

    proptest! {
        #[test]
        fn civil_round_trips(days in -100_000i64..200_000) {
            let (y, m, d) = civil_from_days(days);
            prop_assert_eq!(days_from_civil(y, m, d), days);
        }

        #[test]
        fn now_is_inside_its_window_and_ids_never_decrease(t in 0u64..4_000_000_000_000, dt in 0u64..100_000_000_000) {
            for w in [Window::Minute, Window::Day, Window::Month] {
                let (id, end) = w.at(t);
                let end = end.unwrap();
                prop_assert!(end > t);
                let (id2, end2) = w.at(t + dt);
                prop_assert!(id2 >= id);
                prop_assert_eq!(id2 == id, t + dt < end, "{:?}", w);
                prop_assert!(end2.unwrap() >= end);
            }
        }
    }
}
