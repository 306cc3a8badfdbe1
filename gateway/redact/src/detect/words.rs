//! Word lists behind the name and value judgements of [`super::judge`]. The word sets
//! (`SENSITIVE`, `KEEP_LAST`, `NON_SECRET_*`) are kept sorted for binary search.

/// Words that make a name sensitive wherever they stand.
#[rustfmt::skip]
pub(super) const SENSITIVE: &[&[u8]] = &[
    b"accesskey", b"apikey", b"auth", b"authtoken", b"cookie", b"credential", b"credentials",
    b"creds", b"pass", b"passphrase", b"passwd", b"password", b"pat", b"privatekey", b"pwd",
    b"salt", b"secret", b"secretkey", b"secrets", b"sessiontoken", b"signing", b"token",
];

/// Suffixes that make a concatenated word sensitive (`PGPASSWORD`, `csrftoken`).
#[rustfmt::skip]
pub(super) const SENSITIVE_SUFFIX: &[&[u8]] = &[
    b"password", b"passwd", b"secret", b"token", b"apikey",
];

/// A last word that says the value is not the secret itself.
#[rustfmt::skip]
pub(super) const KEEP_LAST: &[&[u8]] = &[
    b"alg", b"algo", b"algorithm", b"arn", b"at", b"audience", b"bucket", b"button", b"cache",
    b"callback", b"changed", b"check", b"class", b"column", b"config", b"count", b"counter",
    b"created", b"desc", b"description", b"digest", b"dir", b"directory", b"disable",
    b"disabled", b"doc", b"docs", b"dsn", b"email", b"enable", b"enabled", b"endpoint", b"env",
    b"environment", b"error", b"errors", b"example", b"expiration", b"expire", b"expires",
    b"expiry", b"field", b"file", b"files", b"fn", b"format", b"func", b"function", b"handler",
    b"hash", b"header", b"headers", b"help", b"hidden", b"hint", b"host", b"hostname", b"icon",
    b"id", b"ids", b"index", b"info", b"input", b"issuer", b"kind", b"label", b"len", b"length",
    b"level", b"limit", b"list", b"location", b"login", b"manager", b"max", b"message",
    b"method", b"metric", b"metrics", b"min", b"mock", b"mode", b"msg", b"name", b"names",
    b"param", b"params", b"path", b"paths", b"pattern", b"placeholder", b"policy", b"port",
    b"prefix", b"prompt", b"provider", b"ref", b"regex", b"region", b"request", b"required",
    b"reset", b"response", b"result", b"rotation", b"rule", b"rules", b"sample", b"schema",
    b"scope", b"scopes", b"service", b"size", b"source", b"stats", b"store", b"strategy",
    b"strength", b"style", b"suffix", b"table", b"template", b"test", b"tests", b"text",
    b"timeout", b"title", b"ttl", b"type", b"type_", b"types", b"updated", b"uri", b"uris",
    b"url", b"urls", b"usage", b"user", b"username", b"valid", b"validation", b"validator",
    b"version", b"visible", b"zone",
];

/// A word before `key` that makes it a data-structure key, not a credential.
#[rustfmt::skip]
pub(super) const NON_SECRET_KEY: &[&[u8]] = &[
    b"anon", b"cache", b"child", b"column", b"composite", b"config", b"cursor", b"dedup",
    b"dict", b"end", b"entity", b"event", b"feature", b"field", b"first", b"flag", b"foreign",
    b"group", b"hash", b"hotkey", b"i18n", b"idempotency", b"index", b"item", b"json",
    b"keyboard", b"last", b"list", b"lookup", b"map", b"message", b"next", b"node", b"object",
    b"order", b"parent", b"partition", b"prev", b"primary", b"public", b"publishable", b"query",
    b"rate", b"react", b"record", b"redis", b"routing", b"row", b"s3", b"search", b"shortcut",
    b"sign", b"site", b"socket", b"sort", b"sorting", b"start", b"state", b"storage_", b"store",
    b"table", b"translation", b"unique", b"yaml",
];

/// A word before `token` that makes it a pagination/tokenizer/counter token.
#[rustfmt::skip]
pub(super) const NON_SECRET_TOKEN: &[&[u8]] = &[
    b"bos", b"cached", b"cancel", b"cancellation", b"cls", b"completion", b"continuation",
    b"csrf_", b"end", b"eos", b"first", b"input", b"last", b"lexer", b"mask", b"max", b"new",
    b"next", b"num", b"output", b"pad", b"page", b"pagination", b"parser", b"prompt",
    b"reasoning", b"sep", b"special", b"start", b"stop", b"sync", b"syntax", b"total", b"unk",
];

/// Values that are public by design even under a secret-sounding name.
#[rustfmt::skip]
pub(super) const PUBLIC_PREFIXES: &[&[u8]] = &[
    b"pk_live_", b"pk_test_", b"phc_", b"sb_publishable_", b"pk.eyJ", b"gwx_",
];

/// Substrings that mark a documentation placeholder rather than a value.
#[rustfmt::skip]
pub(super) const PLACEHOLDER_WORDS: &[&[u8]] = &[
    b"your", b"xxxx", b"***", b"...", b"changeme", b"change-me", b"change_me", b"example",
    b"placeholder", b"dummy", b"redacted", b"replace", b"insert", b"sample", b"todo", b"fixme",
    b"notreal", b"not-a-real", b"not_a_real", b"here", b"<", b">", b"secret_here", b"fake", b"opensesame",
    b"mask",
];

/// Substrings that mark a reference to a secret stored elsewhere, or code.
#[rustfmt::skip]
pub(super) const REFERENCE_MARKS: &[&[u8]] = &[
    b"${", b"{{", b"op://", b"://", b"enc[", b"process.env", b"os.environ", b"getenv",
    b"secretkeyref", b"vault:", b"arn:aws:", b"(", b")", b"import.meta", b"env::", b"env[",
    b"secrets.", b"%(",
];

/// Words anywhere in a name that make it about a secret, not the secret itself
/// (`Access-Control-Allow-Credentials`, `require_password`, `forgot_password_url`).
#[rustfmt::skip]
pub(super) const NEUTRAL_ANY: &[&[u8]] = &[
    b"allow", b"allowed", b"control", b"disable", b"enable", b"exclude", b"forgot", b"include",
    b"require", b"reset", b"should", b"show", b"strength", b"validate",
];
