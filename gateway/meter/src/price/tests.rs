use std::path::Path;

use super::*;

fn shipped() -> PriceTable {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/prices.toml");
    PriceTable::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_shipped_prices_file_parses() {
    let table = shipped();
    assert_eq!(table.unknown_model_answer(), UnknownModelAnswer::Refuse);
    assert!(table.models().count() >= 20);
    for (id, price) in table.models() {
        assert!(
            price.input > 0 && price.output > 0 && price.cache_read > 0,
            "{id}"
        );
        assert!(price.cache_write_5m >= price.input, "{id}");
        assert!(price.max_output_tokens >= 64_000, "{id}");
    }
    let sonnet = table.price("claude-sonnet-4-6").unwrap();
    assert_eq!(
        (sonnet.input, sonnet.cache_write_5m, sonnet.cache_write_1h),
        (3_000_000, 3_750_000, 6_000_000)
    );
    assert_eq!((sonnet.cache_read, sonnet.output), (300_000, 15_000_000));
}

#[test]
fn dated_vertex_and_prefixed_ids_find_their_model() {
    let table = shipped();
    let cases = [
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-haiku-4-5@20251001", "claude-haiku-4-5"),
        ("anthropic/claude-opus-4-6", "claude-opus-4-6"),
        ("openai/gpt-5.6-terra", "gpt-5.6"),
        ("gpt-5-mini-2025-08-07", "gpt-5-mini"),
        ("gpt-5-2025-08-07", "gpt-5"),
        ("claude-fable-5-1-20260101", "claude-fable-5-1"),
    ];
    for (id, model) in cases {
        assert_eq!(table.canonical(id), Some(model), "{id}");
        assert_eq!(table.price(id).ok(), table.price(model).ok(), "{id}");
    }
}

#[test]
fn unknown_models_are_refused_or_charged_the_default() {
    let table = shipped();
    let err = table.price("gpt-5-pro").unwrap_err();
    assert_eq!(err.model, "gpt-5-pro");
    assert!(err.to_string().contains("no price configured"));
    let text = MINI.replace("answer = \"refuse\"", "answer = \"default\"");
    let table = PriceTable::parse(&text).unwrap();
    assert_eq!(table.price("anything").unwrap().input, 9_000_000);
}

const MINI: &str = r#"
[unknown_models]
answer = "refuse"
default = { input = 9, output = 9, cache_write_5m = 9, cache_write_1h = 9, cache_read = 9, max_output_tokens = 1000 }

[models.a]
input = 1
output = 2
cache_write_5m = 1.25
cache_write_1h = 2
cache_read = 0.1
max_output_tokens = 100
aliases = ["a-*", "x-*-y"]

[models.a-long]
input = 1
output = 2
cache_write_5m = 1.25
cache_write_1h = 2
cache_read = 0.1
max_output_tokens = 100
aliases = ["a-long-*"]
"#;

#[test]
fn the_most_specific_glob_wins() {
    let table = PriceTable::parse(MINI).unwrap();
    assert_eq!(table.canonical("a-long-2025"), Some("a-long"));
    assert_eq!(table.canonical("a-short"), Some("a"));
    assert_eq!(table.canonical("x-1-y"), Some("a"));
    assert_eq!(table.canonical("x-1-z"), None);
}

#[test]
fn every_problem_is_reported_with_path_and_line() {
    let text = r#"
provider_prefixes = ["openai/", ""]
colour = "blue"

[unknown_models]
answer = "maybe"

[models.a]
input = -1
output = "2"
cache_write_5m = 1.0000001
cache_read = 0.1
max_output_tokens = 0
aliases = ["b", "*"]
typo = 1

[models.b]
input = 1
output = 1
cache_write_5m = 1
cache_write_1h = 1
cache_read = 1
max_output_tokens = 1
aliases = ["b-*", "b-*"]
"#;
    let err = PriceTable::parse(text).unwrap_err();
    let lines: Vec<String> = err.problems().iter().map(ToString::to_string).collect();
    let want = [
        "line 2: provider_prefixes[1]: must be a non-empty string",
        "line 3: colour: unknown key; expected one of: provider_prefixes, unknown_models, models",
        "line 6: unknown_models.answer: must be \"refuse\" or \"default\"",
        "line 8: models.a: missing `cache_write_1h` (USD per million tokens, e.g. cache_write_1h = 3.75)",
        "line 9: models.a.input: must not be negative",
        "line 10: models.a.output: must be USD per million tokens as a plain number, like 3 or 3.75",
        "line 11: models.a.cache_write_5m: has more than six decimal places (the unit is one micro-USD)",
        "line 13: models.a.max_output_tokens: must be a whole number above 0",
        "line 15: models.a.typo: unknown key; expected one of: input, output, cache_write_5m, cache_write_1h, cache_read, max_output_tokens, aliases, long_context",
        "line 24: models.b.aliases: `b-*` is already an alias of `b`",
    ];
    assert_eq!(lines, want, "{err}");
    assert!(
        err.to_string()
            .starts_with("10 problems in the prices file:")
    );
}

#[test]
fn alias_clashes_are_refused() {
    let text = MINI.replace("\"x-*-y\"", "\"a-long\", \"*\"");
    let err = PriceTable::parse(&text).unwrap_err();
    let lines: Vec<String> = err.problems().iter().map(|p| p.message.clone()).collect();
    assert_eq!(
        lines,
        [
            "`a-long` is already a model id",
            "matches every model; use [unknown_models] answer = \"default\""
        ]
    );
}

#[test]
fn missing_sections_and_bad_toml_are_reported() {
    let err = PriceTable::parse("").unwrap_err();
    assert_eq!(err.problems().len(), 2, "{err}");
    let err = PriceTable::parse("[models\n").unwrap_err();
    assert_eq!(err.problems()[0].line, Some(1));
    assert!(err.problems()[0].message.starts_with("not valid TOML"));
    let text = MINI.replace("answer = \"refuse\"\ndefault", "answer = \"default\"\nx");
    let err = PriceTable::parse(&text).unwrap_err();
    assert!(
        err.to_string()
            .contains("answer = \"default\" needs a price"),
        "{err}"
    );
}

#[test]
fn globs_match_stars_anywhere() {
    assert!(glob_matches("a*", "a"));
    assert!(glob_matches("a*", "abc"));
    assert!(glob_matches("*c", "abc"));
    assert!(glob_matches("a*b*c", "a-b-b-c"));
    assert!(!glob_matches("a*b*c", "a-c"));
    assert!(!glob_matches("ab*ba", "aba"));
    assert!(glob_matches("abc", "abc"));
    assert!(!glob_matches("abc", "abcd"));
}

#[test]
fn the_shipped_bedrock_prices_file_finds_bedrock_ids_and_mirrors_first_party_rates() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/prices-bedrock.toml");
    let bedrock = PriceTable::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let main = shipped();
    let cases = [
        ("us.anthropic.claude-sonnet-4-6-v1:0", "claude-sonnet-4-6"),
        (
            "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "claude-sonnet-4-5",
        ),
        (
            "anthropic.claude-haiku-4-5-20251001-v1:0",
            "claude-haiku-4-5",
        ),
        (
            "eu.anthropic.claude-sonnet-5-5-20260101-v1:0",
            "claude-sonnet-5-5",
        ),
        ("claude-opus-4-6", "claude-opus-4-6"),
    ];
    for (id, model) in cases {
        assert_eq!(bedrock.canonical(id), Some(model), "{id}");
    }
    for (id, price) in bedrock.models() {
        assert_eq!(
            main.price(id).ok(),
            Some(price),
            "{id} mirrors the main table"
        );
    }
}

#[test]
fn the_first_listed_id_prices_else_the_unknown_answer() {
    let text = |answer: &str| {
        format!(
            "[unknown_models]\nanswer = \"{answer}\"\n[unknown_models.default]\ninput = 9\ncache_write_5m = 9\ncache_write_1h = 9\ncache_read = 9\noutput = 9\nmax_output_tokens = 1000\n[models.a]\ninput = 1\ncache_write_5m = 1\ncache_write_1h = 1\ncache_read = 1\noutput = 1\nmax_output_tokens = 1000\naliases = [\"*vendor.a-v*\"]\n[models.b]\ninput = 2\ncache_write_5m = 2\ncache_write_1h = 2\ncache_read = 2\noutput = 2\nmax_output_tokens = 1000\n"
        )
    };
    let refuse = PriceTable::parse(&text("refuse")).unwrap();
    let input = |p: Option<&Price>| p.map(|p| p.input);
    assert_eq!(
        input(refuse.price_of_first(["us.vendor.a-v1:0", "b"])),
        Some(1_000_000)
    );
    assert_eq!(input(refuse.price_of_first(["nope", "b"])), Some(2_000_000));
    assert_eq!(input(refuse.price_of_first(["nope", "neither"])), None);
    let default = PriceTable::parse(&text("default")).unwrap();
    assert_eq!(
        input(default.price_of_first(["nope", "b"])),
        Some(2_000_000),
        "a later listed id wins over the default"
    );
    assert_eq!(input(default.price_of_first(["nope"])), Some(9_000_000));
}
