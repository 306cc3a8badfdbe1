//! Test identities: signing keys of every supported type, their JWKS, and token minting.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// The issuer the test configs require.
pub const ISSUER: &str = "https://login.example.com";
/// The audience the test configs require.
pub const AUDIENCE: &str = "llm-gateway";
/// The HS256 shared secret the test configs use (env `GATEWAY_JWT_SECRET`).
pub const HS256_SECRET: &str = "test-only-hs256-secret-0123456789abcdef";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn fixture(name: &str) -> String {
    let path = crate::workspace_root()
        .join("gateway/testkit/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A private key with its `kid`, algorithm and public JWK.
pub struct SigningKey {
    /// Key id, in the JWKS and the token header.
    pub kid: String,
    /// Signing algorithm.
    pub alg: Algorithm,
    encoding: EncodingKey,
    /// The public JWK (with `kid` and `alg`).
    pub jwk: Value,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({}, {:?})", self.kid, self.alg)
    }
}

impl SigningKey {
    /// The RSA test key (fixture), RS256.
    pub fn rsa(kid: &str) -> Self {
        let mut jwk: Value = serde_json::from_str(&fixture("rsa-test-key.jwk.json")).expect("jwk");
        jwk["kid"] = json!(kid);
        jwk["alg"] = json!("RS256");
        jwk["use"] = json!("sig");
        Self {
            kid: kid.into(),
            alg: Algorithm::RS256,
            encoding: EncodingKey::from_rsa_pem(fixture("rsa-test-key.pem").as_bytes())
                .expect("rsa pem"),
            jwk,
        }
    }

    /// A fresh P-256 key, ES256.
    pub fn ec(kid: &str) -> Self {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("ec key");
        let raw = pair.public_key_raw();
        let (x, y) = raw[1..].split_at(32);
        Self {
            kid: kid.into(),
            alg: Algorithm::ES256,
            encoding: EncodingKey::from_ec_pem(pair.serialize_pem().as_bytes()).expect("ec pem"),
            jwk: json!({"kty": "EC", "crv": "P-256", "x": b64(x), "y": b64(y), "kid": kid, "alg": "ES256", "use": "sig"}),
        }
    }

    /// A fresh Ed25519 key, EdDSA.
    pub fn ed(kid: &str) -> Self {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).expect("ed key");
        Self {
            kid: kid.into(),
            alg: Algorithm::EdDSA,
            encoding: EncodingKey::from_ed_pem(pair.serialize_pem().as_bytes()).expect("ed pem"),
            jwk: json!({"kty": "OKP", "crv": "Ed25519", "x": b64(pair.public_key_raw()), "kid": kid, "alg": "EdDSA", "use": "sig"}),
        }
    }

    /// Signs `claims` with this key, `kid` in the header.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("sign")
    }

    /// Signs `claims` with this key but a header naming `kid`.
    pub fn sign_as(&self, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("sign")
    }
}

/// A JWKS document holding `keys`' public halves.
pub fn jwks(keys: &[&SigningKey]) -> String {
    json!({ "keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() }).to_string()
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs(),
    )
    .expect("time")
}

/// Claims valid for an hour, with the test issuer and audience.
pub fn claims(sub: &str) -> Value {
    json!({ "sub": sub, "org": "acme", "plan": "pro", "jti": format!("run-{sub}"), "iss": ISSUER, "aud": AUDIENCE, "iat": now(), "exp": now() + 3600 })
}

/// An HS256 token signed with `secret`.
pub fn hs256(secret: &[u8], claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .expect("sign")
}

/// The RSA test key's public key PEM (for the HS/RS confusion attack).
pub fn rsa_public_pem() -> String {
    fixture("rsa-test-key.pub.pem")
}

/// A token with the given raw header JSON and claims, signed (HS256 over header.payload) with
/// `secret`; for forging headers like `alg: none`.
pub fn forge(header_json: &str, claims: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        b64(header_json.as_bytes()),
        b64(claims.to_string().as_bytes())
    )
}
