//! `scripts/demo`, as the README runs it: the mock provider and the gateway in front of it,
//! reached by the real anthropic SDK with the README's token.

use std::{process::Stdio, time::Duration};

use tokio::io::{AsyncBufReadExt, BufReader};

use super::clients::{REPLY, sdk_call};

/// How long the demo may take to listen.
const DEMO_START: Duration = Duration::from_secs(20);

#[tokio::test]
async fn the_demo_serves_the_anthropic_sdk_without_a_provider_key() {
    let root = gateway_testkit::workspace_root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(
        readme.contains("\nscripts/demo\n"),
        "the README runs scripts/demo"
    );
    assert!(readme.contains("ANTHROPIC_AUTH_TOKEN=gw-dev-token claude"));
    let Some(python) = gateway_testkit::tools::python() else {
        return;
    };
    // The binaries this test run built (the workspace suite builds mock-provider's too).
    let gateway = std::path::PathBuf::from(env!("CARGO_BIN_EXE_llm-gateway"));
    let bin_dir = gateway.parent().unwrap().to_owned();
    assert!(
        bin_dir.join("mock-provider").is_file(),
        "build the mock provider first: cargo build -p mock-provider (scripts/test does)"
    );
    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let mut demo = tokio::process::Command::new(root.join("scripts/demo"))
        .env("DEMO_BIN_DIR", &bin_dir)
        .env("DEMO_MOCK_PORT", free().to_string())
        .env("GATEWAY__SERVER__LISTEN", "127.0.0.1:0")
        .env("GATEWAY__ADMIN__LISTEN", "127.0.0.1:0")
        .env("GATEWAY__LOG__FORMAT", "json")
        .env(
            "GATEWAY__TRANSCRIPTS__DIR",
            tempfile::tempdir().unwrap().keep().to_str().unwrap(),
        )
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("OPENAI_API_KEY")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = demo.id().unwrap();
    let mut lines = BufReader::new(demo.stderr.take().unwrap()).lines();
    let proxy = tokio::time::timeout(DEMO_START, async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                && v["message"] == "listening"
            {
                return v["proxy"].as_str().map(str::to_owned);
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
    .expect("the demo's gateway listens");
    // Keep draining the log so the gateway never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let base = format!("http://{proxy}");
    let out = tokio::task::spawn_blocking(move || sdk_call(&python, &base, "anthropic", "json"))
        .await
        .unwrap();
    assert_eq!(out["text"], REPLY, "{out}");
    // SIGTERM to the script: the gateway drains and both processes end.
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let ended = tokio::time::timeout(DEMO_START, demo.wait()).await;
    assert!(ended.is_ok(), "the demo stops on SIGTERM");
}
