//! A headless chromium for one test: chromedriver on a free loopback port, a fresh
//! profile, and a WebDriver session with helpers that screenshot every step and fail with
//! the page's text and where the screenshots are.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// How long a page may take to show what a step waits for.
const STEP_TIMEOUT: Duration = Duration::from_secs(20);

/// Where a test's screenshots go: `target/browser-screenshots/<test>`.
pub(crate) fn screenshot_dir(test: &str) -> PathBuf {
    // CARGO_TARGET_TMPDIR is `target/tmp`.
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap_or(Path::new(env!("CARGO_TARGET_TMPDIR")))
        .join("browser-screenshots")
        .join(test)
}

pub(crate) struct Browser {
    client: Client,
    driver: Child,
    base: String,
    shots: PathBuf,
    step: usize,
    _profile: tempfile::TempDir,
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a free loopback port");
    listener.local_addr().expect("its address").port()
}

impl Browser {
    /// Starts chromedriver and a headless chromium for `test`, on the node at `base`.
    pub(crate) async fn start(test: &str, base: &str) -> Browser {
        for (path, package) in [(CHROMEDRIVER, "chromium-driver"), (CHROMIUM, "chromium")] {
            assert!(
                Path::new(path).exists(),
                "{path} is missing: the browser tests need Debian's chromium and chromedriver. \
                 Install them with `apt-get update && apt-get install -y chromium chromium-driver` \
                 (package {package}); .ci/run does this on CI."
            );
        }
        let shots = screenshot_dir(test);
        // A fresh folder per run, so that what is there belongs to this run.
        let _ = std::fs::remove_dir_all(&shots);
        std::fs::create_dir_all(&shots).expect("creating the screenshot folder");
        let log = std::fs::File::create(shots.join("chromedriver.log")).expect("chromedriver log");
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("starting chromedriver");
        let profile = tempfile::Builder::new()
            .prefix("techhire-chromium-")
            .tempdir()
            .expect("a profile folder");
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--no-first-run",
                    "--disable-dev-shm-usage",
                    "--window-size=1280,900",
                    "--lang=en-US",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => break c,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!(
                    "no WebDriver session from chromedriver on {url} within 30 s: {e}; its log is in {}",
                    shots.display()
                ),
            }
        };
        Browser {
            client,
            driver,
            base: base.trim_end_matches('/').to_owned(),
            shots,
            step: 0,
            _profile: profile,
        }
    }

    /// Says where the screenshots are, for failure messages.
    pub(crate) fn where_shots(&self) -> String {
        format!("screenshots of every step so far: {}", self.shots.display())
    }

    pub(crate) async fn goto(&mut self, path: &str) {
        let url = format!("{}{path}", self.base);
        if let Err(e) = self.client.goto(&url).await {
            self.fail(&format!("could not open {url}: {e}")).await;
        }
    }

    /// Saves a screenshot of the page as `NN-<name>.png`.
    pub(crate) async fn shot(&mut self, name: &str) {
        self.step += 1;
        let file = self.shots.join(format!("{:02}-{name}.png", self.step));
        match self.client.screenshot().await {
            Ok(png) => std::fs::write(&file, png).expect("writing a screenshot"),
            Err(e) => panic!("taking screenshot {}: {e}", file.display()),
        }
    }

    /// Panics with the page's address and text, after a last screenshot.
    pub(crate) async fn fail(&mut self, why: &str) -> ! {
        self.shot("failed").await;
        let url = self
            .client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default();
        let text = self.text().await;
        panic!(
            "{why}\n  at {url}\n  {}\n--- page text ---\n{text}",
            self.where_shots()
        );
    }

    /// The visible text of the page.
    pub(crate) async fn text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// The page's HTML.
    pub(crate) async fn source(&self) -> String {
        self.client.source().await.unwrap_or_default()
    }

    /// The path (and query) of the page shown.
    pub(crate) async fn path(&self) -> String {
        match self.client.current_url().await {
            Ok(u) => match u.query() {
                Some(q) => format!("{}?{q}", u.path()),
                None => u.path().to_owned(),
            },
            Err(_) => String::new(),
        }
    }

    /// Waits (bounded) until the page's text contains `needle`.
    pub(crate) async fn expect_text(&mut self, needle: &str) {
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            if self.text().await.contains(needle) {
                return;
            }
            if Instant::now() >= deadline {
                self.fail(&format!("the page never showed {needle:?}"))
                    .await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits (bounded) until the page's path starts with `prefix`.
    pub(crate) async fn expect_path(&mut self, prefix: &str) {
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            if self.path().await.starts_with(prefix) {
                return;
            }
            if Instant::now() >= deadline {
                self.fail(&format!("the browser never reached {prefix}"))
                    .await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub(crate) async fn find(&mut self, css: &str) -> Element {
        match self.client.find(Locator::Css(css)).await {
            Ok(e) => e,
            Err(e) => self.fail(&format!("no element {css}: {e}")).await,
        }
    }

    /// Types `value` into the input or textarea named `name` (after clearing it).
    pub(crate) async fn fill(&mut self, name: &str, value: &str) {
        self.fill_at(&format!(r#"[name="{name}"]"#), value).await;
    }

    /// Types `value` into the field `css` finds (after clearing it).
    pub(crate) async fn fill_at(&mut self, css: &str, value: &str) {
        let name = css;
        let field = self.find(css).await;
        if let Err(e) = field.clear().await {
            self.fail(&format!("clearing {name}: {e}")).await;
        }
        if let Err(e) = field.send_keys(value).await {
            self.fail(&format!("typing into {name}: {e}")).await;
        }
    }

    /// Sets a date input (typing into one depends on the browser's locale).
    pub(crate) async fn set_date(&mut self, name: &str, iso: &str) {
        let css = format!(r#"[name="{name}"]"#);
        let field = self.find(&css).await;
        let arg = serde_json::to_value(&field).expect("an element as JSON");
        if let Err(e) = self
            .client
            .execute("arguments[0].value = arguments[1];", vec![arg, iso.into()])
            .await
        {
            self.fail(&format!("setting {name}: {e}")).await;
        }
    }

    /// Chooses `value` in the select named `name`.
    pub(crate) async fn choose(&mut self, name: &str, value: &str) {
        let css = format!(r#"select[name="{name}"] option[value="{value}"]"#);
        self.click(&css).await;
    }

    pub(crate) async fn click(&mut self, css: &str) {
        let el = self.find(css).await;
        if let Err(e) = el.click().await {
            self.fail(&format!("clicking {css}: {e}")).await;
        }
    }

    /// Runs a script and returns its value (for measurements such as the page width).
    pub(crate) async fn eval(&mut self, script: &str) -> serde_json::Value {
        match self.client.execute(script, Vec::new()).await {
            Ok(v) => v,
            Err(e) => self.fail(&format!("running {script}: {e}")).await,
        }
    }

    pub(crate) async fn window(&mut self, width: u32, height: u32) {
        if let Err(e) = self.client.set_window_size(width, height).await {
            self.fail(&format!("resizing the window: {e}")).await;
        }
    }

    /// The value of the browser's cookie `name` for the node.
    pub(crate) async fn cookie(&mut self, name: &str) -> String {
        match self.client.get_named_cookie(name).await {
            Ok(c) => c.value().to_owned(),
            Err(e) => self.fail(&format!("no cookie {name}: {e}")).await,
        }
    }

    /// Whether a JavaScript dialog (`alert`) is open.
    pub(crate) async fn alert_open(&mut self) -> bool {
        self.client.get_alert_text().await.is_ok()
    }

    /// Signs in through the form and waits for the role's landing page.
    pub(crate) async fn sign_in(&mut self, username: &str, password: &str, lands_on: &str) {
        self.goto("/sign-in").await;
        self.fill("username", username).await;
        self.fill("password", password).await;
        self.click("form[action='/sign-in'] button[type=submit]")
            .await;
        self.expect_path(lands_on).await;
    }

    pub(crate) async fn sign_out(&mut self) {
        self.click("form[action='/sign-out'] button").await;
        self.expect_text("You have signed out.").await;
    }

    pub(crate) async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // chromedriver takes its chromium down with it.
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
