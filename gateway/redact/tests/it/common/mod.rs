//! Test support shared by the integration tests and the benchmark: a fixed-seed generator
//! of fake secrets (nothing checksum-valid is committed; everything is built at run time),
//! request-body builders for each surface, and helpers to inspect redacted output.

pub(crate) mod bodies;
pub(crate) mod cloud;
pub(crate) mod corpus;
pub(crate) mod dialects;
pub(crate) mod tally;

use std::sync::OnceLock;

use gateway_redact::{Redactor, RedactorConfig, TenantKey};

/// SplitMix64: tiny, deterministic, good enough for fake tokens.
pub(crate) struct Rng(u64);

pub(crate) const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
pub(crate) const HEX: &[u8] = b"0123456789abcdef";
pub(crate) const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
pub(crate) const B64URL: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
pub(crate) const UPPER_B32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// A random version-4 UUID (hex, hyphenated).
    pub(crate) fn uuid(&mut self) -> String {
        format!(
            "{}-{}-4{}-a{}-{}",
            self.string(HEX, 8),
            self.string(HEX, 4),
            self.string(HEX, 3),
            self.string(HEX, 3),
            self.string(HEX, 12)
        )
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    pub(crate) fn string(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len)
            .map(|_| char::from(alphabet[self.below(alphabet.len())]))
            .collect()
    }

    /// A string that has at least one char of each listed class (so it is not all-letters).
    pub(crate) fn mixed(&mut self, alphabet: &[u8], len: usize) -> String {
        loop {
            let s = self.string(alphabet, len);
            let digit = s.bytes().any(|b| b.is_ascii_digit());
            let alpha = s.bytes().any(|b| b.is_ascii_alphabetic());
            if digit && alpha {
                return s;
            }
        }
    }
}

fn base62_6(mut v: u32) -> String {
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(v % 62) as usize];
        v /= 62;
    }
    String::from_utf8(out.to_vec()).unwrap_or_default()
}

/// 30 random base62 chars + base62(CRC32) tail: the GitHub / npm token body.
pub(crate) fn crc_body(rng: &mut Rng) -> String {
    let random = rng.string(BASE62, 30);
    let tail = base62_6(crc32fast::hash(random.as_bytes()));
    random + &tail
}

pub(crate) fn b64url(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let mut b = [0u8; 3];
        b[..chunk.len()].copy_from_slice(chunk);
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(char::from(B64URL[((v >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

pub(crate) fn b64std(data: &[u8]) -> String {
    let mut s = b64url(data).replace('-', "+").replace('_', "/");
    while !s.len().is_multiple_of(4) {
        s.push('=');
    }
    s
}

/// One generated secret: the rule family it belongs to and the exact text that must vanish.
#[derive(Clone, Debug)]
pub(crate) struct Fake {
    pub(crate) family: &'static str,
    /// The text placed in the request.
    pub(crate) text: String,
    /// The part of `text` that must not survive (the password of a URL, the whole token…).
    pub(crate) secret: String,
}

impl Fake {
    fn whole(family: &'static str, text: String) -> Self {
        Self {
            family,
            secret: text.clone(),
            text,
        }
    }
}

fn pem(rng: &mut Rng, label: &str, lines: usize) -> String {
    let mut s = format!("-----BEGIN {label}-----\n");
    for _ in 0..lines {
        s += &rng.string(B64, 64);
        s.push('\n');
    }
    s += &rng.string(B64, 20);
    s += "==\n";
    s + &format!("-----END {label}-----")
}

/// Every vendor family of secrets.md §2, at least three values each (min, max, middle).
pub(crate) fn vendor_fakes(rng: &mut Rng) -> Vec<Fake> {
    let mut v = Vec::new();
    let mut add = |family: &'static str, text: String| v.push(Fake::whole(family, text));
    for p in ["AKIA", "ASIA", "ABIA", "ACCA"] {
        add(
            "aws-access-key-id",
            format!("{p}{}", rng.string(UPPER_B32, 16)),
        );
    }
    for len in [109, 180, 269] {
        add(
            "aws-bedrock-api-key",
            format!("ABSK{}", rng.string(B64, len)),
        );
    }
    for _ in 0..3 {
        add("gcp-api-key", format!("AIza{}", rng.mixed(B64URL, 35)));
        add(
            "gcp-oauth-client-secret",
            format!("GOCSPX-{}", rng.mixed(B64URL, 28)),
        );
        add(
            "github-token",
            format!(
                "{}_{}",
                rng.pick(&["ghp", "gho", "ghu", "ghs", "ghr"]),
                crc_body(rng)
            ),
        );
        add("npm-token", format!("npm_{}", crc_body(rng)));
        add(
            "github-fine-grained-pat",
            format!(
                "github_pat_{}_{}",
                rng.string(BASE62, 22),
                rng.string(BASE62, 59)
            ),
        );
        add(
            "anthropic-api-key",
            format!(
                "sk-ant-{}-{}AA",
                rng.pick(&["api03", "admin01"]),
                rng.string(B64URL, 93)
            ),
        );
        add("groq-api-key", format!("gsk_{}", rng.mixed(BASE62, 52)));
        add("xai-api-key", format!("xai-{}", rng.mixed(BASE62, 80)));
        add(
            "perplexity-api-key",
            format!("pplx-{}", rng.mixed(BASE62, 48)),
        );
        add(
            "openrouter-api-key",
            format!("sk-or-v1-{}", rng.string(HEX, 64)),
        );
        add(
            "replicate-api-token",
            format!("r8_{}", rng.mixed(BASE62, 37)),
        );
        add("huggingface-token", format!("hf_{}", rng.mixed(BASE62, 34)));
        add(
            "langsmith-api-key",
            format!(
                "lsv2_{}_{}_{}",
                rng.pick(&["pt", "sk"]),
                rng.string(HEX, 32),
                rng.string(HEX, 10)
            ),
        );
        add("docker-pat", format!("dckr_pat_{}", rng.mixed(B64URL, 27)));
        add(
            "sendgrid-api-key",
            format!("SG.{}.{}", rng.string(B64URL, 22), rng.string(B64URL, 43)),
        );
        add("twilio-api-key", format!("SK{}", rng.string(HEX, 32)));
        add(
            "digitalocean-token",
            format!(
                "{}_v1_{}",
                rng.pick(&["dop", "doo", "dor"]),
                rng.string(HEX, 64)
            ),
        );
        add("databricks-token", format!("dapi{}", rng.string(HEX, 32)));
        add(
            "shopify-token",
            format!(
                "{}_{}",
                rng.pick(&["shpat", "shpca", "shppa", "shpss"]),
                rng.string(HEX, 32)
            ),
        );
        add("vault-token", format!("hvs.{}", rng.mixed(B64URL, 90)));
        add(
            "supabase-secret-key",
            format!("sbp_{}", rng.string(HEX, 40)),
        );
        add(
            "supabase-secret-key",
            format!("sb_secret_{}", rng.mixed(BASE62, 32)),
        );
        add(
            "posthog-personal-api-key",
            format!("phx_{}", rng.mixed(BASE62, 43)),
        );
        add("sentry-token", format!("sntryu_{}", rng.string(HEX, 64)));
        add(
            "linear-api-key",
            format!("lin_api_{}", rng.mixed(BASE62, 40)),
        );
        add(
            "age-secret-key",
            format!(
                "AGE-SECRET-KEY-1{}",
                rng.string(b"QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58)
            ),
        );
        add(
            "stripe-webhook-secret",
            format!("whsec_{}", rng.mixed(BASE62, 32)),
        );
        add(
            "slack-token",
            format!(
                "{}-{}-{}-{}",
                rng.pick(&["xoxb", "xoxp"]),
                rng.string(b"0123456789", 12),
                rng.string(b"0123456789", 13),
                rng.mixed(BASE62, 24)
            ),
        );
        add(
            "slack-app-token",
            format!(
                "xapp-1-A{}-{}-{}",
                rng.string(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 10),
                rng.string(b"0123456789", 13),
                rng.string(HEX, 64)
            ),
        );
        add(
            "slack-webhook-url",
            format!(
                "hooks.slack.com/services/T{}/B{}/{}",
                rng.string(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 10),
                rng.string(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 10),
                rng.mixed(BASE62, 24)
            ),
        );
        add(
            "gcp-oauth-access-token",
            format!("ya29.{}", rng.mixed(B64URL, 150)),
        );
        add(
            "pypi-token",
            format!("pypi-AgEIcHlwaS5vcmc{}", rng.mixed(B64URL, 120)),
        );
        let sub = rng.string(HEX, 12);
        let header = b64url(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = b64url(
            format!(r#"{{"sub":"user-{sub}","iat":1700000000,"role":"authenticated"}}"#).as_bytes(),
        );
        add(
            "jwt",
            format!("{header}.{payload}.{}", rng.string(B64URL, 43)),
        );
    }
    for p in ["AKIA", "ASIA"] {
        add(
            "aws-access-key-id",
            format!("{p}{}", rng.string(UPPER_B32, 16)),
        );
    }
    for len in [10, 24, 99] {
        let p = rng.pick(&["sk_live", "sk_test", "rk_live", "rk_test"]);
        add(
            "stripe-secret-key",
            format!("{p}_{}", rng.mixed(BASE62, len)),
        );
    }
    for (p, len) in [("sk-proj-", 74), ("sk-svcacct-", 58), ("sk-admin-", 74)] {
        add(
            "openai-api-key",
            format!(
                "{p}{}T3BlbkFJ{}",
                rng.mixed(B64URL, len),
                rng.mixed(B64URL, len)
            ),
        );
    }
    add(
        "openai-api-key",
        format!(
            "sk-{}T3BlbkFJ{}",
            rng.mixed(BASE62, 20),
            rng.mixed(BASE62, 20)
        ),
    );
    for (p, len) in [
        ("glpat-", 20),
        ("glpat-", 27),
        ("glrt-", 20),
        ("gldt-", 20),
        ("glft-", 20),
    ] {
        add("gitlab-token", format!("{p}{}", rng.mixed(BASE62, len)));
    }
    add("gitlab-token", format!("glptt-{}", rng.string(HEX, 40)));
    for len in [31, 32, 34] {
        let head = rng.mixed(BASE62, 3);
        add(
            "azure-entra-client-secret",
            format!("{head}{}Q~{}", rng.below(10), rng.mixed(BASE62, len)),
        );
    }
    for label in [
        "RSA PRIVATE KEY",
        "EC PRIVATE KEY",
        "OPENSSH PRIVATE KEY",
        "PRIVATE KEY",
        "ENCRYPTED PRIVATE KEY",
        "DSA PRIVATE KEY",
        "PGP PRIVATE KEY BLOCK",
    ] {
        let lines = 3 + rng.below(20);
        add("private-key", pem(rng, label, lines));
    }
    for scheme in [
        "postgres",
        "postgresql",
        "mysql",
        "mongodb+srv",
        "redis",
        "amqp",
        "mssql",
    ] {
        let pw = {
            let n = 8 + rng.below(20);
            rng.mixed(BASE62, n)
        };
        let user = if scheme == "redis" {
            String::new()
        } else {
            "app_user".to_owned()
        };
        v.push(Fake {
            family: "connection-string-password",
            text: format!("{scheme}://{user}:{pw}@db.prod.internal:5432/appdb"),
            secret: pw,
        });
    }
    let pw = format!("{}%40{}", rng.mixed(BASE62, 6), rng.mixed(BASE62, 6));
    v.push(Fake {
        family: "connection-string-password",
        text: format!("postgresql://admin:{pw}@[::1]:5432/db?sslmode=require"),
        secret: pw,
    });
    let tok = rng.mixed(B64URL, 40);
    v.push(Fake {
        family: "http-bearer-token",
        text: format!("Authorization: Bearer {tok}"),
        secret: tok,
    });
    let basic = b64std(format!("deploy:{}", rng.mixed(BASE62, 14)).as_bytes());
    v.push(Fake {
        family: "http-basic-credentials",
        text: format!("Authorization: Basic {basic}"),
        secret: basic,
    });
    v
}

/// Sensitive variable names for the `.env` recall set.
pub(crate) const SENSITIVE_NAMES: &[&str] = &[
    "DB_PASSWORD",
    "POSTGRES_PASSWORD",
    "PGPASSWORD",
    "MYSQL_ROOT_PASSWORD",
    "REDIS_PASSWORD",
    "SECRET_KEY",
    "SECRET_KEY_BASE",
    "JWT_SECRET",
    "SESSION_SECRET",
    "COOKIE_SECRET",
    "API_KEY",
    "STRIPE_KEY",
    "MAILGUN_API_KEY",
    "ENCRYPTION_KEY",
    "SIGNING_KEY",
    "APP_KEY",
    "AUTH_TOKEN",
    "ACCESS_TOKEN",
    "REFRESH_TOKEN",
    "GITHUB_TOKEN",
    "SLACK_BOT_TOKEN",
    "CLIENT_SECRET",
    "OAUTH_CLIENT_SECRET",
    "AWS_SECRET_ACCESS_KEY",
    "AZURE_STORAGE_KEY",
    "PRIVATE_KEY",
    "MASTER_KEY",
    "ADMIN_PASSWORD",
    "SMTP_PASSWORD",
    "SMTP_PASS",
    "DB_PASS",
    "LDAP_BIND_PASSWORD",
    "WEBHOOK_SECRET",
    "HMAC_SECRET",
    "PASSWORD_SALT",
    "CREDENTIALS",
    "apiKey",
    "clientSecret",
    "dbPassword",
    "authToken",
    "secret",
    "password",
    "token",
];

/// Words that make the redactor take a value for a documentation placeholder (`yoUR8…`
/// reads as "your"): a generated secret never contains one, whatever the seed.
const PLACEHOLDER_WORDS: &[&str] = &[
    "your",
    "xxxx",
    "changeme",
    "example",
    "placeholder",
    "dummy",
    "redacted",
    "replace",
    "insert",
    "sample",
    "todo",
    "fixme",
    "notreal",
    "here",
    "fake",
    "opensesame",
    "mask",
];

/// A secret-shaped value of the kinds people keep in `.env` files.
pub(crate) fn env_value(rng: &mut Rng) -> String {
    loop {
        let v = env_value_draw(rng);
        let lower = v.to_ascii_lowercase();
        if !PLACEHOLDER_WORDS.iter().any(|w| lower.contains(w)) {
            return v;
        }
    }
}

fn env_value_draw(rng: &mut Rng) -> String {
    match rng.below(7) {
        0 => {
            let n = 12 + rng.below(30);
            rng.mixed(BASE62, n)
        }
        1 => {
            let n = *rng.pick(&[32, 40, 64]);
            rng.string(HEX, n)
        }
        2 => rng.uuid(),
        3 => {
            // A human password with symbols (no quotes or backslashes).
            let word = rng
                .pick(&["Summer", "Dragon", "Falcon", "Winter", "Rocket"])
                .to_string();
            format!(
                "{word}{}{}{}",
                rng.below(1000),
                rng.pick(&["!", "#", "$x", "%", "&", "*", "@", "-", "+"]),
                rng.string(BASE62, 3)
            )
        }
        4 => {
            let mut s = rng.mixed(B64, 40);
            s.push('=');
            s
        }
        5 => {
            let n = 8 + rng.below(8);
            rng.mixed(b"abcdefghijklmnopqrstuvwxyz0123456789", n)
        }
        _ => {
            let n = 20 + rng.below(40);
            rng.mixed(B64URL, n)
        }
    }
}

/// One `.env`-family assignment line in a given dialect; returns (text, secret).
pub(crate) fn env_line(rng: &mut Rng, dialect: usize) -> (String, String) {
    let name = *rng.pick(SENSITIVE_NAMES);
    let value = env_value(rng);
    let text = match dialect % 14 {
        0 => format!("{name}={value}"),
        1 => format!("export {name}=\"{value}\""),
        2 => format!("{name}='{value}'"),
        3 => format!("  {}: {value}", name.to_lowercase()),
        4 => format!("  \"{name}\": \"{value}\","),
        5 => format!("{} = {value}", name.to_lowercase()),
        6 => format!("- name: {name}\n  value: \"{value}\""),
        7 => format!("        \"{name}={value}\","),
        8 => format!("{name} = \"{value}\" # set by ops"),
        9 => format!("    {name}: \"{value}\""),
        10 => format!("<{name}>{value}</{name}>"),
        11 => format!("const {name} = \"{value}\";"),
        12 => format!("{name} := \"{value}\""),
        _ => format!("$env:{name}=\"{value}\""),
    };
    (text, value)
}

/// A redactor shared by one test binary (rule compilation is not free in debug builds).
pub(crate) fn redactor() -> &'static Redactor {
    static R: OnceLock<Redactor> = OnceLock::new();
    R.get_or_init(|| {
        let key = TenantKey::new(b"test-tenant-key-0123456789abcdef".to_vec()).unwrap();
        Redactor::new(RedactorConfig::new(key)).unwrap()
    })
}

/// Every string value in a JSON document, decoded.
pub(crate) fn all_strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => {
            out.push(s.clone());
            // JSON inside JSON (tool arguments): look inside too.
            if let Ok(inner) = serde_json::from_str::<serde_json::Value>(s) {
                all_strings(&inner, out);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| all_strings(x, out)),
        serde_json::Value::Object(o) => o.values().for_each(|x| all_strings(x, out)),
        _ => {}
    }
}
