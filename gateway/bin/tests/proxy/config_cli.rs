//! `check-config` and `serve` on bad configs: every problem at once, exit code 78.

use std::process::Command;

fn temp_config(name: &str, text: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("llm-gateway-{name}-{}.toml", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

const BAD: &str = r#"
[server]
listen = "localhost-ish"
path_prefixes = ["wizard/"]
[admin]
listen = "127.0.0.1:9090"
[upstreams.anthropic]
base_url = "not a url"
api_key_env = "LLM_GATEWAY_TEST_UNSET_KEY"
[upstreams.mistral]
base_url = "https://example.com"
api_key_env = "X"
[[auth.keys]]
sha256 = "the-raw-key"
subject = "ci-bot"
[log]
format = "yaml"
"#;

fn run(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_llm-gateway"));
    cmd.args(args).env_remove("LLM_GATEWAY_TEST_UNSET_KEY");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn check_config_reports_every_problem_with_its_path_and_exits_78() {
    let path = temp_config("bad", BAD);
    let out = run(&["check-config", "--config", path.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(78));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for expected in [
        "server.listen",
        "server.path_prefixes[0]",
        "upstreams.anthropic.base_url",
        "upstreams.anthropic.api_key_env",
        "upstreams.mistral",
        "auth.keys[0].sha256",
        "log.format",
    ] {
        assert!(
            stderr.contains(expected),
            "{expected} missing from:\n{stderr}"
        );
    }
    assert!(stderr.contains("7 problems"), "{stderr}");
}

#[test]
fn overrides_are_named_as_the_source_of_a_problem() {
    let shipped = gateway_testkit::workspace_root().join("config/gateway.toml");
    let out = run(
        &["check-config", "--config", shipped.to_str().unwrap()],
        &[
            ("ANTHROPIC_API_KEY", "k"),
            ("OPENAI_API_KEY", "k"),
            ("GATEWAY__FORWARDING__CONNECT_TIMEOUT_MS", "0"),
        ],
    );
    assert_eq!(out.status.code(), Some(78));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("forwarding.connect_timeout_ms")
            && stderr.contains("GATEWAY__FORWARDING__CONNECT_TIMEOUT_MS"),
        "{stderr}"
    );
    let out = run(
        &["check-config", "--config", shipped.to_str().unwrap()],
        &[("ANTHROPIC_API_KEY", "k"), ("OPENAI_API_KEY", "k")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn serve_refuses_a_bad_config_with_exit_78() {
    let path = temp_config("bad-serve", BAD);
    let out = run(&["serve", "--config", path.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&out.stderr).contains("server.listen"));
}
