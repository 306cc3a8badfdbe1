//! [`TestGateway`]: the real binary as a child process.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{ExitStatus, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
    sync::mpsc,
};

/// How long a gateway may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Builds a [`TestGateway`].
#[derive(Debug)]
pub struct TestGatewayBuilder {
    bin: PathBuf,
    config: PathBuf,
    env: Vec<(String, String)>,
}

impl TestGatewayBuilder {
    /// Uses another config file (default `config/gateway.toml`).
    pub fn config(mut self, path: impl Into<PathBuf>) -> Self {
        self.config = path.into();
        self
    }

    /// Sets an environment variable (e.g. a `GATEWAY__*` override or a provider key).
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Points both upstreams at `base_url` with fake provider keys
    /// `sk-ant-provider-test` and `sk-openai-provider-test`.
    pub fn upstream(self, base_url: &str) -> Self {
        self.env("GATEWAY__UPSTREAMS__ANTHROPIC__BASE_URL", base_url)
            .env("GATEWAY__UPSTREAMS__OPENAI__BASE_URL", base_url)
            .env("ANTHROPIC_API_KEY", crate::tools::ANTHROPIC_PROVIDER_KEY)
            .env("OPENAI_API_KEY", crate::tools::OPENAI_PROVIDER_KEY)
    }

    /// Starts the binary on loopback ports chosen by the OS and waits until it listens.
    pub async fn start(self) -> TestGateway {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("serve")
            .arg("--config")
            .arg(&self.config)
            .current_dir(crate::workspace_root())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("GATEWAY__SERVER__LISTEN", "127.0.0.1:0")
            .env("GATEWAY__ADMIN__LISTEN", "127.0.0.1:0")
            .env("GATEWAY__LOG__FORMAT", "json")
            .env(
                "GATEWAY__LOG__LEVEL",
                "debug,hyper=info,h2=info,rustls=info,hyper_util=info",
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // Each gateway records transcripts into its own directory, removed with it.
        let transcripts = tempfile::Builder::new()
            .prefix("llm-gateway-transcripts-")
            .tempdir()
            .expect("a temporary transcript directory");
        cmd.env("GATEWAY__TRANSCRIPTS__DIR", transcripts.path());
        // And its own admin audit log, beside nothing else.
        let state = tempfile::Builder::new()
            .prefix("llm-gateway-state-")
            .tempdir()
            .expect("a temporary state directory");
        cmd.env(
            "GATEWAY__ADMIN__AUDIT_PATH",
            state.path().join("admin-audit.jsonl"),
        );
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn llm-gateway");
        let stderr = child.stderr.take().expect("stderr");
        let logs = Arc::new(Mutex::new(String::new()));
        let logged = Arc::new(tokio::sync::Notify::new());
        let notify = logged.clone();
        let (tx, mut rx) = mpsc::unbounded_channel::<(SocketAddr, SocketAddr)>();
        let sink = logs.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                    && v["message"] == "listening"
                    && let (Some(p), Some(a)) = (v["proxy"].as_str(), v["admin"].as_str())
                    && let (Ok(p), Ok(a)) = (p.parse(), a.parse())
                {
                    let _ = tx.send((p, a));
                }
                {
                    let mut logs = sink.lock().expect("logs");
                    logs.push_str(&line);
                    logs.push('\n');
                }
                notify.notify_waiters();
            }
        });
        match tokio::time::timeout(START_TIMEOUT, rx.recv()).await {
            Ok(Some((proxy, admin))) => TestGateway {
                child,
                proxy,
                admin,
                logs,
                logged,
                transcripts,
                state,
            },
            _ => {
                let _ = child.kill().await;
                let status = child.wait().await.ok();
                panic!(
                    "llm-gateway did not start (exit: {status:?}); logs:\n{}",
                    logs.lock().expect("logs")
                );
            }
        }
    }
}

/// A running gateway process. Killed on drop (`kill_on_drop`).
#[derive(Debug)]
pub struct TestGateway {
    child: Child,
    /// The client-facing address.
    pub proxy: SocketAddr,
    /// The admin address.
    pub admin: SocketAddr,
    logs: Arc<Mutex<String>>,
    logged: Arc<tokio::sync::Notify>,
    transcripts: tempfile::TempDir,
    state: tempfile::TempDir,
}

impl TestGateway {
    /// The directory this gateway records transcripts into (`transcripts.dir`), unless the
    /// test set `GATEWAY__TRANSCRIPTS__DIR` itself. Removed when the gateway is dropped.
    pub fn transcripts_dir(&self) -> &Path {
        self.transcripts.path()
    }

    /// The admin audit log (`admin.audit_path`), unless the test set
    /// `GATEWAY__ADMIN__AUDIT_PATH` itself. Removed when the gateway is dropped.
    pub fn audit_path(&self) -> PathBuf {
        self.state.path().join("admin-audit.jsonl")
    }

    /// A builder for the binary at `bin` (use `env!("CARGO_BIN_EXE_llm-gateway")`).
    pub fn builder(bin: impl AsRef<Path>) -> TestGatewayBuilder {
        TestGatewayBuilder {
            bin: bin.as_ref().to_owned(),
            config: crate::workspace_root().join("config/gateway.toml"),
            env: Vec::new(),
        }
    }

    /// `http://127.0.0.1:PORT{path}` on the client-facing listener.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.proxy)
    }

    /// `http://127.0.0.1:PORT{path}` on the admin listener.
    pub fn admin_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.admin)
    }

    /// Everything the gateway logged so far.
    pub fn logs(&self) -> String {
        self.logs.lock().expect("logs").clone()
    }

    /// How many log lines so far contain `needle`.
    pub fn log_count(&self, needle: &str) -> usize {
        self.logs().lines().filter(|l| l.contains(needle)).count()
    }

    /// Waits until at least `n` log lines contain `needle`; false after `timeout`.
    pub async fn wait_for_log(&self, needle: &str, n: usize, timeout: Duration) -> bool {
        tokio::time::timeout(timeout, async {
            loop {
                let notified = self.logged.notified();
                if self.log_count(needle) >= n {
                    return;
                }
                notified.await;
            }
        })
        .await
        .is_ok()
    }

    /// The value of `series` on the admin listener's `/metrics`: a family name
    /// (`llm_gateway_quota_settlements_total`, summed over its label sets) or one series with
    /// its labels as rendered (`llm_gateway_redactions_total{rule="custom"}`); 0 when absent.
    pub async fn metric(&self, series: &str) -> f64 {
        let reply = crate::http::send(crate::http::bodyless(
            ::http::Method::GET,
            &self.admin_url("/metrics"),
            &[],
        ))
        .await;
        metric_value(&reply.text(), series)
    }

    /// Waits until [`TestGateway::metric`] of `series` reaches `at_least`; returns the value.
    /// Panics after `within`.
    pub async fn wait_for_metric(&self, series: &str, at_least: f64, within: Duration) -> f64 {
        crate::poll::poll_until(&format!("{series} ≥ {at_least}"), within, || async {
            let v = self.metric(series).await;
            (v >= at_least).then_some(v)
        })
        .await
    }

    /// Kills the process at once (SIGKILL): no drain, no settlement.
    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let pid = self.child.id().expect("gateway still running");
        let status = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status()
            .expect("kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits for the process to exit, up to `timeout`.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        tokio::time::timeout(timeout, self.child.wait())
            .await
            .ok()
            .and_then(Result::ok)
    }
}

/// The sum of the samples of `series` (see [`TestGateway::metric`]) in a text exposition.
fn metric_value(text: &str, series: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (name, value) = l.rsplit_once(' ')?;
            let matches = if series.contains('{') {
                name == series
            } else {
                name.split('{').next() == Some(series)
            };
            matches.then(|| value.parse::<f64>().ok()).flatten()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    #[test]
    fn metric_values_are_read_by_family_or_by_series() {
        let text = "# TYPE x counter\nx{a=\"1\"} 2\nx{a=\"2\"} 3\nxy 7\n";
        assert_eq!(super::metric_value(text, "x"), 5.0);
        assert_eq!(super::metric_value(text, "x{a=\"2\"}"), 3.0);
        assert_eq!(super::metric_value(text, "xy"), 7.0);
        assert_eq!(super::metric_value(text, "z"), 0.0);
    }
}
