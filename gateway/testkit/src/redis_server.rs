//! [`RedisServer`]: a real `redis-server` on a loopback port, for tests (plain, or TLS only
//! with a fresh self-signed certificate). Locally a missing
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
    /// With TLS: the directory of its certificate, key and CA (removed with the server).
    tls: Option<tempfile::TempDir>,
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

    /// Starts redis-server speaking TLS only, on a free loopback port, with a fresh
    /// self-signed certificate for `localhost` (see [`RedisServer::ca_file`]).
    pub async fn start_tls() -> Option<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let dir = tempfile::Builder::new()
            .prefix("llm-gateway-redis-tls-")
            .tempdir()
            .expect("a temporary directory");
        let certified =
            rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("certificate");
        let cert = dir.path().join("redis.crt");
        let key = dir.path().join("redis.key");
        std::fs::write(&cert, certified.cert.pem()).expect("write cert");
        std::fs::write(&key, certified.signing_key.serialize_pem()).expect("write key");
        let args = [
            "--port".to_owned(),
            "0".to_owned(),
            "--tls-port".to_owned(),
            port.to_string(),
            "--tls-cert-file".to_owned(),
            cert.display().to_string(),
            "--tls-key-file".to_owned(),
            key.display().to_string(),
            "--tls-ca-cert-file".to_owned(),
            cert.display().to_string(),
            "--tls-auth-clients".to_owned(),
            "no".to_owned(),
        ];
        let mut server = Self::spawn(port, &args).await?;
        server.tls = Some(dir);
        Some(server)
    }

    /// The CA to trust for a TLS server (its own self-signed certificate).
    pub fn ca_file(&self) -> Option<std::path::PathBuf> {
        self.tls.as_ref().map(|d| d.path().join("redis.crt"))
    }

    /// Starts (or restarts) redis-server on `port`.
    pub async fn start_on(port: u16) -> Option<Self> {
        let args = ["--port".to_owned(), port.to_string()];
        Self::spawn(port, &args).await
    }

    /// Starts redis-server with `args` (its listening and mode arguments) on `port`.
    pub(crate) async fn spawn_with(port: u16, args: &[String]) -> Option<Self> {
        Self::spawn(port, args).await
    }

    async fn spawn(port: u16, listen: &[String]) -> Option<Self> {
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
            .args(listen)
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
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
            tls: None,
        })
    }

    /// `redis://127.0.0.1:PORT`, or `rediss://localhost:PORT` for a TLS server (the name
    /// its certificate is for).
    pub fn url(&self) -> String {
        match self.tls {
            Some(_) => format!("rediss://localhost:{}", self.port),
            None => format!("redis://127.0.0.1:{}", self.port),
        }
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
