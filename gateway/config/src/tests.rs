use super::*;

/// Asserts every key path of `expected` is among the problems `errors` reports.
pub(crate) fn assert_reported(errors: &ConfigErrors, expected: &[&str]) {
    let paths: Vec<&str> = errors.problems().iter().map(|p| p.path.as_str()).collect();
    for e in expected {
        assert!(paths.contains(e), "{e} missing from {errors}");
    }
}

const KEY_HASH: &str = "4c2e9e6da31a64c70623619c449a040968cdbea85945bf384fa30ed2d5d24fa3";

fn env() -> MapEnvironment {
    MapEnvironment::from_pairs([
        ("ANTHROPIC_API_KEY", "sk-a"),
        ("OPENAI_API_KEY", "sk-o"),
        ("GATEWAY_JWT_SECRET", "0123456789abcdef0123456789abcdef"),
        ("GATEWAY_INTROSPECTION_SECRET", "s"),
    ])
}

fn minimal() -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:8080"
path_prefixes = ["/wizard", "/wizard/beta"]
[admin]
listen = "127.0.0.1:9090"
[upstreams.anthropic]
base_url = "https://api.anthropic.com"
api_key_env = "ANTHROPIC_API_KEY"
[upstreams.openai]
base_url = "https://api.openai.com"
api_key_env = "OPENAI_API_KEY"
[[auth.keys]]
sha256 = "{KEY_HASH}"
subject = "ci-bot"
"#
    )
}

#[test]
fn minimal_config_validates_with_defaults() {
    let c = Config::parse(&minimal(), &env()).unwrap();
    assert_eq!(c.server.listen.port(), 8080);
    assert_eq!(c.server.path_prefixes, ["/wizard/beta", "/wizard"]);
    assert_eq!(c.server.request_body_max_bytes, 32 * 1024 * 1024);
    assert_eq!(c.server.inflight_body_max_bytes, 256 * 1024 * 1024);
    assert_eq!(c.forwarding.request_timeout, Duration::from_secs(600));
    let anthropic = c.upstreams.anthropic.unwrap();
    assert_eq!(anthropic.primary.keys[0].secret.expose(), "sk-a");
    assert_eq!(anthropic.primary.keys[0].id, "ANTHROPIC_API_KEY");
    assert_eq!(anthropic.primary.name, "anthropic");
    assert!(anthropic.fallbacks.is_empty());
    assert_eq!(c.forwarding.retry.per_target, 1);
    assert_eq!(c.forwarding.retry.ttft_timeout, None);
    assert_eq!(c.auth.keys[0].subject, "ci-bot");
    assert_eq!(c.log.format, LogFormat::Text);
}

#[test]
fn the_body_budget_follows_the_body_limit_and_must_hold_one_body() {
    let with = |lines: &str| minimal().replace("[admin]", &format!("{lines}\n[admin]"));
    let c = Config::parse(&with("request_body_max_bytes = 1048576"), &env()).unwrap();
    assert_eq!(c.server.inflight_body_max_bytes, 8 << 20);

    let errors = Config::parse(
        &with("request_body_max_bytes = 2048\ninflight_body_max_bytes = 1024"),
        &env(),
    )
    .unwrap_err();
    let p = &errors.problems()[0];
    assert_eq!(p.path, "server.inflight_body_max_bytes");
    assert!(p.message.contains("could never be read"), "{}", p.message);

    let errors = Config::parse(&with("inflight_body_max_bytes = 8589934592"), &env()).unwrap_err();
    assert!(errors.problems()[0].message.contains("4 GiB"));
}

#[test]
fn every_problem_is_reported_with_its_path() {
    let text = minimal()
        .replace("127.0.0.1:8080", "not-an-address")
        .replace("https://api.openai.com", "ftp://x")
        .replace(KEY_HASH, "abc")
        + "\n[log]\nformat = \"xml\"\ncolour = true\n[surprise]\n";
    let env = MapEnvironment::from_pairs([("OPENAI_API_KEY", "sk-o")]);
    let errors = Config::parse(&text, &env).unwrap_err();
    assert_reported(
        &errors,
        &[
            "server.listen",
            "upstreams.anthropic.api_key_env",
            "upstreams.openai.base_url",
            "auth.keys[0].sha256",
            "log",
            "surprise",
        ],
    );
    let shown = errors.to_string();
    assert!(shown.contains("colour"), "unknown key named: {shown}");
}

#[test]
fn overrides_apply_and_are_named_in_problems() {
    let mut env = env();
    env.0
        .insert("GATEWAY__SERVER__LISTEN".into(), "127.0.0.1:7000".into());
    env.0.insert(
        "GATEWAY__UPSTREAMS__ANTHROPIC__BASE_URL".into(),
        "relative/path".into(),
    );
    let errors = Config::parse(&minimal(), &env).unwrap_err();
    let p = &errors.problems()[0];
    assert_eq!(p.path, "upstreams.anthropic.base_url");
    assert_eq!(
        p.from_env.as_deref(),
        Some("GATEWAY__UPSTREAMS__ANTHROPIC__BASE_URL")
    );
    env.0.remove("GATEWAY__UPSTREAMS__ANTHROPIC__BASE_URL");
    let c = Config::parse(&minimal(), &env).unwrap();
    assert_eq!(c.server.listen.port(), 7000);
}

#[test]
fn provider_key_is_never_printed() {
    let c = Config::parse(&minimal(), &env()).unwrap();
    let shown = format!("{c:?}");
    assert!(
        !shown.contains("sk-a") && !shown.contains("sk-o"),
        "{shown}"
    );
}

#[test]
fn shipped_configs_parse() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = root.join("config");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml")
            && path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("gateway"))
        {
            // Relative paths in shipped configs are relative to the repository root.
            let text = std::fs::read_to_string(&path).unwrap();
            let text = text.replace("\"config/", &format!("\"{}/config/", root.display()));
            if let Err(e) = Config::parse(&text, &env()) {
                panic!("{}: {e}", path.display());
            }
            seen += 1;
        }
    }
    assert!(
        seen >= 3,
        "expected gateway.toml, gateway.example.toml, gateway.identity.toml"
    );
}

#[test]
fn identity_example_parses_jwt_and_introspection() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let text = std::fs::read_to_string(root.join("config/gateway.identity.toml")).unwrap();
    let text = text.replace("\"config/", &format!("\"{}/config/", root.display()));
    let c = Config::parse(&text, &env()).unwrap();
    let jwt = c.auth.jwt.unwrap();
    assert_eq!(jwt.issuer.as_deref(), Some("https://login.example.com"));
    assert_eq!(jwt.algorithms, ["RS256", "ES256", "EdDSA"]);
    assert!(jwt.hs256_secret.is_some());
    let i = c.auth.introspection.unwrap();
    assert_eq!(i.token_prefixes, ["pha_", "phx_"]);
    assert_eq!(c.auth.limits.failed_attempts_burst.get(), 60);
}

#[test]
fn jwt_problems_are_reported_together() {
    let text = minimal()
        + "[auth.jwt]\nhs256_secret_env = \"SHORT_SECRET\"\nalgorithms = [\"none\", \"RS256\"]\njwks_url = \"ftp://x\"\n";
    let mut env = env();
    env.0.insert("SHORT_SECRET".into(), "short".into());
    let errors = Config::parse(&text, &env).unwrap_err();
    let paths: Vec<&str> = errors.problems().iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "auth.jwt.hs256_secret_env",
            "auth.jwt.jwks_url",
            "auth.jwt.algorithms[0]"
        ],
        "{errors}"
    );
}

#[test]
fn transcripts_default_to_files_and_s3_problems_come_together() {
    let c = Config::parse(&minimal(), &env()).unwrap();
    assert!(c.transcripts.enabled);
    assert_eq!(c.transcripts.session_header, "x-claude-code-session-id");
    assert_eq!(c.transcripts.flush_interval, Duration::from_millis(100));
    let TranscriptSink::File(files) = &c.transcripts.sink else {
        panic!("the default sink is files");
    };
    assert_eq!(files.dir, std::path::PathBuf::from("transcripts"));
    assert_eq!(files.retention_days, 30);

    let env_with_dir = MapEnvironment::from_pairs([
        ("ANTHROPIC_API_KEY", "sk-a"),
        ("OPENAI_API_KEY", "sk-o"),
        (
            "GATEWAY__TRANSCRIPTS__DIR",
            "/var/lib/llm-gateway/transcripts",
        ),
    ]);
    let c = Config::parse(&minimal(), &env_with_dir).unwrap();
    let TranscriptSink::File(files) = &c.transcripts.sink else {
        panic!("files");
    };
    assert_eq!(
        files.dir,
        std::path::PathBuf::from("/var/lib/llm-gateway/transcripts")
    );

    let text = minimal()
        + "[transcripts]\nsink = \"s3\"\nflush_ms = 60000\nrotate_bytes = 10\nsession_header = \"bad header\"\n[transcripts.s3]\nbucket = \"b\"\nendpoint = \"not a url\"\n";
    let errors = Config::parse(&text, &env()).unwrap_err();
    assert_reported(
        &errors,
        &[
            "transcripts.flush_ms",
            "transcripts.rotate_bytes",
            "transcripts.session_header",
            "transcripts.s3.access_key_id_env",
            "transcripts.s3.secret_access_key_env",
            "transcripts.s3.endpoint",
        ],
    );

    let s3_env = MapEnvironment::from_pairs([
        ("ANTHROPIC_API_KEY", "sk-a"),
        ("OPENAI_API_KEY", "sk-o"),
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "very-secret-key-value"),
    ]);
    let text = minimal()
        + "[transcripts]\nsink = \"s3\"\n[transcripts.s3]\nbucket = \"b\"\nendpoint = \"http://127.0.0.1:9000\"\nallow_http = true\n";
    let c = Config::parse(&text, &s3_env).unwrap();
    let TranscriptSink::S3(s3) = &c.transcripts.sink else {
        panic!("s3");
    };
    assert_eq!(s3.bucket, "b");
    assert!(s3.allow_http);
    let shown = format!("{c:?}");
    assert!(!shown.contains("very-secret-key-value"), "{shown}");
}

#[test]
fn the_transcripts_section_loads_alone_with_its_overrides() {
    let dir = std::env::temp_dir().join(format!("cfg-transcripts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("gateway.toml");
    // No provider keys, an upstream section the full loader would refuse: not read.
    std::fs::write(
        &file,
        "[upstreams.anthropic]\nbase_url = 7\n[transcripts]\ndir = \"/var/t\"\n",
    )
    .unwrap();
    let none = MapEnvironment::from_pairs([]);
    let t = Config::load_transcripts(&file, &none).unwrap();
    let crate::TranscriptSink::File(files) = t.sink else {
        panic!("file sink")
    };
    assert_eq!(files.dir, std::path::PathBuf::from("/var/t"));

    let env = MapEnvironment::from_pairs([("GATEWAY__TRANSCRIPTS__DIR", "/elsewhere")]);
    let crate::TranscriptSink::File(files) = Config::load_transcripts(&file, &env).unwrap().sink
    else {
        panic!("file sink")
    };
    assert_eq!(files.dir, std::path::PathBuf::from("/elsewhere"));

    // A missing file is an empty one; a bad value is a problem at its key path.
    let missing = dir.join("absent.toml");
    let crate::TranscriptSink::File(files) =
        Config::load_transcripts(&missing, &none).unwrap().sink
    else {
        panic!("file sink")
    };
    assert_eq!(files.dir, std::path::PathBuf::from("transcripts"));
    std::fs::write(&file, "[transcripts]\nrotate_bytes = 1\n").unwrap();
    let e = Config::load_transcripts(&file, &none)
        .unwrap_err()
        .to_string();
    assert!(e.contains("transcripts.rotate_bytes"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unset_key_leaves_its_upstream_unconfigured_unless_it_was_the_only_one() {
    let only_anthropic = MapEnvironment::from_pairs([("ANTHROPIC_API_KEY", "sk-a")]);
    let c = Config::parse(&minimal(), &only_anthropic).unwrap();
    assert!(c.upstreams.anthropic.is_some() && c.upstreams.openai.is_none());
    assert_eq!(
        c.upstreams.keyless,
        [crate::Keyless {
            name: "openai".to_owned(),
            key_env: "OPENAI_API_KEY".to_owned()
        }]
    );
    let none = MapEnvironment::from_pairs([]);
    let errors = Config::parse(&minimal(), &none).unwrap_err();
    let paths: Vec<&str> = errors.problems().iter().map(|p| p.path.as_str()).collect();
    assert!(
        paths.contains(&"upstreams.anthropic.api_key_env"),
        "{errors}"
    );
    assert!(paths.contains(&"upstreams.openai.api_key_env"), "{errors}");
    assert!(
        errors.to_string().contains("at least one upstream"),
        "{errors}"
    );
}

#[test]
fn admin_tokens_have_ids_and_roles_and_the_single_token_is_the_editor_admin() {
    let admin = |lines: &str| {
        minimal().replace(
            "listen = \"127.0.0.1:9090\"",
            &format!("listen = \"127.0.0.1:9090\"\n{lines}"),
        )
    };
    let text = admin(&format!(
        "token_sha256 = \"{KEY_HASH}\"\naudit_path = \"/tmp/a.jsonl\"\n[[admin.tokens]]\nid = \"oncall\"\nsha256 = \"{}\"\nrole = \"viewer\"",
        "ab".repeat(32)
    ));
    let c = Config::parse(&text, &env()).unwrap();
    assert_eq!(c.admin.tokens.len(), 2);
    assert_eq!(c.admin.tokens[0].id, "admin");
    assert_eq!(c.admin.tokens[0].role, AdminRole::Editor);
    assert_eq!(c.admin.tokens[1].role, AdminRole::Viewer);
    assert_eq!(c.admin.audit_path, std::path::Path::new("/tmp/a.jsonl"));

    let text = admin(&format!(
        "[[admin.tokens]]\nid = \"x y\"\nsha256 = \"{KEY_HASH}\"\nrole = \"viewer\"\n[[admin.tokens]]\nid = \"b\"\nsha256 = \"zz\"\nrole = \"owner\"\n[[admin.tokens]]\nid = \"c\"\nsha256 = \"{KEY_HASH}\"\nrole = \"root\"\nextra = 1"
    ));
    let errors = Config::parse(&text, &env()).unwrap_err();
    let paths: Vec<&str> = errors.problems().iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "admin.tokens[0].id",
            "admin.tokens[1].sha256",
            "admin.tokens[2]"
        ],
        "{errors}"
    );
}

#[test]
fn a_static_key_gets_a_loggable_id_and_an_empty_one_is_refused() {
    let c = Config::parse(&minimal(), &env()).unwrap();
    assert_eq!(c.auth.keys[0].id, format!("key-{}", &KEY_HASH[..12]));
    let named = minimal().replace("subject = \"ci-bot\"", "subject = \"ci-bot\"\nid = \"ci\"");
    assert_eq!(Config::parse(&named, &env()).unwrap().auth.keys[0].id, "ci");
    let empty = minimal().replace("subject = \"ci-bot\"", "subject = \"ci-bot\"\nid = \" \"");
    assert_reported(
        &Config::parse(&empty, &env()).unwrap_err(),
        &["auth.keys[0].id"],
    );
}

#[test]
fn a_redis_ca_file_is_read_for_rediss_and_its_problems_are_named() {
    let dir = std::env::temp_dir().join(format!("llm-gateway-config-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pem = dir.join("ca.pem");
    std::fs::write(
        &pem,
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let not_pem = dir.join("ca.txt");
    std::fs::write(&not_pem, "hello").unwrap();
    let with = |url: &str, ca: &std::path::Path| {
        format!(
            "{}[quota]\nstore = \"redis\"\nredis_url = \"{url}\"\nredis_ca_file = \"{}\"\n",
            minimal(),
            ca.display()
        )
    };
    let c = Config::parse(&with("rediss://redis.internal:6380", &pem), &env()).unwrap();
    assert!(
        matches!(c.quota.store, QuotaStore::Redis { ca_pem: Some(ref p), .. } if p.starts_with(b"-----BEGIN"))
    );
    for (url, ca) in [
        ("redis://127.0.0.1:6379", pem.as_path()),
        ("rediss://redis.internal:6380", not_pem.as_path()),
        (
            "rediss://redis.internal:6380",
            dir.join("missing.pem").as_path(),
        ),
    ] {
        let problems = Config::parse(&with(url, ca), &env()).unwrap_err();
        assert_reported(&problems, &["quota.redis_ca_file"]);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
