//! Sampling by key: the same session is kept or skipped on every replica and across restarts.

use sha2::{Digest, Sha256};

/// Whether a request keyed by `key` is recorded at sampling `rate`: deterministic by key
/// (pass the session id, so a whole session is kept or skipped, on every replica and across
/// restarts). `rate >= 1` always, `rate <= 0` (or NaN) never.
pub fn sampled(key: &str, rate: f64) -> bool {
    /// The fraction is taken from this many bits of the key's SHA-256 (an f64 mantissa).
    const SAMPLE_BITS: u32 = 53;
    if rate >= 1.0 {
        return true;
    }
    if rate.is_nan() || rate <= 0.0 {
        return false;
    }
    let digest = Sha256::digest(key.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let bits = u64::from_be_bytes(first) >> (64 - SAMPLE_BITS);
    let fraction = bits as f64 / (1u64 << SAMPLE_BITS) as f64;
    fraction < rate
}
