//! The vendor-format rule table (tiers T1/T2 of secrets.md): an anchor for the prefilter, an
//! ASCII bytes-mode regex confirmed at the anchor, and an optional structural validator.
//! Seeded from gitleaks' families with anchors re-authored to ≥ 3 bytes.

use crate::placeholder::Kind;

/// Where the regex starts relative to the anchor hit.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Start {
    /// Anchored search starting this many bytes before the hit (usually 0: a prefix).
    At(u8),
    /// Unanchored search in `[hit - before, hit + after]`; the match must cover the hit.
    Around(u16, u16),
}

/// Which byte right after a match means the token goes on (so the match is rejected).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Cont {
    /// `[A-Za-z0-9_]`
    Word,
    /// `[A-Za-z0-9_-]`
    WordDash,
    /// `[A-Za-z0-9+/=]`
    Base64,
}

impl Cont {
    pub(crate) fn continues(self, b: u8) -> bool {
        match self {
            Self::Word => b.is_ascii_alphanumeric() || b == b'_',
            Self::WordDash => b.is_ascii_alphanumeric() || b == b'_' || b == b'-',
            Self::Base64 => b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='),
        }
    }
}

/// A structural validator run on the matched token.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Check {
    None,
    CrcTail,
    Jwt,
    NotDocExample,
    OpenAi,
}

/// One vendor rule.
#[derive(Debug)]
pub(crate) struct VendorDef {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    pub(crate) anchors: &'static [&'static str],
    pub(crate) pattern: &'static str,
    pub(crate) start: Start,
    pub(crate) cont: Cont,
    pub(crate) check: Check,
    /// Also refuse a match preceded by `.` (JWTs after `pk.` are Mapbox public tokens).
    pub(crate) no_dot_before: bool,
}

const fn rule(
    name: &'static str,
    kind: Kind,
    anchors: &'static [&'static str],
    pattern: &'static str,
) -> VendorDef {
    VendorDef {
        name,
        kind,
        anchors,
        pattern,
        start: Start::At(0),
        cont: Cont::Word,
        check: Check::None,
        no_dot_before: false,
    }
}

impl VendorDef {
    const fn cont(mut self, cont: Cont) -> Self {
        self.cont = cont;
        self
    }
    const fn check(mut self, check: Check) -> Self {
        self.check = check;
        self
    }
    const fn start(mut self, start: Start) -> Self {
        self.start = start;
        self
    }
    const fn no_dot_before(mut self) -> Self {
        self.no_dot_before = true;
        self
    }
}

const HEX_SK: &[&str] = &[
    "SK0", "SK1", "SK2", "SK3", "SK4", "SK5", "SK6", "SK7", "SK8", "SK9", "SKa", "SKb", "SKc",
    "SKd", "SKe", "SKf",
];
const DIGIT_Q: &[&str] = &[
    "0Q~", "1Q~", "2Q~", "3Q~", "4Q~", "5Q~", "6Q~", "7Q~", "8Q~", "9Q~",
];

/// Every built-in vendor rule. Order is irrelevant; names are stable metric labels.
pub(crate) const VENDOR_RULES: &[VendorDef] = &[
    rule(
        "aws-access-key-id",
        Kind::Aws,
        &["AKIA", "ASIA", "ABIA", "ACCA"],
        r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}",
    )
    .check(Check::NotDocExample),
    rule(
        "aws-bedrock-api-key",
        Kind::Aws,
        &["ABSK"],
        r"ABSK[A-Za-z0-9+/]{109,}={0,2}",
    )
    .cont(Cont::Base64),
    rule("gcp-api-key", Kind::Gcp, &["AIza"], r"AIza[0-9A-Za-z_-]{35}").cont(Cont::WordDash),
    rule(
        "gcp-oauth-client-secret",
        Kind::Gcp,
        &["GOCSPX-"],
        r"GOCSPX-[0-9A-Za-z_-]{28}",
    )
    .cont(Cont::WordDash),
    rule(
        "gcp-oauth-access-token",
        Kind::Gcp,
        &["ya29."],
        r"ya29\.[0-9A-Za-z_-]{30,}",
    )
    .cont(Cont::WordDash),
    rule(
        "azure-entra-client-secret",
        Kind::Azure,
        DIGIT_Q,
        r"[A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}",
    )
    .start(Start::At(3)),
    rule(
        "github-token",
        Kind::Github,
        &["ghp_", "gho_", "ghu_", "ghs_", "ghr_"],
        r"gh[pousr]_[A-Za-z0-9]{36}",
    )
    .check(Check::CrcTail),
    rule(
        "github-fine-grained-pat",
        Kind::Github,
        &["github_pat_"],
        r"github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}",
    ),
    rule(
        "gitlab-token",
        Kind::Gitlab,
        &[
            "glpat-", "glptt-", "glrt-", "gldt-", "glft-", "glsoat-", "glcbt-", "glimt-",
            "gloas-", "glagent-",
        ],
        r"gl(?:pat|ptt|rt|dt|ft|soat|cbt|imt|oas|agent)-[0-9A-Za-z_.-]{20,}",
    )
    .cont(Cont::WordDash),
    rule(
        "slack-token",
        Kind::Slack,
        &["xoxb-", "xoxp-", "xoxe-", "xoxa-", "xoxs-", "xoxr-", "xoxe.xoxp-"],
        r"xox(?:[bpeasr]|e\.xoxp)-[0-9A-Za-z-]{10,}",
    )
    .cont(Cont::WordDash),
    rule(
        "slack-app-token",
        Kind::Slack,
        &["xapp-"],
        r"xapp-[0-9]-[A-Z0-9]{4,20}-[0-9]{4,20}-[a-z0-9]{20,80}",
    ),
    rule(
        "slack-webhook-url",
        Kind::Slack,
        &["hooks.slack.com/"],
        r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_-]{6,}/[A-Za-z0-9_-]{6,}(?:/[A-Za-z0-9_-]{16,})?",
    )
    .cont(Cont::WordDash),
    rule(
        "stripe-secret-key",
        Kind::Stripe,
        &["sk_live_", "sk_test_", "rk_live_", "rk_test_"],
        r"[sr]k_(?:live|test)_[0-9A-Za-z]{10,99}",
    ),
    rule(
        "stripe-webhook-secret",
        Kind::Stripe,
        &["whsec_"],
        r"whsec_[0-9A-Za-z+/]{24,88}={0,2}",
    )
    .cont(Cont::Base64),
    rule(
        "openai-api-key",
        Kind::OpenAi,
        &["T3BlbkFJ"],
        r"sk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,}|[A-Za-z0-9]{20})T3BlbkFJ[A-Za-z0-9_-]{20,}",
    )
    .start(Start::Around(230, 230))
    .cont(Cont::WordDash)
    .check(Check::OpenAi),
    rule(
        "anthropic-api-key",
        Kind::Anthropic,
        &["sk-ant-"],
        r"sk-ant-(?:api03|admin01|oat01|ort01|sid01)-[A-Za-z0-9_-]{93}AA",
    )
    .cont(Cont::WordDash),
    rule("groq-api-key", Kind::Llm, &["gsk_"], r"gsk_[A-Za-z0-9]{52}"),
    rule("xai-api-key", Kind::Llm, &["xai-"], r"xai-[A-Za-z0-9]{80}"),
    rule("perplexity-api-key", Kind::Llm, &["pplx-"], r"pplx-[A-Za-z0-9]{48}"),
    rule(
        "openrouter-api-key",
        Kind::Llm,
        &["sk-or-v1-"],
        r"sk-or-v1-[a-f0-9]{64}",
    ),
    rule("replicate-api-token", Kind::Llm, &["r8_"], r"r8_[A-Za-z0-9]{37}"),
    rule("huggingface-token", Kind::Llm, &["hf_"], r"hf_[A-Za-z0-9]{34}"),
    rule(
        "langsmith-api-key",
        Kind::Llm,
        &["lsv2_pt_", "lsv2_sk_"],
        r"lsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10}",
    ),
    rule(
        "jwt",
        Kind::Jwt,
        &["eyJ"],
        r"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{16,}",
    )
    .cont(Cont::WordDash)
    .check(Check::Jwt)
    .no_dot_before(),
    rule("npm-token", Kind::Npm, &["npm_"], r"npm_[A-Za-z0-9]{36}").check(Check::CrcTail),
    rule(
        "pypi-token",
        Kind::Pypi,
        &["pypi-AgEIcHlwaS5vcmc"],
        r"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}",
    )
    .cont(Cont::WordDash),
    rule(
        "docker-pat",
        Kind::Docker,
        &["dckr_pat_"],
        r"dckr_pat_[A-Za-z0-9_-]{27,64}",
    )
    .cont(Cont::WordDash),
    rule(
        "sendgrid-api-key",
        Kind::Saas,
        &["SG."],
        r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}",
    )
    .cont(Cont::WordDash),
    rule("twilio-api-key", Kind::Saas, HEX_SK, r"SK[0-9a-fA-F]{32}"),
    rule(
        "digitalocean-token",
        Kind::Saas,
        &["dop_v1_", "doo_v1_", "dor_v1_"],
        r"do[por]_v1_[a-f0-9]{64}",
    ),
    rule(
        "databricks-token",
        Kind::Saas,
        &["dapi"],
        r"dapi[a-f0-9]{32}(?:-[0-9])?",
    ),
    rule(
        "shopify-token",
        Kind::Saas,
        &["shpat_", "shpca_", "shppa_", "shpss_"],
        r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}",
    ),
    rule(
        "vault-token",
        Kind::Saas,
        &["hvs.", "hvb."],
        r"hv[sb]\.[A-Za-z0-9_-]{24,}",
    )
    .cont(Cont::WordDash),
    rule(
        "supabase-secret-key",
        Kind::Saas,
        &["sbp_", "sb_secret_"],
        r"(?:sbp_[a-f0-9]{40}|sb_secret_[A-Za-z0-9_-]{20,})",
    )
    .cont(Cont::WordDash),
    rule(
        "posthog-personal-api-key",
        Kind::Saas,
        &["phx_"],
        r"phx_[A-Za-z0-9]{43}",
    ),
    rule(
        "sentry-token",
        Kind::Saas,
        &["sntryu_", "sntrys_"],
        r"(?:sntryu_[a-f0-9]{64}|sntrys_[A-Za-z0-9_+/=.-]{60,})",
    )
    .cont(Cont::WordDash),
    rule(
        "linear-api-key",
        Kind::Saas,
        &["lin_api_"],
        r"lin_api_[A-Za-z0-9]{40}",
    ),
    rule(
        "age-secret-key",
        Kind::Saas,
        &["AGE-SECRET-KEY-1"],
        r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}",
    ),
];
