//! A real Chromium for the admin page tests, driven over WebDriver: Debian's `chromedriver`
//! on a port it picks itself (`--port=0`, read back from its first lines), headless Chromium
//! without the sandbox (tests run as root) and without background networking, a
//! `fantoccini` client over plain HTTP on loopback, screenshots under
//! `target/admin-ui-screenshots/`, and the browser console (CSP violations are logged there
//! as "Refused to …").
//!
//! When `chromium` or `chromedriver` is not installed, [`Browser::start`] says so loudly on
//! stderr and the test skips (CI installs both: `.ci/run`).

use std::{path::PathBuf, process::Stdio, time::Duration};

use fantoccini::{Client, ClientBuilder, wd::WebDriverCompatibleCommand};
use hyper_util::client::legacy::connect::HttpConnector;
use tokio::io::{AsyncBufReadExt, BufReader};

/// How long chromedriver may take to say which port it listens on.
const DRIVER_START_WAIT: Duration = Duration::from_secs(20);
/// The browser window, so screenshots show a whole screen.
const WINDOW: &str = "--window-size=1280,1100";

/// A browser session and the chromedriver serving it (killed when dropped).
pub(super) struct Browser {
    pub(super) client: Client,
    driver: tokio::process::Child,
    shots: PathBuf,
    taken: usize,
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

impl Browser {
    /// Chromium under WebDriver, or `None` (said on stderr) when it is not installed.
    pub(super) async fn start() -> Option<Self> {
        let driver = on_path("chromedriver");
        let chromium = ["chromium", "chromium-browser", "google-chrome"]
            .iter()
            .find_map(|n| on_path(n));
        let (Some(driver), Some(chromium)) = (driver, chromium) else {
            eprintln!(
                "\n*** SKIPPED: the admin page browser test needs `chromium` and `chromedriver` on PATH \
                 (Debian: apt-get install chromium chromium-driver; CI installs them in .ci/run) ***\n"
            );
            return None;
        };
        let mut child = tokio::process::Command::new(&driver)
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            // Its own process group, so the browsers it starts end with it (see Drop).
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let stdout = child.stdout.take().expect("chromedriver's stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let port = tokio::time::timeout(DRIVER_START_WAIT, async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(rest) = line.split("started successfully on port ").nth(1) {
                    return rest.trim_end_matches('.').trim().parse::<u16>().ok();
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .expect("chromedriver says which port it listens on");
        // Keep reading, so chromedriver never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".to_owned(),
            serde_json::json!({
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--disable-extensions", WINDOW,
                ],
            }),
        );
        caps.insert(
            "goog:loggingPrefs".to_owned(),
            serde_json::json!({ "browser": "ALL" }),
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a Chromium session over WebDriver");
        let shots = gateway_testkit::workspace_root().join("target/admin-ui-screenshots");
        std::fs::create_dir_all(&shots).expect("the screenshot directory");
        Some(Self {
            client,
            driver: child,
            shots,
            taken: 0,
        })
    }

    /// Saves the current screen as `NN-name.png`.
    pub(super) async fn shot(&mut self, name: &str) {
        self.taken += 1;
        let png = self.client.screenshot().await.expect("a screenshot");
        let path = self.shots.join(format!("{:02}-{name}.png", self.taken));
        std::fs::write(&path, png).expect("the screenshot is written");
    }

    /// The browser console's messages since the last call, or `None` when the driver does
    /// not expose them.
    pub(super) async fn console(&self) -> Option<Vec<String>> {
        let v = self.client.issue_cmd(BrowserLog).await.ok()?;
        Some(
            v.as_array()?
                .iter()
                .filter_map(|e| e["message"].as_str().map(str::to_owned))
                .collect(),
        )
    }

    pub(super) async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    /// Ends chromedriver and the Chromium it started, also when the test failed half-way
    /// (a closed session has ended Chromium already).
    fn drop(&mut self) {
        if let Some(pid) = self.driver.id() {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// chromedriver's log endpoint (`POST /session/{id}/se/log`, type `browser`).
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.to_owned()))
    }
}
