//! Credential files known by the path of the call that read them: the content of a tool
//! result is judged as the file its call named (`Read` `file_path`, `cat FILE`, a Chat or
//! Responses call's `path` / `command` arguments). Formats that no content rule can see
//! (`.pgpass` fields, `.htpasswd` hashes, bare token files, key bodies read with an offset,
//! token-only `.git-credentials`, random values under plain names in `.env`) must vanish
//! from every call shape and line form; harmless lines and files under other names stay
//! byte for byte. The recall table prints with `--nocapture`.

use serde_json::{Value, json};

use gateway_core::Api;
use gateway_redact::HistoryCache;

use crate::common::bodies::{LineForm, prefix_lines};
use crate::common::tally::Tally;
use crate::common::{B64, BASE62, HEX, Rng, all_strings, redactor};

/// A generated credential file: where it lives, its content, and the values that must go.
struct File {
    family: &'static str,
    path: String,
    content: String,
    secrets: Vec<String>,
    /// Lines that must come out unchanged.
    keep: Vec<&'static str>,
}

fn env_file(rng: &mut Rng) -> File {
    let names = [
        "STRIPE_LIVE",
        "SESSION_SIGNER",
        "MAILER_DSN_ID",
        "WEBHOOK_SIGNING",
        "ALGOLIA_ADMIN",
    ];
    let name = *rng.pick(&names);
    let secret = match rng.below(3) {
        0 => rng.mixed(BASE62, 24),
        1 => rng.mixed(HEX, 40),
        _ => rng.uuid(),
    };
    let quoted = match rng.below(3) {
        0 => secret.clone(),
        1 => format!("\"{secret}\""),
        _ => format!("'{secret}'"),
    };
    File {
        family: "env-file-value",
        path: rng
            .pick(&[
                "/home/dev/app/.env",
                ".env.local",
                "deploy/prod.env",
                ".envrc",
            ])
            .to_string(),
        content: format!(
            "PORT=3000\nNODE_ENV=production\nexport {name}={quoted}\nREGION=eu-west-1\n"
        ),
        secrets: vec![secret],
        keep: vec!["PORT=3000", "NODE_ENV=production", "REGION=eu-west-1"],
    }
}

fn pgpass(rng: &mut Rng) -> File {
    let secret = format!("{}!{}", rng.mixed(BASE62, 10), rng.string(BASE62, 4));
    File {
        family: "pgpass-password",
        path: rng
            .pick(&[
                "/home/dev/.pgpass",
                "~/.pgpass",
                "C:\\Users\\dev\\pgpass.conf",
            ])
            .to_string(),
        content: format!(
            "# hostname:port:database:username:password\ndb.internal:5432:app:app_rw:{secret}\n"
        ),
        secrets: vec![secret],
        keep: vec!["# hostname:port:database:username:password"],
    }
}

fn htpasswd(rng: &mut Rng) -> File {
    let secret = match rng.below(3) {
        0 => format!(
            "$apr1${}${}",
            rng.string(BASE62, 8),
            rng.string(B64, 22).replace('+', ".")
        ),
        1 => format!("$2y$10${}", rng.string(BASE62, 53)),
        _ => format!("{{SHA}}{}=", rng.string(B64, 27)),
    };
    File {
        family: "htpasswd-hash",
        path: rng
            .pick(&["/etc/nginx/.htpasswd", "deploy/admin.htpasswd", "htpasswd"])
            .to_string(),
        content: format!("admin:{secret}\n"),
        secrets: vec![secret],
        keep: vec!["admin:"],
    }
}

fn token_file(rng: &mut Rng) -> File {
    let secret = match rng.below(2) {
        0 => format!("s.{}", rng.mixed(BASE62, 24)),
        _ => rng.mixed(B64, 40).replace(['+', '/'], "x"),
    };
    File {
        family: "token-file",
        path: rng
            .pick(&[
                "/root/.vault-token",
                "/run/secrets/deploy.token",
                "~/.config/tool/token",
            ])
            .to_string(),
        content: format!("{secret}\n"),
        secrets: vec![secret],
        keep: vec![],
    }
}

fn key_body(rng: &mut Rng) -> File {
    let lines: Vec<String> = (0..3).map(|_| rng.mixed(B64, 64)).collect();
    File {
        family: "private-key-body",
        path: rng
            .pick(&[
                "/home/dev/.ssh/id_ed25519",
                "certs/tls.key",
                "AuthKey_7XK2M9.p8",
                "secrets/server.pem",
            ])
            .to_string(),
        content: format!("{}\n-----END PRIVATE KEY-----\n", lines.join("\n")),
        secrets: lines,
        keep: vec!["-----END PRIVATE KEY-----"],
    }
}

fn git_credentials(rng: &mut Rng) -> File {
    let secret = rng.mixed(BASE62, 32);
    File {
        family: "git-credentials-token",
        path: rng
            .pick(&["/home/dev/.git-credentials", "~/.config/git/credentials"])
            .to_string(),
        content: format!("https://{secret}@git.example.com\n"),
        secrets: vec![secret],
        keep: vec!["@git.example.com"],
    }
}

const GENERATORS: &[fn(&mut Rng) -> File] = &[
    env_file,
    pgpass,
    htpasswd,
    token_file,
    key_body,
    git_credentials,
];

/// How the call that read the file is shaped.
#[derive(Clone, Copy, Debug)]
enum Call {
    AnthropicRead,
    AnthropicReadBlocks,
    AnthropicBashCat,
    ChatReadFile,
    ChatShell,
    ResponsesReadFile,
    ResponsesShellArgv,
}

const CALLS: &[Call] = &[
    Call::AnthropicRead,
    Call::AnthropicReadBlocks,
    Call::AnthropicBashCat,
    Call::ChatReadFile,
    Call::ChatShell,
    Call::ResponsesReadFile,
    Call::ResponsesShellArgv,
];

fn anthropic(messages: Value) -> (Value, Api) {
    (
        json!({"model": "claude-sonnet-4-6", "max_tokens": 1024, "messages": messages}),
        Api::AnthropicMessages,
    )
}

/// A body where a call reads `path` and its result is `content`.
fn body(call: Call, path: &str, content: &str) -> (Vec<u8>, Api) {
    let read = json!({"file_path": path});
    let cat = json!({"command": format!("cd /home/dev/app && cat {path}"), "description": "Show the file"});
    let (v, api) = match call {
        Call::AnthropicRead | Call::AnthropicReadBlocks | Call::AnthropicBashCat => {
            let (name, input) = match call {
                Call::AnthropicBashCat => ("Bash", cat),
                _ => ("Read", read),
            };
            let result = match call {
                Call::AnthropicReadBlocks => json!([{"type": "text", "text": content}]),
                _ => json!(content),
            };
            anthropic(json!([
                {"role": "user", "content": "check my config"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_01A", "name": name, "input": input}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01A", "content": result}]}
            ]))
        }
        Call::ChatReadFile | Call::ChatShell => {
            let args = match call {
                Call::ChatShell => json!({"command": format!("cat {path}")}),
                _ => json!({"path": path}),
            };
            (
                json!({"model": "gpt-5", "messages": [
                    {"role": "user", "content": "check my config"},
                    {"role": "assistant", "content": null, "tool_calls": [{"id": "call_9", "type": "function",
                        "function": {"name": "read_file", "arguments": args.to_string()}}]},
                    {"role": "tool", "tool_call_id": "call_9", "content": content}
                ]}),
                Api::OpenAiChat,
            )
        }
        Call::ResponsesReadFile | Call::ResponsesShellArgv => {
            let args = match call {
                Call::ResponsesShellArgv => {
                    json!({"command": ["bash", "-lc", format!("cat {path}")]})
                }
                _ => json!({"file_path": path}),
            };
            (
                json!({"model": "gpt-5", "input": [
                    {"role": "user", "content": "check my config"},
                    {"type": "function_call", "call_id": "fc_3", "name": "shell", "arguments": args.to_string()},
                    {"type": "function_call_output", "call_id": "fc_3", "output": content}
                ]}),
                Api::OpenAiResponses,
            )
        }
    };
    (serde_json::to_vec(&v).unwrap(), api)
}

fn decoded(out: &[u8]) -> String {
    let v: Value = serde_json::from_slice(out).expect("redacted body is valid JSON");
    let mut strings = Vec::new();
    all_strings(&v, &mut strings);
    strings.join("\n")
}

const FORMS: &[(LineForm, &str)] = &[
    (LineForm::Plain, "plain"),
    (LineForm::Arrow, "arrow"),
    (LineForm::Tab, "tab"),
];

#[test]
fn credential_files_named_by_their_call_are_redacted_in_every_call_shape_and_line_form() {
    let mut rng = Rng::new(0xF11E_5A7E);
    let mut tally = Tally::new();
    for round in 0..4 {
        for make in GENERATORS {
            let file = make(&mut rng);
            for call in CALLS {
                for &(form, form_name) in FORMS {
                    for crlf in [false, true] {
                        let mut content =
                            prefix_lines(file.content.trim_end(), form, 1 + round * 7);
                        if crlf {
                            content = content.replace('\n', "\r\n");
                        }
                        let (raw, api) = body(*call, &file.path, &content);
                        let out = redactor()
                            .redact_request(&raw, api, &HistoryCache::disabled())
                            .unwrap();
                        let twice = redactor()
                            .redact_request(out.body(), api, &HistoryCache::disabled())
                            .unwrap();
                        assert!(
                            twice.is_unchanged(),
                            "{} in {call:?}: a second pass changed",
                            file.family
                        );
                        let text = decoded(out.body());
                        let gone = file.secrets.iter().all(|s| !text.contains(s.as_str()));
                        let kept = file.keep.iter().all(|k| text.contains(k));
                        assert!(
                            kept,
                            "{} in {call:?}/{form_name}: a harmless line changed",
                            file.family
                        );
                        let enc = if crlf { "crlf" } else { "lf" };
                        tally.add(file.family, &format!("{call:?}"), enc, form_name, gone);
                    }
                }
            }
        }
    }
    println!(
        "{}",
        tally.render("credential files named by their call's path")
    );
    let low = tally.family.below(100.0);
    assert!(
        low.is_empty(),
        "families below 100 %: {low:?}\n{:?}",
        tally.misses
    );
    assert!(tally.context.below(100.0).is_empty(), "{:?}", tally.misses);
}

#[test]
fn harmless_files_and_other_paths_come_out_byte_identical() {
    let env = "     1→PORT=3000\n     2→NODE_ENV=production\n     3→API_BASE=https://api.example.com/v1\n     4→S3_BUCKET=acme-prod-assets-2024\n     5→APP_VERSION=1.24.3\n     6→NEXT_PUBLIC_GA_ID=G7xK2mQ9pL4vR8tZ3nWc\n     7→STRIPE_PUBLISHABLE_KEY=pk_live_51Hx9Kp2Qw7Lm4Zr8Tb5Nc3Vd\n     8→DATABASE_URL=${DATABASE_URL}\n     9→FEATURE_FLAGS=search,billing\n    10→LOG_LEVEL=debug";
    let cert = "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJ\nRTESMBAGA1UEChMJQmFsdGltb3JlMRMwEQYDVQQLEwpDeWJlclRydXN0MSIwIAYD\n-----END CERTIFICATE-----";
    let build = "BUILD_ID=a3f9c21e7b4d8e6f0a1b2c3d4e5f6071\nCOMMIT=9f8a7c6b5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a";
    let cases: &[(&str, &str)] = &[
        ("/home/dev/app/.env", env),
        (
            "/home/dev/app/.env.example",
            "STRIPE_LIVE=rk9Xq2Lm7Pz4Wc8Vb3Nd\nSESSION_SIGNER=a3f9c21e7b4d8e6f0a1b2c3d4e5f6071",
        ),
        ("certs/server.pem", cert),
        ("build/info.txt", build),
        (
            "README.md",
            "Run `cat .env` to see settings. Token: see the wiki.",
        ),
        (
            "/home/dev/.pgpass",
            "# hostname:port:database:username:password\n",
        ),
    ];
    for (path, content) in cases {
        for call in CALLS {
            let (raw, api) = body(*call, path, content);
            let out = redactor()
                .redact_request(&raw, api, &HistoryCache::disabled())
                .unwrap();
            assert!(out.is_unchanged(), "{path} in {call:?}: {:?}", out.report());
        }
    }
}

#[test]
fn each_result_is_judged_by_its_own_call() {
    // Two parallel reads: `.env` and a build file with the same random-looking values.
    let value = "rk9Xq2Lm7Pz4Wc8Vb3Nd";
    let other = "b7Q2mX9kL4pW8tZ3nR5v";
    let (body, _) = anthropic(json!([
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": "toolu_env", "name": "Read", "input": {"file_path": "/app/.env"}},
            {"type": "tool_use", "id": "toolu_build", "name": "Read", "input": {"file_path": "/app/build.txt"}}
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_build", "content": format!("BUILD_ID={other}")},
            {"type": "tool_result", "tool_use_id": "toolu_env", "content": format!("STRIPE_LIVE={value}")}
        ]},
        {"role": "assistant", "content": [{"type": "text", "text": format!("Your STRIPE_LIVE is {value}.")}]}
    ]));
    let raw = serde_json::to_vec(&body).unwrap();
    let out = redactor()
        .redact_request(&raw, Api::AnthropicMessages, &HistoryCache::disabled())
        .unwrap();
    let text = String::from_utf8(out.body().to_vec()).unwrap();
    assert!(!text.contains(value), "the .env value and its echo go");
    assert!(
        text.contains(&format!("BUILD_ID={other}")),
        "the build file's value stays"
    );
    // Found once in the `.env` result, replaced there and where the assistant echoed it.
    assert_eq!(out.report().count("env-file-value"), 2);
    // The history cache keys on the file kind too: the same request gives the same body.
    let cache = HistoryCache::new(64);
    let padded = format!("STRIPE_LIVE={value}\n{}", "# comment line\n".repeat(64));
    let (long, _) = anthropic(json!([
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Read", "input": {"file_path": "notes.txt"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": padded.clone()}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t2", "name": "Read", "input": {"file_path": ".env"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t2", "content": padded}]}
    ]));
    let long = serde_json::to_vec(&long).unwrap();
    for _ in 0..2 {
        let out = redactor()
            .redact_request(&long, Api::AnthropicMessages, &cache)
            .unwrap();
        assert!(!String::from_utf8_lossy(out.body()).contains(value));
    }
}

#[test]
fn a_write_or_edit_of_a_credential_file_is_judged_as_that_file() {
    let value = "wk7Qp2Lx9Rm4Tz8Lb5Nc";
    let edit = "ab3Xk9Lm2Pq7Rt4Vw8Yz";
    let (body, _) = anthropic(json!([
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": "w1", "name": "Write", "input": {"file_path": "/app/.env.local", "content": format!("PORT=3000\nACME_INGEST={value}\n")}},
            {"type": "tool_use", "id": "e1", "name": "Edit", "input": {"file_path": "/app/.env", "old_string": "ACME_INGEST=", "new_string": format!("ACME_INGEST={edit}")}},
            {"type": "tool_use", "id": "w2", "name": "Write", "input": {"file_path": "/app/src/build.txt", "content": "BUILD_ID=b7Q2mX9kL4pW8tZ3nR5v"}}
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "w1", "content": "File created successfully at: /app/.env.local"},
            {"type": "tool_result", "tool_use_id": "e1", "content": "The file /app/.env has been updated."},
            {"type": "tool_result", "tool_use_id": "w2", "content": "File created successfully at: /app/src/build.txt"}
        ]}
    ]));
    let raw = serde_json::to_vec(&body).unwrap();
    let out = redactor()
        .redact_request(&raw, Api::AnthropicMessages, &HistoryCache::disabled())
        .unwrap();
    let text = String::from_utf8(out.body().to_vec()).unwrap();
    assert!(!text.contains(value) && !text.contains(edit), "{text}");
    assert!(text.contains("PORT=3000") && text.contains("BUILD_ID=b7Q2mX9kL4pW8tZ3nR5v"));
    assert!(text.contains("\"old_string\":\"ACME_INGEST=\""));
}
