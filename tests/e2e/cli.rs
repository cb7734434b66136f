//! The command line as an operator uses it: init, run, tokens, settings, signals, locking.

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use techhire_node::config::Config;

use crate::support::{init, path_str, run, techhire, temp_dir, Finished, Node};

fn is_token(s: &str) -> bool {
    s.strip_prefix("th_")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                out.insert(path, bytes);
            }
        }
    }
    out
}

#[test]
fn init_creates_a_private_key_a_config_a_database_and_prints_a_token() {
    let tmp = temp_dir();
    let dir = tmp.path().join("node");
    let out = run(&[
        "init",
        "--data-dir",
        path_str(&dir),
        "--community",
        "Birmingham, AL",
        "--region",
        "AL",
    ]);
    out.assert_success();

    let key = dir.join("node.key");
    let mode = std::fs::metadata(&key)
        .unwrap_or_else(|e| panic!("{}: {e}\n{}", key.display(), out.describe()))
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "node.key must be private");
    Config::load(&dir.join("config.toml")).expect("init writes a valid config.toml");
    assert!(dir.join("db").is_dir(), "init creates db/");

    let token = out.first_token();
    assert!(
        is_token(&token),
        "{token:?} is not a token\n{}",
        out.describe()
    );
}

#[tokio::test]
async fn a_second_init_refuses_to_overwrite_and_changes_nothing() {
    let tmp = temp_dir();
    let dir = tmp.path().join("node");
    let token = init(&dir);
    let before = snapshot(&dir);

    let again = run(&[
        "init",
        "--data-dir",
        path_str(&dir),
        "--community",
        "Somewhere else",
    ]);
    let stderr = again.assert_failure();
    assert!(
        stderr.contains("refusing to overwrite"),
        "the refusal should say so\n{}",
        again.describe()
    );
    assert!(
        !again.stdout.contains("First operator token"),
        "no new token may be printed\n{}",
        again.describe()
    );
    assert!(
        before == snapshot(&dir),
        "a refused init must leave every file as it was"
    );

    // The node is still the first one: its token works and its community is unchanged.
    let node = Node::start(&dir);
    let (status, community) = node.api(&token).get("/api/v1/community").await;
    assert_eq!(status, 200, "{community}");
    assert_eq!(community["name"], "Birmingham, AL");
    assert_eq!(community["region"], "AL");
}

#[tokio::test]
async fn run_on_a_missing_folder_creates_the_node_and_serves_it() {
    let tmp = temp_dir();
    let dir = tmp.path().join("not").join("yet");
    let node = Node::start(&dir);

    let stdout = node.stdout();
    let web = format!("Web interface: http://{}/ ", node.addr);
    assert!(stdout.contains(&web), "expected {web:?} in\n{stdout}");
    let api = format!("API: http://{}/api/v1 ", node.addr);
    assert!(stdout.contains(&api), "expected {api:?} in\n{stdout}");
    let token = node.first_token();
    assert!(is_token(&token), "{token:?} in\n{stdout}");
    assert!(dir.join("node.key").is_file() && dir.join("db").is_dir());

    let health = reqwest::get(node.url("/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
    let health: serde_json::Value = health.json().await.unwrap();
    assert_eq!(health["status"], "ok", "{health}");

    let (status, community) = node.api(&token).get("/api/v1/community").await;
    assert_eq!(status, 200, "{community}");
    assert_eq!(community["name"], "My TechHire community");

    let anonymous = reqwest::get(node.url("/api/v1/community")).await.unwrap();
    assert_eq!(anonymous.status(), 401, "the community needs a token");
}

/// `token create`; returns the token's id and its secret (the last line of stdout).
fn create_token(dir: &Path, role: &str) -> (u64, String) {
    let out = run(&[
        "token",
        "create",
        "--data-dir",
        path_str(dir),
        "--role",
        role,
    ]);
    out.assert_success();
    let secret = out.last_line().to_string();
    assert!(
        is_token(&secret),
        "the secret must be alone on the last line\n{}",
        out.describe()
    );
    let id = out
        .stdout
        .split_whitespace()
        .nth(1)
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no \"Token <id>\" in\n{}", out.describe()));
    (id, secret)
}

#[tokio::test]
async fn a_reviewer_token_made_offline_has_reviewer_rights() {
    let tmp = temp_dir();
    let dir = tmp.path().join("node");
    init(&dir);
    let (_, secret) = create_token(&dir, "reviewer");

    let node = Node::start(&dir);
    let reviewer = node.api(&secret);
    let (status, body) = reviewer.get("/api/v1/candidates").await;
    assert_eq!(status, 200, "reviewers list candidates: {body}");
    let (status, body) = reviewer.get("/api/v1/employers").await;
    assert_eq!(status, 403, "reviewers may not list employers: {body}");
}

#[test]
fn an_employer_token_needs_its_employer() {
    let tmp = temp_dir();
    let dir = tmp.path().join("node");
    init(&dir);
    let out = run(&[
        "token",
        "create",
        "--data-dir",
        path_str(&dir),
        "--role",
        "employer",
    ]);
    let stderr = out.assert_failure();
    assert!(
        stderr.contains("--employer") && stderr.contains("required"),
        "the error should name the missing --employer\n{}",
        out.describe()
    );
    assert!(!out.stdout.contains("th_"), "{}", out.describe());
}

/// The `token list` row of token `id`, split into words.
fn listed(dir: &Path, id: u64) -> Vec<String> {
    let out = run(&["token", "list", "--data-dir", path_str(dir)]);
    out.assert_success();
    out.stdout
        .lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .find(|words| words.first().is_some_and(|w| *w == id.to_string()))
        .unwrap_or_else(|| panic!("token {id} is not listed\n{}", out.describe()))
}

#[tokio::test]
async fn a_revoked_token_is_refused() {
    let tmp = temp_dir();
    let dir = tmp.path().join("node");
    let operator = init(&dir);
    let (id, secret) = create_token(&dir, "reviewer");
    let row = listed(&dir, id);
    assert!(
        row.contains(&"reviewer".into()) && row.contains(&"active".into()),
        "{row:?}"
    );

    let node = Node::start(&dir);
    let (status, _) = node.api(&secret).get("/api/v1/candidates").await;
    assert_eq!(status, 200, "the token works before it is revoked");
    node.terminate().assert_success();

    let out = run(&[
        "token",
        "revoke",
        "--data-dir",
        path_str(&dir),
        &id.to_string(),
    ]);
    out.assert_success();
    assert!(listed(&dir, id).contains(&"revoked".into()));

    let node = Node::start(&dir);
    let (status, body) = node.api(&secret).get("/api/v1/candidates").await;
    assert_eq!(status, 401, "a revoked token must be refused: {body}");
    let (status, _) = node.api(&operator).get("/api/v1/candidates").await;
    assert_eq!(status, 200, "other tokens still work");
}

#[tokio::test]
async fn the_listen_flag_beats_the_environment_which_beats_the_config_file() {
    let tmp = temp_dir();
    let dir = tmp.path().join("node");
    init(&dir);
    // An address that cannot be bound because this test holds it: whichever setting names
    // it is visibly the one in force, since the node then fails to start.
    let holder = TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = holder.local_addr().unwrap().to_string();
    let free = "127.0.0.1:0";
    std::fs::write(
        dir.join("config.toml"),
        Config::complete(&format!("[http]\nlisten = \"{busy}\"\n")),
    )
    .unwrap();

    let start = |env: Option<&str>, flag: Option<&str>| {
        let mut cmd = techhire(&["run", "--data-dir", path_str(&dir)]);
        if let Some(flag) = flag {
            cmd.args(["--http-listen", flag]);
        }
        if let Some(env) = env {
            cmd.env("TECHHIRE_HTTP_LISTEN", env);
        }
        Node::spawn(cmd)
    };
    let refused_on_busy = |what: &str, started: Result<Node, Finished>| match started {
        Ok(node) => panic!(
            "{what}: expected a failure to listen on {busy}, but it serves on {}",
            node.addr
        ),
        Err(out) => assert!(
            out.assert_failure().contains(&busy),
            "{what}: the error should name {busy}\n{}",
            out.describe()
        ),
    };
    async fn serves(what: &str, started: Result<Node, Finished>) -> SocketAddr {
        let node = started
            .unwrap_or_else(|out| panic!("{what}: the node did not start\n{}", out.describe()));
        let health = reqwest::get(node.url("/healthz")).await.unwrap();
        assert_eq!(
            health.status(),
            200,
            "{what}: nothing serves on {}",
            node.addr
        );
        node.addr
    }

    refused_on_busy("config file alone", start(None, None));
    refused_on_busy("environment over config", start(Some(&busy), None));
    refused_on_busy("flag over environment", start(Some(free), Some(&busy)));

    let addr = serves("environment over config", start(Some(free), None)).await;
    assert!(
        addr.ip().is_loopback() && addr.to_string() != busy,
        "{addr}"
    );
    let addr = serves("flag over environment", start(Some(&busy), Some(free))).await;
    assert!(
        addr.ip().is_loopback() && addr.to_string() != busy,
        "{addr}"
    );
}

#[tokio::test]
async fn sigterm_stops_cleanly_and_the_data_is_there_after_a_restart() {
    let tmp = temp_dir();
    let dir = tmp.path().join("node");
    let token = init(&dir);
    let node = Node::start(&dir);
    let (status, created) = node
        .api(&token)
        .post("/api/v1/candidates", &crate::support::candidate("sigterm"))
        .await;
    assert_eq!(status, 201, "{created}");

    let stopped = node.terminate();
    assert_eq!(
        stopped.status.code(),
        Some(0),
        "SIGTERM is a normal stop\n{}",
        stopped.describe()
    );
    assert!(
        stopped.stderr.contains("stopped cleanly"),
        "the log should say the node stopped cleanly\n{}",
        stopped.describe()
    );

    let node = Node::start(&dir);
    let path = format!("/api/v1/candidates/{}", created["id"]);
    let (status, read) = node.api(&token).get(&path).await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read, created);
}

#[test]
fn offline_commands_refuse_while_the_node_runs() {
    let tmp = temp_dir();
    let dir = tmp.path().join("node");
    init(&dir);
    let node = Node::start(&dir);
    for args in [
        &["token", "create", "--role", "reviewer"][..],
        &["token", "list"][..],
        &["check"][..],
    ] {
        let mut all = args.to_vec();
        all.extend(["--data-dir", path_str(&dir)]);
        let out = run(&all);
        assert!(
            out.assert_failure().contains("is the node running"),
            "`{}` should say the node is running\n{}",
            args.join(" "),
            out.describe()
        );
    }
    node.terminate().assert_success();
    // Once it has stopped, the same command works: the refusal was about the running node.
    create_token(&dir, "reviewer");
}

#[test]
fn a_config_toml_cut_in_half_or_without_its_version_line_refuses_to_start() {
    let tmp = temp_dir();
    let dir = tmp.path().join("node");
    init(&dir);
    let file = dir.join("config.toml");
    let whole = std::fs::read_to_string(&file).unwrap();

    // Cut in half at a line end: the sections after the cut are named.
    let half = &whole[..whole.len() / 2];
    let half = &half[..=half.rfind('\n').unwrap()];
    std::fs::write(&file, half).unwrap();
    let refused = Node::spawn(Node::command(&dir))
        .err()
        .expect("a node with half a config.toml started");
    let stderr = refused.assert_failure();
    assert!(
        stderr.contains(path_str(&file))
            && stderr.contains("[profiles]")
            && stderr.contains("cut short"),
        "{}",
        refused.describe()
    );

    // Cut in the middle of a line: the line is named.
    let mid = whole.find("listen = \"127").unwrap() + 12;
    std::fs::write(&file, &whole[..mid]).unwrap();
    let refused = Node::spawn(Node::command(&dir)).err().expect("started");
    let stderr = refused.assert_failure();
    assert!(
        stderr.contains(path_str(&file)) && stderr.contains("line"),
        "{}",
        refused.describe()
    );

    // No version line: refused, saying what to add.
    std::fs::write(&file, whole.replacen("config_version = 1\n", "", 1)).unwrap();
    let refused = Node::spawn(Node::command(&dir)).err().expect("started");
    let stderr = refused.assert_failure();
    assert!(
        stderr.contains("config_version = 1") && stderr.contains("first line"),
        "{}",
        refused.describe()
    );

    // Whole again: it starts.
    std::fs::write(&file, &whole).unwrap();
    Node::start(&dir).terminate().assert_success();
}
