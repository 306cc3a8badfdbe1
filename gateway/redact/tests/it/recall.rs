//! Recall: every generated vendor secret in every context and encoding must vanish (100 %),
//! sensitive-name assignments in every dialect, context, encoding and line-prefix form
//! ≥ 98 % with only the value replaced, structured credential files ≥ 98 %, and harmless
//! lines stay. The recall tables print with `--nocapture`.

use gateway_redact::HistoryCache;

use crate::common::bodies::{
    ALL_CONTEXTS, ALL_ENCODINGS, ALL_LINE_FORMS, Context, Encoding, LineForm, encoded_body,
    prefix_lines,
};
use crate::common::cloud::cloud_files;
use crate::common::dialects::{ENV_FAMILIES, credential_files, env_shape};
use crate::common::tally::Tally;
use crate::common::{Fake, Rng, all_strings, env_line, redactor, vendor_fakes};

/// Decoded strings of the redacted body (and JSON nested in them).
fn decoded_strings(out: &[u8]) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_slice(out).expect("redacted body is valid JSON");
    let mut strings = Vec::new();
    all_strings(&v, &mut strings);
    strings
}

fn leaked(out: &[u8], secret: &str) -> bool {
    // Look in raw bytes, decoded strings and JSON nested inside strings.
    let raw = String::from_utf8_lossy(out);
    raw.contains(secret) || decoded_strings(out).iter().any(|s| s.contains(secret))
}

const TEMPLATES: &[&str] = &[
    "Here is the key: {} please use it.",
    "export SOME_SETTING={}",
    "{\"credential\": \"{}\", \"region\": \"eu-west-1\"}",
    "config:\n  value: {}\n  retries: 3",
    "```\n{}\n```",
    "- {}",
    "{}",
];

#[test]
fn vendor_formats_are_redacted_in_every_context_and_encoding() {
    let mut rng = Rng::new(0x005E_C2E7);
    let fakes = vendor_fakes(&mut rng);
    let r = redactor();
    let mut families = std::collections::BTreeSet::new();
    let (mut total, mut misses) = (0usize, Vec::new());
    for (n, f) in fakes.iter().enumerate() {
        families.insert(f.family);
        // Every family meets every context and every encoding (each family has ≥ 3 values,
        // and the rotation gives each value all contexts and all encodings once).
        let pairs = ALL_CONTEXTS
            .iter()
            .enumerate()
            .map(|(i, c)| (i, c, (n + i) % ALL_ENCODINGS.len()))
            .chain(ALL_ENCODINGS.iter().enumerate().map(|(j, _)| {
                let i = n % ALL_CONTEXTS.len();
                (i, &ALL_CONTEXTS[i], j)
            }));
        for (i, ctx, j) in pairs {
            let enc = &ALL_ENCODINGS[j];
            {
                let template = TEMPLATES[(n + i + j) % TEMPLATES.len()];
                let text = template.replace("{}", &f.text);
                let (body, surface) = encoded_body(*ctx, *enc, &text, &f.secret);
                let out = r
                    .redact_request(&body, surface, &HistoryCache::disabled())
                    .expect("generated bodies are valid");
                total += 1;
                if leaked(out.body(), &f.secret) {
                    misses.push(format!(
                        "{} in {ctx:?}/{enc:?} (template {template:?})",
                        f.family
                    ));
                } else if f.family == "connection-string-password" {
                    assert!(
                        String::from_utf8_lossy(out.body())
                            .contains("@db.prod.internal:5432/appdb")
                            || !f.text.contains("db.internal"),
                        "host kept"
                    );
                }
            }
        }
    }
    let recall = 100.0 * (total - misses.len()) as f64 / total as f64;
    println!(
        "vendor recall: {recall:.2}% of {total} cases ({} families, {} secrets)",
        families.len(),
        fakes.len()
    );
    for m in misses.iter().take(40) {
        println!("  missed: {m}");
    }
    assert!(misses.is_empty(), "{} vendor misses", misses.len());
}

#[test]
fn sensitive_env_assignments_are_redacted_and_plain_settings_kept() {
    let mut rng = Rng::new(0xE4F);
    let r = redactor();
    let encodings = [Encoding::Raw, Encoding::Crlf, Encoding::DoubleEscaped];
    let (mut total, mut misses) = (0usize, Vec::new());
    for k in 0..700 {
        let dialect = k % 14;
        let (line, secret) = env_line(&mut rng, dialect);
        let text = format!("# app config\nPORT=3000\n{line}\nLOG_LEVEL=info\n");
        let ctx = ALL_CONTEXTS[k % ALL_CONTEXTS.len()];
        let enc = encodings[k % encodings.len()];
        let (body, surface) = encoded_body(ctx, enc, &text, &secret);
        let out = r
            .redact_request(&body, surface, &HistoryCache::disabled())
            .expect("valid body");
        total += 1;
        if leaked(out.body(), &secret) {
            let name = line
                .split(['=', ':', ' ', '>'])
                .find(|s| !s.is_empty())
                .unwrap_or("");
            misses.push(format!("dialect {dialect} name {name} in {ctx:?}/{enc:?}"));
        }
        let strings = decoded_strings(out.body()).join("\n");
        assert!(strings.contains("PORT=3000") && strings.contains("LOG_LEVEL=info"));
    }
    let recall = 100.0 * (total - misses.len()) as f64 / total as f64;
    println!("env-assignment recall: {recall:.2}% of {total} cases");
    for m in &misses {
        println!("  missed: {m}");
    }
    assert!(recall >= 95.0, "env recall {recall:.2}% < 95%");
}

#[test]
fn a_vendor_secret_is_counted_under_its_rule_name() {
    let mut rng = Rng::new(7);
    let fake = vendor_fakes(&mut rng).swap_remove(0);
    let text = format!("first block\n{}", fake.text);
    let (body, surface) = encoded_body(
        Context::ToolResultBlocks,
        Encoding::Raw,
        &text,
        &fake.secret,
    );
    let out = redactor()
        .redact_request(&body, surface, &HistoryCache::disabled())
        .expect("valid");
    assert!(!leaked(out.body(), &fake.secret));
    assert_eq!(out.report().count(fake.family), 1);
}

/// Redacts `fake` in one context, encoding and line form; a hit when the secret is gone and,
/// if `exact`, every replaced value is exactly the secret (the name and prefix stay).
fn caught(
    fake: &Fake,
    text: &str,
    ctx: Context,
    enc: Encoding,
    form: LineForm,
    first: usize,
    exact: bool,
) -> bool {
    let text = prefix_lines(text, form, first);
    let (body, surface) = encoded_body(ctx, enc, &text, &fake.secret);
    let out = redactor()
        .redact_request(&body, surface, &HistoryCache::disabled())
        .expect("generated bodies are valid");
    let map = out.restore_map();
    let only_value = map
        .placeholders()
        .all(|p| map.get(p).is_some_and(|v| v.expose() == fake.secret));
    !leaked(out.body(), &fake.secret) && (!exact || only_value)
}

/// Runs the cases `cases` makes (a fake and the text holding it) in every context, each of
/// `encodings` and each of `forms`, and tallies the hits.
fn tally_recall(
    rng: &mut Rng,
    encodings: &[Encoding],
    forms: &[LineForm],
    exact: bool,
    mut cases: impl FnMut(&mut Rng) -> Vec<(Fake, String)>,
) -> Tally {
    let mut tally = Tally::new();
    for ctx in ALL_CONTEXTS {
        for enc in encodings {
            for &form in forms {
                for (fake, text) in cases(rng) {
                    let first = 1 + rng.below(400);
                    let hit = caught(&fake, &text, *ctx, *enc, form, first, exact);
                    let (c, e, f) = (format!("{ctx:?}"), format!("{enc:?}"), format!("{form:?}"));
                    tally.add(fake.family, &c, &e, &f, hit);
                }
            }
        }
    }
    tally
}

/// A line prefix costs no recall: every form does about as well as the plain text.
fn assert_forms_match_plain(tally: &Tally) {
    let plain = tally.form.recall("Plain");
    let low = tally.form.below(plain - 1.5);
    assert!(
        low.is_empty(),
        "line forms below plain text ({plain:.1} %): {low:?}"
    );
}

#[test]
fn sensitive_assignments_are_redacted_in_every_dialect_context_encoding_and_line_form() {
    let mut rng = Rng::new(0xD1A1);
    let tally = tally_recall(&mut rng, ALL_ENCODINGS, ALL_LINE_FORMS, true, |rng| {
        (0..ENV_FAMILIES)
            .map(|k| {
                let fake = env_shape(rng, k);
                let text = format!("# app config\nPORT=3000\n{}\nLOG_LEVEL=info\n", fake.text);
                (fake, text)
            })
            .collect()
    });
    println!("{}", tally.render("sensitive-name assignments"));
    assert_forms_match_plain(&tally);
    for axis in [&tally.family, &tally.context, &tally.encoding, &tally.form] {
        let low = axis.below(98.0);
        assert!(low.is_empty(), "below 98 %: {low:?}");
    }
}

#[test]
fn structured_credential_files_are_redacted_in_every_context() {
    let mut rng = Rng::new(0xC4ED);
    let mut fakes = credential_files(&mut rng);
    fakes.extend(cloud_files(&mut rng));
    let encodings = [
        Encoding::Raw,
        Encoding::Crlf,
        Encoding::DoubleEscaped,
        Encoding::DoubleJson,
        Encoding::EmbeddedJson,
        Encoding::UnicodeEscape,
        Encoding::Fenced,
    ];
    let forms = [
        LineForm::Plain,
        LineForm::Arrow,
        LineForm::Tab,
        LineForm::Grep,
    ];
    let tally = tally_recall(&mut rng, &encodings, &forms, false, |_| {
        fakes.iter().map(|f| (f.clone(), f.text.clone())).collect()
    });
    println!("{}", tally.render("structured credential files"));
    assert_forms_match_plain(&tally);
    let low = tally.family.below(98.0);
    assert!(low.is_empty(), "below 98 %: {low:?}");
}
