//! [`Prometheus`]: a real Prometheus server on a loopback port scraping a gateway's admin
//! listener, and [`promtool`] for the config, rules and exposition-format checks. Locally a
//! missing binary skips the test loudly; under CI it fails (`.ci/run` installs the Debian
//! `prometheus` package, which provides both).

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use tokio::process::{Child, Command};

/// How long Prometheus may take to become ready.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How often a starting server is asked whether it is ready.
const READY_PROBE_INTERVAL: Duration = Duration::from_millis(100);
/// How often the test server scrapes (and how often waits poll it).
pub const SCRAPE_INTERVAL: Duration = Duration::from_secs(1);

/// The path of `binary` when installed; `None` (with a loud message) locally, a panic under
/// CI.
fn required(binary: &str) -> Option<PathBuf> {
    if let Some(path) = crate::redis_server::which(binary) {
        return Some(path);
    }
    let message =
        format!("{binary} not found: install it (apt-get install prometheus; .ci/run does)");
    if std::env::var_os("CI").is_some() {
        panic!("{message}");
    }
    eprintln!("\n!!!!!!!! SKIPPED: {message} !!!!!!!!\n");
    None
}

/// The outcome of one `promtool` run.
#[derive(Debug)]
pub struct PromtoolRun {
    /// Whether it exited 0.
    pub success: bool,
    /// Its stdout and stderr, for assertion messages.
    pub output: String,
}

/// Runs `promtool ARGS…` with `stdin` on its standard input; `None` when promtool is missing
/// outside CI.
pub async fn promtool(args: &[&str], stdin: Option<&str>) -> Option<PromtoolRun> {
    use tokio::io::AsyncWriteExt;
    let bin = required("promtool")?;
    let mut child = Command::new(bin)
        .args(args)
        .current_dir(crate::workspace_root())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn promtool");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        pipe.write_all(text.as_bytes()).await.expect("write stdin");
        drop(pipe);
    }
    let out = tokio::time::timeout(START_TIMEOUT, child.wait_with_output())
        .await
        .expect("promtool finished in time")
        .expect("promtool ran");
    Some(PromtoolRun {
        success: out.status.success(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    })
}

/// A running Prometheus server with its own temporary config and storage; killed on drop.
#[derive(Debug)]
pub struct Prometheus {
    _child: Child,
    addr: SocketAddr,
    dir: PathBuf,
}

impl Prometheus {
    /// Starts Prometheus on a free loopback port, scraping `target` (a gateway's admin
    /// address) every [`SCRAPE_INTERVAL`] as job `llm-gateway`, with `rule_files` loaded.
    /// `None` when Prometheus is not installed outside CI.
    pub async fn start(target: SocketAddr, rule_files: &[&Path]) -> Option<Self> {
        let bin = required("prometheus")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let dir = std::env::temp_dir().join(format!(
            "llm-gateway-prometheus-{}-{port}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("data")).expect("prometheus temp dir");
        let rules: String = rule_files
            .iter()
            .map(|p| format!("  - {}\n", p.display()))
            .collect();
        let secs = SCRAPE_INTERVAL.as_secs();
        let config = format!(
            "global:\n  scrape_interval: {secs}s\n  evaluation_interval: {secs}s\nrule_files:\n{rules}scrape_configs:\n  - job_name: llm-gateway\n    static_configs:\n      - targets: ['{target}']\n"
        );
        std::fs::write(dir.join("prometheus.yml"), config).expect("write config");
        let log = std::fs::File::create(dir.join("prometheus.log")).expect("log file");
        let child = Command::new(bin)
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("spawn prometheus");
        let server = Self {
            _child: child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            dir,
        };
        let ready = crate::poll::poll_every(READY_PROBE_INTERVAL, START_TIMEOUT, || async {
            let probe = crate::http::try_send(crate::http::bodyless(
                http::Method::GET,
                &server.url("/-/ready"),
                &[],
            ));
            match tokio::time::timeout(SCRAPE_INTERVAL, probe).await {
                Ok(Ok(r)) if r.status == 200 => Some(()),
                _ => None,
            }
        })
        .await;
        assert!(
            ready.is_some(),
            "prometheus did not become ready on port {port}; its log:\n{}",
            server.log()
        );
        Some(server)
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Prometheus's own log, for assertion messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default()
    }

    /// Runs an instant query; returns the whole JSON answer (`status`, `data`, or `error`).
    pub async fn query(&self, expr: &str) -> serde_json::Value {
        let q: String = url::form_urlencoded::byte_serialize(expr.as_bytes()).collect();
        let reply = crate::http::send(crate::http::bodyless(
            http::Method::GET,
            &self.url(&format!("/api/v1/query?query={q}")),
            &[],
        ))
        .await;
        serde_json::from_slice(&reply.body).unwrap_or_else(|e| {
            panic!(
                "prometheus answered {}: {e}: {}",
                reply.status,
                reply.text()
            )
        })
    }

    /// The result vector of an instant query that must succeed.
    pub async fn vector(&self, expr: &str) -> Vec<serde_json::Value> {
        let v = self.query(expr).await;
        assert_eq!(v["status"], "success", "{expr}: {v}");
        v["data"]["result"].as_array().cloned().unwrap_or_default()
    }

    /// Polls until `expr` returns at least one sample, up to `timeout`.
    pub async fn wait_for(&self, expr: &str, timeout: Duration) -> bool {
        crate::poll::poll_every(SCRAPE_INTERVAL / 4, timeout, || async {
            (!self.vector(expr).await.is_empty()).then_some(())
        })
        .await
        .is_some()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
