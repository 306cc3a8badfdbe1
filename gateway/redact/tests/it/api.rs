//! Behaviour of the public API, one rule per test.

use gateway_core::Api;
use gateway_redact::{
    ExtraRule, HistoryCache, RedactError, Redactor, RedactorConfig, Restorer, Target, TenantKey,
};
use serde_json::json;

use crate::common::{Rng, redactor, vendor_fakes};

fn redact(body: &serde_json::Value) -> (String, gateway_redact::Report) {
    let bytes = serde_json::to_vec(body).unwrap();
    let out = redactor()
        .redact_request(&bytes, Api::AnthropicMessages, &HistoryCache::disabled())
        .unwrap();
    (
        String::from_utf8(out.body().to_vec()).unwrap(),
        out.report().clone(),
    )
}

fn user(text: &str) -> serde_json::Value {
    json!({"model": "m", "messages": [{"role": "user", "content": text}]})
}

fn github_token() -> String {
    let mut rng = Rng::new(42);
    vendor_fakes(&mut rng)
        .into_iter()
        .find(|f| f.family == "github-token")
        .unwrap()
        .text
}

#[test]
fn a_clean_body_is_returned_borrowed() {
    let body = serde_json::to_vec(&user("just refactor the tokenizer, max_tokens = 4096")).unwrap();
    let out = redactor()
        .redact_request(&body, Api::AnthropicMessages, &HistoryCache::disabled())
        .unwrap();
    assert!(out.is_unchanged());
    assert!(std::ptr::eq(out.body(), body.as_slice()));
    assert_eq!(out.report().total(), 0);
}

#[test]
fn invalid_json_and_utf8_are_refused() {
    let r = redactor();
    let c = HistoryCache::disabled();
    assert!(matches!(
        r.redact_request(b"{\"messages\": [", Api::OpenAiChat, &c),
        Err(RedactError::InvalidJson { .. })
    ));
    assert!(matches!(
        r.redact_request(b"\"\xff\"", Api::OpenAiChat, &c),
        Err(RedactError::InvalidUtf8 { offset: 1 })
    ));
}

#[test]
fn thinking_signatures_images_and_ids_are_never_touched() {
    let tok = github_token();
    let body = json!({"model": "m", "messages": [
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": format!("the token is {tok}"), "signature": tok},
            {"type": "redacted_thinking", "data": tok},
            {"type": "tool_use", "id": tok, "name": "Bash", "input": {"command": format!("gh auth login --with-token {tok}")}}]},
        {"role": "user", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": tok}},
            {"type": "tool_result", "tool_use_id": tok, "content": "ok"}]}
    ]});
    let (out, report) = redact(&body);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let blocks = &v["messages"][0]["content"];
    assert_eq!(blocks[0]["thinking"], json!(format!("the token is {tok}")));
    assert_eq!(blocks[0]["signature"], json!(tok));
    assert_eq!(blocks[1]["data"], json!(tok));
    assert_eq!(blocks[2]["id"], json!(tok));
    assert_eq!(v["messages"][1]["content"][0]["source"]["data"], json!(tok));
    assert_eq!(v["messages"][1]["content"][1]["tool_use_id"], json!(tok));
    // Only the tool input changed.
    assert!(
        !blocks[2]["input"]["command"]
            .as_str()
            .unwrap()
            .contains(&tok)
    );
    assert_eq!(report.count("github-token"), 1);
}

#[test]
fn placeholders_are_stable_across_processes_and_keys() {
    // A golden value: any change here breaks every tenant's prompt cache once.
    let key = TenantKey::new(b"golden-tenant-key-000000000000000".to_vec()).unwrap();
    let r = Redactor::new(RedactorConfig::new(key)).unwrap();
    let out = r.redact_text("DB_PASSWORD=Sup3r-Secret-42");
    let text = std::str::from_utf8(out.body()).unwrap();
    assert_eq!(text, "DB_PASSWORD=gwx_env_136F8HH7HSDQZBRS");
    let other = TenantKey::new(b"another-tenant-key-0000000000000".to_vec()).unwrap();
    let r2 = Redactor::new(RedactorConfig::new(other)).unwrap();
    assert_ne!(
        r2.redact_text("DB_PASSWORD=Sup3r-Secret-42").body(),
        out.body()
    );
}

#[test]
fn a_confirmed_value_is_redacted_everywhere_but_short_words_are_not() {
    let text = "API_SECRET=Zx9-qWe7-Rty5\nAWS_ACCESS_KEY_ID=default\n\nlater: curl -u bot:Zx9-qWe7-Rty5 https://x; profile default";
    let (out, report) = redact(&user(text));
    assert!(!out.contains("Zx9-qWe7-Rty5"), "{out}");
    assert_eq!(out.matches("gwx_env_").count(), 2, "{out}");
    assert_eq!(out.matches("default").count(), 2, "{out}");
    assert_eq!(report.count("sensitive-assignment"), 2);
}

#[test]
fn same_secret_same_placeholder_in_every_message() {
    let tok = github_token();
    let body = json!({"model": "m", "system": format!("ci token {tok}"), "messages": [
        {"role": "user", "content": format!("use {tok}")},
        {"role": "user", "content": [{"type": "text", "text": format!("GITHUB_TOKEN={tok}")}]}]});
    let (out, report) = redact(&body);
    let ph: Vec<&str> = out
        .match_indices("gwx_gh_")
        .map(|(i, _)| &out[i..i + 23])
        .collect();
    assert_eq!(ph.len(), 3);
    assert!(ph.iter().all(|p| *p == ph[0]));
    assert_eq!(report.count("github-token"), 3);
}

#[test]
fn connection_strings_lose_only_their_password() {
    let (out, report) = redact(&user(
        "DATABASE_URL=postgres://app:n0t-S0-secret@db.prod:5432/app?sslmode=require",
    ));
    assert!(
        out.contains("postgres://app:gwx_url_")
            && out.contains("@db.prod:5432/app?sslmode=require"),
        "{out}"
    );
    assert_eq!(report.count("connection-string-password"), 1);
}

#[test]
fn history_cache_answers_resent_blocks_without_rescanning() {
    let tok = github_token();
    let long = format!(
        "{}\nGITHUB_TOKEN={tok}\n{}",
        "fn main() {}\n".repeat(100),
        "// end\n".repeat(50)
    );
    let body = serde_json::to_vec(&json!({"model": "m", "messages": [
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": long}]},
        {"role": "user", "content": "next turn"}]}))
    .unwrap();
    let cache = HistoryCache::new(128);
    let first = redactor()
        .redact_request(&body, Api::AnthropicMessages, &cache)
        .unwrap();
    let second = redactor()
        .redact_request(&body, Api::AnthropicMessages, &cache)
        .unwrap();
    assert_eq!(first.body(), second.body());
    assert_eq!(
        first.report().counts().collect::<Vec<_>>(),
        second.report().counts().collect::<Vec<_>>()
    );
    assert_eq!(first.report().bytes_cached(), 0);
    assert!(second.report().bytes_cached() >= long.len() as u64);
    assert_eq!(cache.hits(), 1);
    assert_eq!(second.restore_map().len(), 1);
}

#[test]
fn allowlisted_values_and_extra_rules_follow_the_config() {
    let key = TenantKey::new(b"test-tenant-key-0123456789abcdef".to_vec()).unwrap();
    let mut cfg = RedactorConfig::new(key);
    cfg.allowlist.push("Sandbox-Pass-123".to_owned());
    cfg.extra_rules.push(ExtraRule {
        anchors: vec!["acme_".to_owned()],
        pattern: "acme_[0-9a-f]{24}".to_owned(),
    });
    let r = Redactor::new(cfg).unwrap();
    let out = r.redact_text("DB_PASSWORD=Sandbox-Pass-123 and acme_0123456789abcdef01234567 done");
    let text = std::str::from_utf8(out.body()).unwrap();
    assert!(
        text.starts_with("DB_PASSWORD=Sandbox-Pass-123 and gwx_cst_"),
        "{text}"
    );
    assert_eq!(out.report().count("custom"), 1);

    let key = TenantKey::new(b"test-tenant-key-0123456789abcdef".to_vec()).unwrap();
    let mut bad = RedactorConfig::new(key);
    bad.extra_rules.push(ExtraRule {
        anchors: vec!["ab".to_owned()],
        pattern: "ab+".to_owned(),
    });
    assert!(matches!(
        Redactor::new(bad),
        Err(RedactError::InvalidRule { index: 0, .. })
    ));
    assert!(matches!(
        TenantKey::new(b"short".to_vec()),
        Err(RedactError::WeakTenantKey { .. })
    ));
}

#[test]
fn debug_output_never_contains_values() {
    let out = redactor().redact_text("SECRET_KEY=Q8v-Zt3-Lm9-Kp2");
    let key = TenantKey::new(b"test-tenant-key-0123456789abcdef".to_vec()).unwrap();
    let shown = format!("{out:?} {:?} {key:?} {:?}", out.restore_map(), redactor());
    assert!(
        !shown.contains("Q8v-Zt3-Lm9-Kp2") && !shown.contains("0123456789abcdef"),
        "{shown}"
    );
    let ph = out.restore_map().placeholders().next().unwrap().to_owned();
    assert_eq!(
        out.restore_map().get(&ph).unwrap().expose(),
        "Q8v-Zt3-Lm9-Kp2"
    );
}

#[test]
fn streamed_tool_arguments_get_the_original_back_json_escaped() {
    let out = redactor().redact_text("PASSWORD='a\"b-Cd3-ef9'");
    let ph = out.restore_map().placeholders().next().unwrap().to_owned();
    let args = format!("{{\"command\":\"export PGPASSWORD={ph}\"}}");
    let (a, b) = args.split_at(args.find("gwx_").unwrap() + 7);
    let mut r = Restorer::new(out.restore_map());
    let mut got = r.push(a, Target::JsonFragment);
    got += &r.push(b, Target::JsonFragment);
    got += &r.finish();
    assert_eq!(got, "{\"command\":\"export PGPASSWORD=a\\\"b-Cd3-ef9\"}");
    assert_eq!(r.restored(), 1);
    // A placeholder this map never minted passes through.
    let mut r = Restorer::new(out.restore_map());
    assert_eq!(
        r.push("gwx_env_0000000000000000 ", Target::Text),
        "gwx_env_0000000000000000 "
    );
}

#[test]
fn the_redactor_can_be_shared_across_tasks() {
    fn shared<T: Send + Sync>() {}
    shared::<Redactor>();
    shared::<gateway_redact::RestoreMap>();
    shared::<HistoryCache>();
    fn sendable<T: Send>() {}
    sendable::<Restorer<std::sync::Arc<gateway_redact::RestoreMap>>>();
}

#[test]
fn one_history_cache_serves_concurrent_requests() {
    let long = format!(
        "DB_PASSWORD=Sup3r-Secret-42\n{}",
        "let x = 1;\n".repeat(200)
    );
    let body = serde_json::to_vec(&json!({"model": "m", "messages": [
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": long}]}]}))
    .unwrap();
    let cache = HistoryCache::new(4096);
    let cold = redactor()
        .redact_request(&body, Api::AnthropicMessages, &HistoryCache::disabled())
        .unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..20 {
                    let out = redactor()
                        .redact_request(&body, Api::AnthropicMessages, &cache)
                        .unwrap();
                    assert_eq!(out.body(), cold.body());
                }
            });
        }
    });
    assert_eq!(cache.hits() + cache.misses(), 80);
    assert!(cache.hits() >= 76, "{cache:?}");
}

#[test]
fn placeholders_are_keyed_per_organisation_and_detection_is_not() {
    use gateway_redact::Scope;
    let r = redactor();
    let c = HistoryCache::new(64);
    let body = serde_json::to_vec(&user(&format!(
        "token {}\nDB_PASSWORD=Sup3r-Secret-42",
        github_token()
    )))
    .unwrap();
    let run = |scope| {
        let out = r
            .redact_request_in(&body, Api::AnthropicMessages, &c, scope)
            .unwrap();
        (
            String::from_utf8(out.body().to_vec()).unwrap(),
            out.report().total(),
            out.restore_map().len(),
        )
    };
    let (acme, n_acme, m_acme) = run(Scope::Org("acme"));
    let (globex, n_globex, _) = run(Scope::Org("globex"));
    let (gateway, n_gateway, _) = run(Scope::Gateway);
    assert_eq!(
        (n_acme, n_globex, n_gateway),
        (2, 2, 2),
        "same findings in every scope"
    );
    assert_eq!(m_acme, 2);
    assert_eq!(run(Scope::Org("acme")).0, acme, "stable per organisation");
    assert_ne!(acme, globex);
    assert_ne!(acme, gateway);
    assert_eq!(
        gateway,
        String::from_utf8(
            r.redact_request(&body, Api::AnthropicMessages, &c)
                .unwrap()
                .body()
                .to_vec()
        )
        .unwrap(),
        "redact_request is the gateway scope"
    );
    assert_eq!(Scope::for_org(None), Scope::Gateway);
    assert_eq!(Scope::for_org(Some("acme")), Scope::Org("acme"));
    // A clean body costs no key derivation and stays borrowed in every scope.
    let clean = serde_json::to_vec(&user("refactor the parser")).unwrap();
    assert!(
        r.redact_request_in(&clean, Api::AnthropicMessages, &c, Scope::Org("acme"))
            .unwrap()
            .is_unchanged()
    );
}

#[test]
fn grep_output_lines_prefixed_with_path_and_number() {
    for text in [
        "/app/.env:3:DB_PASSWORD=Sup3r-Secret-42",
        "app/.env:12:  STRIPE_SECRET_KEY=Sup3r-Secret-42",
        "app/.env-3-DB_PASSWORD=Sup3r-Secret-42",
        "C:\\app\\.env:3:DB_PASSWORD=Sup3r-Secret-42",
    ] {
        let (out, _) = redact(&user(text));
        assert!(!out.contains("Sup3r-Secret-42"), "{text}: {out}");
    }
}

#[test]
fn a_value_cut_at_its_length_bound_never_splits_a_character() {
    // The value runs past the lexer's 1 KiB bound inside multi-byte characters: the
    // replacement must end on a character boundary, or the body would not be UTF-8 (JSON).
    for pad in 0..4 {
        let text = format!(
            "Pass=ass/ass{}=ass/@{}",
            "x".repeat(pad),
            "\u{FFFD}".repeat(400)
        );
        let (out, report) = redact(&user(&text));
        assert!(
            serde_json::from_str::<serde_json::Value>(&out).is_ok(),
            "{pad}"
        );
        assert_eq!(report.count("sensitive-assignment"), 1, "{pad}");
    }
}
