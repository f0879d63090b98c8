//! A real headless Chromium, driven through ChromeDriver (both from Debian's
//! packages; `scripts/test` installs them), and axe-core for accessibility.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};

/// Where page screenshots are written, as test artefacts.
pub fn screenshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ui-screenshots")
}

/// A ChromeDriver process and a session in a fresh headless Chromium;
/// both end when this is dropped.
pub struct Browser {
    pub client: Client,
    _driver: tokio::process::Child,
    _profile: tempfile::TempDir,
}

fn program(variable: &str, default: &str) -> String {
    std::env::var(variable).unwrap_or_else(|_| default.to_owned())
}

impl Browser {
    pub async fn start() -> Self {
        let chromedriver = program("TREATY_TEST_CHROMEDRIVER", "/usr/bin/chromedriver");
        let chromium = program("TREATY_TEST_CHROMIUM", "/usr/bin/chromium");
        for needed in [&chromedriver, &chromium] {
            assert!(
                std::path::Path::new(needed).exists(),
                "{needed} is missing: run the test suite with scripts/test, which installs Debian's chromium and chromium-driver"
            );
        }
        // ChromeDriver takes a port, not a listener: take a free one from the OS.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = tokio::process::Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {chromedriver}: {e}"));
        let url = format!("http://127.0.0.1:{port}");
        wait_until_ready(&url).await;

        let profile = tempfile::tempdir().expect("a profile directory");
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            json!({
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    // This machine has no outside network: Chromium must not try.
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--disable-quic",
                    "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&url)
            .await
            .expect("a ChromeDriver session");
        Self {
            client,
            _driver: driver,
            _profile: profile,
        }
    }

    /// Saves a screenshot of what the browser shows now.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("a screenshot");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot directory");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
    }

    /// The text of the whole page as a person sees it.
    pub async fn text(&self) -> String {
        self.client
            .execute("return document.body.innerText;", vec![])
            .await
            .expect("page text")
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// axe-core's serious and critical findings on the page shown now.
    pub async fn accessibility_violations(&self) -> Vec<Value> {
        let path = std::env::var("TREATY_TEST_AXE_JS").unwrap_or_else(|_| {
            panic!("TREATY_TEST_AXE_JS is not set: run the test suite with scripts/test, which installs axe-core")
        });
        let axe = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read axe-core at {path}: {e}"));
        let script = format!(
            "{axe}\n;const done = arguments[arguments.length - 1];\
             axe.run(document, {{ resultTypes: ['violations'] }})\
               .then(r => done(r.violations.map(v => ({{ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map(n => n.target.join(' ')) }}))))\
               .catch(e => done([{{ id: 'axe-error', impact: 'critical', help: String(e) }}]));"
        );
        let found = self
            .client
            .execute_async(&script, vec![])
            .await
            .expect("axe ran");
        found
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .collect()
    }

    /// The elements that stick out past the window's right edge, if the page
    /// is wider than the window (it should scroll inside tables, not sideways).
    pub async fn horizontal_overflow(&self) -> Option<String> {
        let found = self
            .client
            .execute(
                "const width = document.documentElement.clientWidth;\
                 if (document.documentElement.scrollWidth <= width) return null;\
                 return [...document.querySelectorAll('body *')]\
                   .filter(e => e.getBoundingClientRect().right > width + 1 && !e.closest('.scroll'))\
                   .slice(0, 5).map(e => e.tagName + '.' + e.className + ': ' + (e.textContent || '').slice(0, 60)).join('\\n');",
                vec![],
            )
            .await
            .expect("layout check");
        found.as_str().map(str::to_owned)
    }
}

/// Polls ChromeDriver's status until it accepts sessions (it starts in well under a second).
async fn wait_until_ready(url: &str) {
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(response) = client.get(format!("{url}/status")).send().await
            && let Ok(body) = response.json::<Value>().await
            && body["value"]["ready"] == json!(true)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("ChromeDriver at {url} did not become ready in 10 s");
}
