//! The deployment kits' files, checked with the tools that consume them: the systemd unit
//! (`systemd-analyze verify`, and `systemd-analyze security` exposure at most
//! [`SYSTEMD_EXPOSURE_MAX`]), and the unit's `GATEWAY__*` settings accepted by `check-config`.

use std::process::Command;

/// The highest `systemd-analyze security` exposure the unit may have ("OK" is below 2.0).
const SYSTEMD_EXPOSURE_MAX: f64 = 2.0;

fn unit() -> String {
    std::fs::read_to_string(
        gateway_testkit::workspace_root().join("deploy/systemd/llm-gateway.service"),
    )
    .unwrap()
}

#[test]
fn the_systemd_unit_verifies_is_hardened_and_its_settings_are_valid_config() {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        let message = "systemd-analyze not found: install systemd (.ci/run does)";
        assert!(std::env::var_os("CI").is_none(), "{message}");
        eprintln!("\n!!!!!!!! SKIPPED: {message} !!!!!!!!\n");
        return;
    }
    // The unit as installed, but with this build's binary (verify checks ExecStart exists).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("llm-gateway.service");
    std::fs::write(
        &path,
        unit().replace(
            "/usr/local/bin/llm-gateway",
            env!("CARGO_BIN_EXE_llm-gateway"),
        ),
    )
    .unwrap();
    let verify = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        verify.status.success() && verify.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    let security = Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--no-pager"])
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&security.stdout);
    let exposure: f64 = text
        .lines()
        .find_map(|l| l.split("exposure level for llm-gateway.service: ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{text}"));
    assert!(
        exposure <= SYSTEMD_EXPOSURE_MAX,
        "exposure {exposure}:\n{text}"
    );

    // Every Environment= of the unit is a setting check-config accepts.
    let mut check = Command::new(env!("CARGO_BIN_EXE_llm-gateway"));
    check
        .args(["check-config", "--config"])
        .arg(gateway_testkit::workspace_root().join("config/gateway.toml"))
        .env("ANTHROPIC_API_KEY", "sk-test")
        .env("OPENAI_API_KEY", "sk-test");
    let settings: Vec<(String, String)> = unit()
        .lines()
        .filter_map(|l| l.strip_prefix("Environment="))
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    assert!(settings.len() >= 4, "{settings:?}");
    for (k, v) in &settings {
        assert!(k.starts_with("GATEWAY__"), "{k}");
        check.env(k, v);
    }
    let out = check.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
