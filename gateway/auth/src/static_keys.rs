//! Static keys from `[[auth.keys]]`, known only by SHA-256 digest.

use gateway_core::{Principal, Secret};
use sha2::{Digest, Sha256};
use subtle::{ConditionallySelectable, ConstantTimeEq};

/// The configured static keys. Verification hashes the presented token and compares it with
/// every digest in constant time, so timing reveals neither which key matched nor how much.
#[derive(Debug, Default)]
pub struct StaticKeys {
    keys: Vec<([u8; 32], Principal)>,
}

impl StaticKeys {
    /// From the validated config entries.
    pub fn new(keys: &[gateway_config::StaticKey]) -> Self {
        Self {
            keys: keys
                .iter()
                .map(|k| {
                    let principal = Principal {
                        subject: k.subject.clone(),
                        org: k.org.clone(),
                        plan: k.plan.clone(),
                        // What an admin's `key` block names.
                        token_id: Some(k.id.clone()),
                        run_budget_micro_usd: None,
                    };
                    (k.sha256, principal)
                })
                .collect(),
        }
    }

    /// The principal of `token`, if it is one of the keys.
    pub fn verify(&self, token: &Secret<String>) -> Option<Principal> {
        let digest: [u8; 32] = Sha256::digest(token.expose().as_bytes()).into();
        let mut found = subtle::Choice::from(0);
        let mut index = 0u32;
        for (i, (known, _)) in self.keys.iter().enumerate() {
            let hit = known.ct_eq(&digest);
            index.conditional_assign(&u32::try_from(i).unwrap_or(u32::MAX), hit);
            found |= hit;
        }
        if bool::from(found) {
            let i = usize::try_from(index).ok()?;
            self.keys.get(i).map(|(_, p)| p.clone())
        } else {
            None
        }
    }
}
