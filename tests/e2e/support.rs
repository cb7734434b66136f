//! Helpers for the end-to-end tests: run the real `techhire` binary in a temporary data
//! folder, learn its port and first token from its output, talk to it over HTTP, stop it.
//!
//! Every wait is bounded and panics with what the process printed, so a failing test says
//! why. Output is read on threads (a child blocked on a full pipe would look like a hang).

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long a node may take to start listening, or to exit once told to.
pub(crate) const PROCESS_TIMEOUT: Duration = Duration::from_secs(60);

/// The line printed before the first operator token (which is on the next line).
const TOKEN_HEADING: &str = "First operator token";

/// `techhire <args>`, without any `TECHHIRE_*` setting inherited from the caller.
pub(crate) fn techhire(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_techhire"));
    cmd.args(args);
    for var in [
        "TECHHIRE_DATA_DIR",
        "TECHHIRE_HTTP_LISTEN",
        "TECHHIRE_CONFIG",
        "TECHHIRE_LOG",
        "TECHHIRE_LOG_FORMAT",
        "TECHHIRE_CACHE_CAPACITY_MB",
        "TECHHIRE_VERIFY_ON_START",
        "TECHHIRE_SKILLS_EXTENSION",
        "TECHHIRE_P2P_LISTEN",
        "TECHHIRE_TOKEN",
        "TECHHIRE_HTTP_HEADER_READ_TIMEOUT_SECS",
        "TECHHIRE_HTTP_BODY_READ_TIMEOUT_SECS",
        "TECHHIRE_HTTP_KEEP_ALIVE_TIMEOUT_SECS",
        "TECHHIRE_HTTP_MAX_CONNECTIONS",
        "TECHHIRE_HTTP_SHUTDOWN_GRACE_SECS",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// A fresh temporary folder; a node's data folder is usually `tmp.path().join("node")`.
pub(crate) fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("techhire-e2e-")
        .tempdir()
        .expect("creating a temporary folder")
}

/// What a finished command printed.
pub(crate) struct Finished {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Finished {
    pub(crate) fn describe(&self) -> String {
        format!(
            "status: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status, self.stdout, self.stderr
        )
    }

    pub(crate) fn assert_success(&self) -> &Finished {
        assert!(
            self.status.success(),
            "expected success\n{}",
            self.describe()
        );
        self
    }

    /// Asserts a non-zero exit (not a crash by signal, not a panic) and returns stderr.
    pub(crate) fn assert_failure(&self) -> &str {
        assert_eq!(
            self.status.code(),
            Some(1),
            "expected a clean failure (exit status 1)\n{}",
            self.describe()
        );
        &self.stderr
    }

    /// The last non-empty line of stdout.
    pub(crate) fn last_line(&self) -> &str {
        self.stdout
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or_else(|| panic!("no output\n{}", self.describe()))
            .trim()
    }

    /// The operator token printed by `init` (or by `run` on an empty folder).
    pub(crate) fn first_token(&self) -> String {
        let lines: Vec<String> = self.stdout.lines().map(str::to_string).collect();
        token_after_heading(&lines).unwrap_or_else(|| {
            panic!(
                "no token after a {TOKEN_HEADING:?} line\n{}",
                self.describe()
            )
        })
    }
}

fn token_after_heading(lines: &[String]) -> Option<String> {
    let at = lines.iter().position(|l| l.starts_with(TOKEN_HEADING))?;
    lines.get(at + 1).map(|t| t.trim().to_string())
}

/// Runs a short command (init, token, check) to completion.
pub(crate) fn run(args: &[&str]) -> Finished {
    finish(techhire(args))
}

/// Runs `cmd` to completion.
pub(crate) fn finish(mut cmd: Command) -> Finished {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .expect("running the techhire binary");
    Finished {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Creates a node in `dir` and returns its first operator token.
pub(crate) fn init(dir: &Path) -> String {
    let out = run(&[
        "init",
        "--data-dir",
        path_str(dir),
        "--community",
        "Birmingham, AL",
        "--region",
        "AL",
    ]);
    out.assert_success();
    out.first_token()
}

pub(crate) fn path_str(p: &Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}

/// Lines of one output stream of a child, collected by a thread as they arrive.
#[derive(Clone, Default)]
struct Captured {
    inner: Arc<(Mutex<CapturedState>, Condvar)>,
}

#[derive(Default)]
struct CapturedState {
    lines: Vec<String>,
    /// The stream reached its end (the process closed it, usually by exiting).
    closed: bool,
}

impl Captured {
    fn read_from(stream: impl Read + Send + 'static) -> Captured {
        let captured = Captured::default();
        let writer = captured.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stream);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let line = String::from_utf8_lossy(&buf).trim_end().to_string();
                        let (state, changed) = &*writer.inner;
                        state.lock().unwrap().lines.push(line);
                        changed.notify_all();
                    }
                }
            }
            let (state, changed) = &*writer.inner;
            state.lock().unwrap().closed = true;
            changed.notify_all();
        });
        captured
    }

    /// Waits until `found` finds something in the lines so far, or the stream closes, or
    /// `timeout` passes. `Ok` with what was found; `Err(true)` if the stream closed first.
    fn wait_for<T>(
        &self,
        timeout: Duration,
        found: impl Fn(&[String]) -> Option<T>,
    ) -> Result<T, bool> {
        let deadline = Instant::now() + timeout;
        let (state, changed) = &*self.inner;
        let mut guard = state.lock().unwrap();
        loop {
            if let Some(t) = found(&guard.lines) {
                return Ok(t);
            }
            if guard.closed {
                return Err(true);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(false);
            }
            guard = changed.wait_timeout(guard, left).unwrap().0;
        }
    }

    /// Waits (bounded) for the stream to close, then returns everything it carried.
    fn text_at_end(&self, timeout: Duration) -> String {
        let _ = self.wait_for(timeout, |_| None::<()>);
        self.text()
    }

    fn text(&self) -> String {
        let (state, _) = &*self.inner;
        state.lock().unwrap().lines.join("\n")
    }

    fn lines(&self) -> Vec<String> {
        let (state, _) = &*self.inner;
        state.lock().unwrap().lines.clone()
    }
}

/// `cmd` run under `prlimit --nofile=limit:limit` (util-linux), so that the process starts
/// with that open file limit, soft and hard (the node cannot raise it). Its settings and
/// environment are kept; its process id stays the node's (prlimit execs it).
pub(crate) fn with_fd_limit(cmd: &Command, limit: u64) -> Command {
    let mut limited = Command::new("prlimit");
    limited
        .arg(format!("--nofile={limit}:{limit}"))
        .arg("--")
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (key, value) in cmd.get_envs() {
        match value {
            Some(value) => limited.env(key, value),
            None => limited.env_remove(key),
        };
    }
    limited
}

/// A running `techhire run`, killed (SIGKILL) when dropped if it still runs.
pub(crate) struct Node {
    child: Child,
    /// Where it listens, from its `Listening on http://…` line.
    pub(crate) addr: SocketAddr,
    stdout: Captured,
    stderr: Captured,
}

impl Node {
    /// `techhire run --data-dir dir --http-listen 127.0.0.1:0`; panics unless it serves.
    pub(crate) fn start(dir: &Path) -> Node {
        Node::spawn(Node::command(dir)).unwrap_or_else(|f| {
            panic!(
                "the node in {} did not start\n{}",
                dir.display(),
                f.describe()
            )
        })
    }

    /// The command [`Node::start`] runs, for callers that add settings to it.
    pub(crate) fn command(dir: &Path) -> Command {
        techhire(&[
            "run",
            "--data-dir",
            path_str(dir),
            "--http-listen",
            "127.0.0.1:0",
        ])
    }

    /// Spawns `cmd` (a `techhire run …`) and waits until it prints the
    /// address it listens on. `Err` with its output if it exits first.
    pub(crate) fn spawn(mut cmd: Command) -> Result<Node, Finished> {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning the techhire binary");
        let stdout = Captured::read_from(child.stdout.take().expect("piped stdout"));
        let stderr = Captured::read_from(child.stderr.take().expect("piped stderr"));
        let listening = stdout.wait_for(PROCESS_TIMEOUT, |lines| {
            lines.iter().find_map(|l| {
                l.strip_prefix("Listening on http://")
                    .map(|a| a.trim().parse::<SocketAddr>().expect("a socket address"))
            })
        });
        match listening {
            Ok(addr) => Ok(Node {
                child,
                addr,
                stdout,
                stderr,
            }),
            Err(true) => {
                let status = wait_with_timeout(&mut child, PROCESS_TIMEOUT);
                Err(Finished {
                    status,
                    stdout: stdout.text_at_end(PROCESS_TIMEOUT),
                    stderr: stderr.text_at_end(PROCESS_TIMEOUT),
                })
            }
            Err(false) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the node did not print its address within {PROCESS_TIMEOUT:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                    stdout.text(),
                    stderr.text()
                );
            }
        }
    }

    /// The operator token printed when this `run` created the node.
    pub(crate) fn first_token(&self) -> String {
        token_after_heading(&self.stdout.lines()).unwrap_or_else(|| {
            panic!(
                "no token after a {TOKEN_HEADING:?} line\n--- stdout ---\n{}",
                self.stdout.text()
            )
        })
    }

    pub(crate) fn stdout(&self) -> String {
        self.stdout.text()
    }

    /// What the node has logged so far.
    pub(crate) fn stderr(&self) -> String {
        self.stderr.text()
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub(crate) fn api(&self, token: &str) -> Api {
        Api {
            client: reqwest::Client::new(),
            base: self.url(""),
            token: token.to_string(),
        }
    }

    /// Asks the node to stop (SIGTERM, through the system's `kill`) and waits for it.
    pub(crate) fn terminate(mut self) -> Finished {
        // The node installs its SIGTERM handler in a task the server spawns, so a moment
        // after it prints its address (even after it answered requests); a SIGTERM before
        // that kills it with the default action. Reported; until fixed, wait for it.
        self.wait_until_sigterm_is_handled();
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("running kill(1)");
        assert!(sent.success(), "kill -TERM {pid} failed");
        self.wait_exit()
    }

    /// Waits (bounded) until the process has a handler for SIGTERM, read from the
    /// `SigCgt` mask in `/proc/<pid>/status`.
    fn wait_until_sigterm_is_handled(&mut self) {
        const SIGTERM_BIT: u64 = 1 << (15 - 1);
        let status_file = format!("/proc/{}/status", self.child.id());
        let deadline = Instant::now() + PROCESS_TIMEOUT;
        loop {
            let caught = std::fs::read_to_string(&status_file)
                .ok()
                .and_then(|s| {
                    s.lines()
                        .find_map(|l| l.strip_prefix("SigCgt:"))
                        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
                })
                .unwrap_or(0);
            if caught & SIGTERM_BIT != 0 {
                return;
            }
            if Instant::now() >= deadline {
                panic!(
                    "the node on {} installed no SIGTERM handler within {PROCESS_TIMEOUT:?}\n--- stderr ---\n{}",
                    self.addr,
                    self.stderr.text()
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Kills the node at once (SIGKILL): no shutdown code runs.
    pub(crate) fn kill(mut self) -> Finished {
        self.child.kill().expect("sending SIGKILL");
        self.wait_exit()
    }

    fn wait_exit(&mut self) -> Finished {
        let status = wait_with_timeout(&mut self.child, PROCESS_TIMEOUT);
        Finished {
            status,
            stdout: self.stdout.text_at_end(PROCESS_TIMEOUT),
            stderr: self.stderr.text_at_end(PROCESS_TIMEOUT),
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Waits for `child` to exit, polling at most `timeout`; kills it and panics if it does not.
fn wait_with_timeout(child: &mut Child, timeout: Duration) -> ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("waiting for the node") {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("process {} did not exit within {timeout:?}", child.id());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A client of one node's API with one token.
#[derive(Clone)]
pub(crate) struct Api {
    pub(crate) client: reqwest::Client,
    pub(crate) base: String,
    pub(crate) token: String,
}

impl Api {
    pub(crate) async fn get(&self, path: &str) -> (u16, Value) {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        into_parts(resp).await
    }

    pub(crate) async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.try_post(path, body)
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    /// A request of any method, with an optional JSON body.
    pub(crate) async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let resp = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        into_parts(resp).await
    }

    /// A POST that may fail in transport (the node may be killed meanwhile).
    pub(crate) async fn try_post(
        &self,
        path: &str,
        body: &Value,
    ) -> Result<(u16, Value), reqwest::Error> {
        let resp = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await?;
        Ok((
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }
}

async fn into_parts(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.expect("reading a response body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// A candidate body whose name and email carry `tag`, so that each is unique.
pub(crate) fn candidate(tag: &str) -> Value {
    serde_json::json!({
        "personal": {"name": format!("Ada {tag}"), "email": format!("{tag}@example.net")},
        "profile": {"skills": [
            {"skill": "SQL", "level": "beginner", "evidence": "self_reported"},
            {"skill": "Linux", "level": "intermediate", "evidence": "project"}
        ]}
    })
}

/// An employer body named after `tag`.
pub(crate) fn employer(tag: &str) -> Value {
    serde_json::json!({"name": format!("Employer {tag}"), "size_band": "10-49"})
}

/// A long-running `techhire` command other than `run` (e.g. `demo`), its output captured;
/// SIGKILLed when dropped if it still runs.
pub(crate) struct Running {
    child: Child,
    stdout: Captured,
    stderr: Captured,
}

impl Running {
    pub(crate) fn spawn(mut cmd: Command) -> Running {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning the techhire binary");
        let stdout = Captured::read_from(child.stdout.take().expect("piped stdout"));
        let stderr = Captured::read_from(child.stderr.take().expect("piped stderr"));
        Running {
            child,
            stdout,
            stderr,
        }
    }

    /// Waits (at most `timeout`) until stdout has a line starting with `prefix`, and
    /// returns every line so far; panics with the output if it never comes.
    pub(crate) fn wait_for_line(&self, prefix: &str, timeout: Duration) -> Vec<String> {
        let found = self.stdout.wait_for(timeout, |lines| {
            lines
                .iter()
                .any(|l| l.starts_with(prefix))
                .then(|| lines.to_vec())
        });
        found.unwrap_or_else(|closed| {
            panic!(
                "no line starting with {prefix:?} ({})\n--- stdout ---\n{}\n--- stderr ---\n{}",
                if closed { "stdout closed" } else { "timed out" },
                self.stdout.text(),
                self.stderr.text()
            )
        })
    }

    /// Sends SIGTERM and waits (bounded) for the exit.
    pub(crate) fn terminate(mut self) -> Finished {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("running kill(1)");
        assert!(sent.success(), "kill -TERM {pid} failed");
        let status = wait_with_timeout(&mut self.child, PROCESS_TIMEOUT);
        Finished {
            status,
            stdout: self.stdout.text_at_end(PROCESS_TIMEOUT),
            stderr: self.stderr.text_at_end(PROCESS_TIMEOUT),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
