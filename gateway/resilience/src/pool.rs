//! [`Pool`]: one target's provider keys, picked by weight, cooled until the provider's reset
//! on a 429, taken out on 401/403 or a spend limit. Holds ids and weights only: the secrets
//! stay in gateway-upstream, which sends with the key at the index picked here.

use std::time::{Duration, Instant};

/// The state of one key.
#[derive(Debug, Clone)]
struct Key {
    id: String,
    weight: u32,
    /// Rate limited until then.
    cooling_until: Option<Instant>,
    /// Refused by the provider (401/403, spend limit): out until restart.
    revoked: bool,
}

impl Key {
    fn usable(&self, now: Instant) -> bool {
        !self.revoked && self.cooling_until.is_none_or(|until| until <= now)
    }
}

/// Why a pool has no key to offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exhausted {
    /// Some keys are only cooling; the earliest is usable again after this long.
    Cooling(Duration),
    /// Every key is revoked.
    Revoked,
}

/// One target's keys.
#[derive(Debug, Clone)]
pub struct Pool {
    keys: Vec<Key>,
}

impl Pool {
    /// Keys as `(id, weight)`; weights below 1 count as 1.
    pub fn new<'a>(keys: impl IntoIterator<Item = (&'a str, u32)>) -> Self {
        Self {
            keys: keys
                .into_iter()
                .map(|(id, weight)| Key {
                    id: id.to_owned(),
                    weight: weight.max(1),
                    cooling_until: None,
                    revoked: false,
                })
                .collect(),
        }
    }

    /// The id of key `index` (for logs and metrics).
    pub fn id(&self, index: usize) -> &str {
        self.keys.get(index).map_or("", |k| k.id.as_str())
    }

    /// Picks a usable key not in `tried`, by weight; `roll` is a uniform random number.
    pub fn pick(&self, now: Instant, tried: &[usize], roll: u64) -> Result<usize, Exhausted> {
        let usable = |(i, k): &(usize, &Key)| k.usable(now) && !tried.contains(i);
        let total: u64 = self
            .keys
            .iter()
            .enumerate()
            .filter(usable)
            .map(|(_, k)| u64::from(k.weight))
            .sum();
        if total == 0 {
            return Err(self.exhausted(now));
        }
        let mut point = roll % total;
        for (i, k) in self.keys.iter().enumerate().filter(usable) {
            let w = u64::from(k.weight);
            if point < w {
                return Ok(i);
            }
            point -= w;
        }
        Err(self.exhausted(now))
    }

    fn exhausted(&self, now: Instant) -> Exhausted {
        self.keys
            .iter()
            .filter(|k| !k.revoked)
            .map(|k| {
                k.cooling_until
                    .map_or(Duration::ZERO, |u| u.saturating_duration_since(now))
            })
            .min()
            .map_or(Exhausted::Revoked, Exhausted::Cooling)
    }

    /// Cools key `index` until `now + cooldown` (never shortens a longer cooldown).
    pub fn cool(&mut self, index: usize, now: Instant, cooldown: Duration) {
        if let Some(k) = self.keys.get_mut(index) {
            let until = now + cooldown;
            k.cooling_until = Some(k.cooling_until.map_or(until, |u| u.max(until)));
        }
    }

    /// Takes key `index` out until restart.
    pub fn revoke(&mut self, index: usize) {
        if let Some(k) = self.keys.get_mut(index) {
            k.revoked = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> Pool {
        Pool::new([("a", 3), ("b", 1)])
    }

    #[test]
    fn picks_follow_the_weights() {
        let p = pool();
        let now = Instant::now();
        let picks: Vec<usize> = (0..8).map(|roll| p.pick(now, &[], roll).unwrap()).collect();
        assert_eq!(picks, [0, 0, 0, 1, 0, 0, 0, 1]);
        assert_eq!(
            p.pick(now, &[0], 0),
            Ok(1),
            "a key tried already is skipped"
        );
    }

    #[test]
    fn a_cooling_key_comes_back_at_its_reset() {
        let mut p = pool();
        let now = Instant::now();
        p.cool(0, now, Duration::from_secs(10));
        assert_eq!(p.pick(now, &[], 0), Ok(1));
        p.cool(1, now, Duration::from_secs(4));
        assert_eq!(
            p.pick(now, &[], 0),
            Err(Exhausted::Cooling(Duration::from_secs(4)))
        );
        assert_eq!(p.pick(now + Duration::from_secs(5), &[], 0), Ok(1));
        assert_eq!(p.pick(now + Duration::from_secs(10), &[], 0), Ok(0));
        p.cool(0, now, Duration::from_secs(1));
        assert!(
            p.pick(now + Duration::from_secs(5), &[1], 0).is_err(),
            "a shorter cooldown never shortens a longer one"
        );
    }

    #[test]
    fn revoked_keys_stay_out() {
        let mut p = pool();
        let now = Instant::now();
        p.revoke(1);
        assert!((0..4).all(|roll| p.pick(now, &[], roll) == Ok(0)));
        p.revoke(0);
        assert_eq!(p.pick(now, &[], 0), Err(Exhausted::Revoked));
        assert_eq!(p.id(0), "a");
    }
}
