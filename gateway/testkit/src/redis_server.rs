//! [`RedisServer`]: a real `redis-server` on a loopback port, for tests. Locally a missing
//! binary skips the test loudly; under CI it fails (`.ci/run` installs it).

use std::{process::Stdio, time::Duration};

use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

/// How long redis-server may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A running redis-server; killed on drop.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
}

impl RedisServer {
    /// Starts redis-server on a free loopback port, or returns `None` (with a loud message)
    /// when it is not installed outside CI.
    pub async fn start() -> Option<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        Self::start_on(port).await
    }

    /// Starts (or restarts) redis-server on `port`.
    pub async fn start_on(port: u16) -> Option<Self> {
        if which("redis-server").is_none() {
            let message =
                "redis-server not found: install it (apt-get install redis-server; .ci/run does)";
            if std::env::var_os("CI").is_some() {
                panic!("{message}");
            }
            eprintln!("\n!!!!!!!! SKIPPED: {message} !!!!!!!!\n");
            return None;
        }
        let mut child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn redis-server");
        let stdout = child.stdout.take().expect("stdout");
        let ready = tokio::time::timeout(START_TIMEOUT, async {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("Ready to accept connections") {
                    // Keep draining so the server never blocks on a full pipe.
                    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
                    return true;
                }
            }
            false
        })
        .await;
        assert!(
            matches!(ready, Ok(true)),
            "redis-server did not become ready on port {port}"
        );
        Some(Self {
            child: Some(child),
            port,
        })
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server (for outage tests); `start_on(port)` brings one back.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
            let _ = child.wait().await;
        }
    }
}

/// The path of `binary` on `PATH`.
pub(crate) fn which(binary: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(binary))
            .find(|p| p.is_file())
    })
}
