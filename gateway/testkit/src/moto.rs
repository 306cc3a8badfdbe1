//! [`MotoServer`]: moto's S3-compatible server on a loopback port, for the S3 transcript sink
//! tests. Installed by `scripts/setup-clients` into the client virtualenv; locally a missing
//! server skips the test loudly, under CI it fails (`.ci/run` runs setup-clients).
//!
//! Blocking on purpose (std process and sockets): the sink under test blocks on its own
//! runtime, so its tests are plain `#[test]`s; from async tests the waits are short.
//! moto keeps everything in memory: a restarted server has no buckets.

use std::{
    io::{Read, Write},
    net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

/// How long moto_server may take to answer (it is a Python process: ~1 s).
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Wait between readiness probes.
const PROBE_INTERVAL: Duration = Duration::from_millis(50);
/// Bound on one control request (readiness, bucket creation).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// The credentials tests give the S3 client (moto accepts any).
pub const ACCESS_KEY_ID: &str = "testing-access-key";
/// See [`ACCESS_KEY_ID`].
pub const SECRET_ACCESS_KEY: &str = "testing-secret-key";
/// The region tests use.
pub const REGION: &str = "us-east-1";

/// A running moto_server; killed on drop.
#[derive(Debug)]
pub struct MotoServer {
    bin: PathBuf,
    child: Option<Child>,
    port: u16,
}

impl MotoServer {
    /// Starts moto_server on a free loopback port, or returns `None` (with a loud message)
    /// when it is not installed outside CI.
    pub fn start() -> Option<Self> {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let mut server = Self {
            bin: Self::locate()?,
            child: None,
            port,
        };
        server.restart();
        Some(server)
    }

    fn locate() -> Option<PathBuf> {
        let bin = crate::workspace_root().join("target/clients/venv/bin/moto_server");
        if bin.is_file() {
            return Some(bin);
        }
        let message = "moto_server not found; run scripts/setup-clients";
        if std::env::var_os("CI").is_some() {
            panic!("{message} (expected at {})", bin.display());
        }
        eprintln!("\n!!!!!!!! SKIPPED: {message} !!!!!!!!\n");
        None
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server (for outage tests): connections are refused until [`Self::restart`].
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port (empty: moto is in memory) and waits until
    /// it answers.
    pub fn restart(&mut self) {
        self.kill();
        let child = Command::new(&self.bin)
            .args(["-H", "127.0.0.1", "-p", &self.port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn moto_server");
        self.child = Some(child);
        let port = self.port;
        let answered = crate::poll::poll_blocking(PROBE_INTERVAL, START_TIMEOUT, || {
            if let Ok(200) = self.request("GET", "/moto-api/") {
                return Some(());
            }
            if let Some(child) = &mut self.child
                && let Ok(Some(exit)) = child.try_wait()
            {
                panic!("moto_server exited on port {port}: {exit}");
            }
            None
        });
        assert!(
            answered.is_some(),
            "moto_server did not answer on port {port} within {START_TIMEOUT:?}"
        );
    }

    /// Creates `bucket` (S3 bucket naming rules: 3-63 lowercase letters, digits, `-`).
    pub fn create_bucket(&self, bucket: &str) {
        let status = self
            .request("PUT", &format!("/{bucket}"))
            .expect("create bucket");
        assert_eq!(status, 200, "moto refused to create bucket {bucket}");
    }

    /// One unsigned HTTP/1.1 request (moto accepts them); the response status.
    fn request(&self, method: &str, path: &str) -> std::io::Result<u16> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let mut stream = TcpStream::connect_timeout(&addr, REQUEST_TIMEOUT)?;
        stream.set_read_timeout(Some(REQUEST_TIMEOUT))?;
        stream.set_write_timeout(Some(REQUEST_TIMEOUT))?;
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\n\
             Connection: close\r\n\r\n",
            self.port
        )?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response)?;
        let head = String::from_utf8_lossy(&response);
        head.split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("not an HTTP response: {head:.80}")))
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        self.kill();
    }
}
