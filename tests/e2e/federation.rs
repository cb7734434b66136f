//! `techhire federation` as stewards and operators use it: a steward key, a certificate,
//! `join`, a node that runs in the federation, revocations through `admit`, and the
//! refusals (a bad key, a certificate for another node, an unlisted steward).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use techhire_node::config::Config;
use techhire_protocol::{NodeKeypair, PublicKey};

use crate::support::{path_str, run, temp_dir, Finished, Node};

/// `steward-init` into `file`; returns the steward's public key (the last line).
pub(crate) fn steward_init(file: &Path) -> String {
    let out = run(&["federation", "steward-init", "--out", path_str(file)]);
    out.assert_success();
    let key = out.last_line().to_string();
    assert!(
        key.parse::<PublicKey>().is_ok(),
        "the public key must be alone on the last line\n{}",
        out.describe()
    );
    key
}

/// `init`s a node in `dir`; returns its operator token and its node key.
pub(crate) fn init_node(dir: &Path, community: &str) -> (String, String) {
    let out = run(&[
        "init",
        "--data-dir",
        path_str(dir),
        "--community",
        community,
    ]);
    out.assert_success();
    let key = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("Node key: "))
        .unwrap_or_else(|| panic!("no \"Node key:\" line\n{}", out.describe()))
        .trim()
        .to_string();
    (out.first_token(), key)
}

pub(crate) fn issue(steward: &Path, node_key: &str, out: &Path) -> Finished {
    issue_in(steward, node_key, "El Paso, TX", "TX", out)
}

/// A certificate for the node of `community` in `region`, valid for a year.
pub(crate) fn issue_in(
    steward: &Path,
    node_key: &str,
    community: &str,
    region: &str,
    out: &Path,
) -> Finished {
    run(&[
        "federation",
        "issue",
        "--steward-key",
        path_str(steward),
        "--node-key",
        node_key,
        "--community",
        community,
        "--region",
        region,
        "--valid-days",
        "365",
        "--out",
        path_str(out),
    ])
}

pub(crate) fn join(dir: &Path, cert: &Path, stewards: &[&str], bootstrap: &[&str]) -> Finished {
    let mut args = vec![
        "federation",
        "join",
        "--data-dir",
        path_str(dir),
        "--cert",
        path_str(cert),
    ];
    for s in stewards {
        args.extend(["--steward-pubkey", s]);
    }
    for b in bootstrap {
        args.extend(["--bootstrap", b]);
    }
    run(&args)
}

/// Starts a joined node with its federation on a free loopback port; returns it and its
/// `Federation listening on` addresses.
pub(crate) fn start_member(dir: &Path) -> (Node, Vec<String>) {
    let mut cmd = Node::command(dir);
    cmd.args(["--p2p-listen", "/ip4/127.0.0.1/tcp/0"]);
    let node = Node::spawn(cmd).unwrap_or_else(|f| {
        panic!(
            "the node in {} did not start\n{}",
            dir.display(),
            f.describe()
        )
    });
    let stdout = node.stdout();
    let addrs: Vec<String> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("Federation listening on "))
        .map(|a| a.trim().to_string())
        .collect();
    (node, addrs)
}

#[tokio::test]
async fn a_steward_certifies_a_node_that_joins_and_runs_in_the_federation() {
    let tmp = temp_dir();
    let steward_file = tmp.path().join("steward.key");
    let steward = steward_init(&steward_file);
    let mode = std::fs::metadata(&steward_file)
        .expect("the steward key exists")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the steward key must be private");
    let seed = std::fs::read_to_string(&steward_file).expect("readable");
    assert_eq!(
        NodeKeypair::from_hex(&seed)
            .expect("a key file")
            .public()
            .to_string(),
        steward
    );
    let again = run(&[
        "federation",
        "steward-init",
        "--out",
        path_str(&steward_file),
    ]);
    assert!(
        again.assert_failure().contains("refusing to overwrite"),
        "{}",
        again.describe()
    );
    assert_eq!(
        std::fs::read_to_string(&steward_file).expect("readable"),
        seed,
        "a refused steward-init leaves the key as it was"
    );

    let dir = tmp.path().join("node");
    let (token, node_key) = init_node(&dir, "El Paso, TX");
    let cert = tmp.path().join("elpaso.cert");
    let issued = issue(&steward_file, &node_key, &cert);
    issued.assert_success();
    assert!(
        issued.stdout.contains(&node_key) && issued.stdout.contains("El Paso, TX"),
        "the summary names the node and community\n{}",
        issued.describe()
    );
    let text = std::fs::read_to_string(&cert).expect("the certificate exists");
    assert_eq!(text.lines().count(), 1, "one line: {text:?}");
    assert!(
        text.trim().bytes().all(|b| b.is_ascii_hexdigit()),
        "hex: {text:?}"
    );
    let twice = issue(&steward_file, &node_key, &cert);
    assert!(twice.assert_failure().contains("refusing to overwrite"));

    let joined = join(&dir, &cert, &[&steward], &[]);
    joined.assert_success();
    let config_text = std::fs::read_to_string(dir.join("config.toml")).expect("config");
    let config = Config::parse(&config_text, Path::new("config.toml")).expect("valid config");
    assert_eq!(config.federation.stewards.len(), 1);
    assert_eq!(config.federation.stewards[0].to_string(), steward);
    assert!(config.federation.bootstrap.is_empty());
    assert!(
        config_text.contains("# TechHire community node configuration.")
            && config_text.contains("# The stewards' public keys"),
        "join keeps the config's comments:\n{config_text}"
    );
    assert_eq!(
        config.storage,
        Config::default().storage,
        "and its other settings"
    );

    let (node, addrs) = start_member(&dir);
    assert!(
        !addrs.is_empty()
            && addrs
                .iter()
                .all(|a| a.starts_with("/ip4/127.0.0.1/tcp/") && a.contains("/p2p/")),
        "expected `Federation listening on /ip4/127.0.0.1/tcp/…/p2p/…` lines in\n{}",
        node.stdout()
    );

    let status = run(&[
        "federation",
        "status",
        "--url",
        &node.url(""),
        "--token",
        &token,
    ]);
    status.assert_success();
    let status: Value = serde_json::from_str(&status.stdout)
        .unwrap_or_else(|e| panic!("status prints JSON ({e})\n{}", status.describe()));
    assert_eq!(status["node_key"], node_key.as_str(), "{status}");
    let me = status["members"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["key"] == node_key.as_str()))
        .unwrap_or_else(|| panic!("the node is among the members: {status}"));
    assert_eq!(me["community"], "El Paso, TX");
    assert_eq!(me["revoked"], false);

    let api = node.api(&token);
    let (code, published) = api
        .post(
            "/api/v1/federation/bulletins",
            &json!({"title": "Cyber cohort starts June 2", "body": "Ten seats left."}),
        )
        .await;
    assert_eq!(code, 201, "{published}");
    assert_eq!(published["origin"], node_key.as_str());
    let (code, list) = api.get("/api/v1/federation/bulletins").await;
    assert_eq!(code, 200, "{list}");
    assert_eq!(list["items"][0]["title"], "Cyber cohort starts June 2");
    node.terminate().assert_success();

    // The steward revokes the node; the revocation goes in through `admit` on a member.
    let revocation = tmp.path().join("elpaso.revoked");
    let revoked = run(&[
        "federation",
        "revoke",
        "--steward-key",
        path_str(&steward_file),
        "--node-key",
        &node_key,
        "--reason",
        "left the programme",
        "--out",
        path_str(&revocation),
    ]);
    revoked.assert_success();
    let admit = |file: &Path| {
        run(&[
            "federation",
            "admit",
            "--data-dir",
            path_str(&dir),
            "--record",
            path_str(file),
        ])
    };
    let admitted = admit(&revocation);
    admitted.assert_success();
    assert!(
        admitted.stdout.contains("Stored the revocation"),
        "{}",
        admitted.describe()
    );
    let repeated = admit(&revocation);
    repeated.assert_success();
    assert!(
        repeated.stdout.contains("already holds"),
        "{}",
        repeated.describe()
    );

    // A record from a steward this node does not trust is refused.
    let stranger_file = tmp.path().join("stranger.key");
    steward_init(&stranger_file);
    let forged = tmp.path().join("forged.revoked");
    run(&[
        "federation",
        "revoke",
        "--steward-key",
        path_str(&stranger_file),
        "--node-key",
        &node_key,
        "--out",
        path_str(&forged),
    ])
    .assert_success();
    let refused = admit(&forged);
    assert!(
        refused
            .assert_failure()
            .contains("not one of this node's stewards"),
        "{}",
        refused.describe()
    );

    let (node, _) = start_member(&dir);
    let (code, status) = node.api(&token).get("/api/v1/federation/status").await;
    assert_eq!(code, 200, "{status}");
    let me = status["members"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["key"] == node_key.as_str()))
        .unwrap_or_else(|| panic!("the node is among the members: {status}"));
    assert_eq!(me["revoked"], true, "{status}");
}

#[test]
fn issue_refuses_a_bad_node_key() {
    let tmp = temp_dir();
    let steward = tmp.path().join("steward.key");
    steward_init(&steward);
    let cert = tmp.path().join("x.cert");
    for bad in ["not-a-key", &"A".repeat(64), &"ab".repeat(31)] {
        let out = issue(&steward, bad, &cert);
        let stderr = out.assert_failure();
        assert!(
            stderr.contains("--node-key") && stderr.contains("64 lowercase hex digits"),
            "the error should name --node-key and the format\n{}",
            out.describe()
        );
        assert!(!cert.exists(), "nothing is written");
    }
}

#[test]
fn join_refuses_a_certificate_for_another_node_or_from_an_unlisted_steward() {
    let tmp = temp_dir();
    let steward_file = tmp.path().join("steward.key");
    let steward = steward_init(&steward_file);
    let other_file = tmp.path().join("other-steward.key");
    let other_steward = steward_init(&other_file);
    let dir = tmp.path().join("node");
    let (_, node_key) = init_node(&dir, "Las Cruces, NM");
    let config_before = std::fs::read(dir.join("config.toml")).expect("config");

    let someone_else = NodeKeypair::generate().public().to_string();
    let foreign = tmp.path().join("foreign.cert");
    issue(&steward_file, &someone_else, &foreign).assert_success();
    let out = join(&dir, &foreign, &[&steward], &[]);
    let stderr = out.assert_failure();
    assert!(
        stderr.contains(&format!("certifies the node key {someone_else}"))
            && stderr.contains(&format!("this node's key is {node_key}")),
        "the error should name both keys\n{}",
        out.describe()
    );

    let cert = tmp.path().join("own.cert");
    issue(&steward_file, &node_key, &cert).assert_success();
    let out = join(&dir, &cert, &[&other_steward], &[]);
    let stderr = out.assert_failure();
    assert!(
        stderr.contains(&format!("signed by {steward}"))
            && stderr.contains("not among the --steward-pubkey keys"),
        "the error should name the signer and the keys given\n{}",
        out.describe()
    );

    let out = join(&dir, &cert, &[&steward], &["127.0.0.1:7070"]);
    assert!(
        out.assert_failure().contains("--bootstrap"),
        "{}",
        out.describe()
    );

    assert_eq!(
        std::fs::read(dir.join("config.toml")).expect("config"),
        config_before,
        "a refused join leaves the config as it was"
    );
    // And the right steward's certificate is taken.
    join(&dir, &cert, &[&other_steward, &steward], &[]).assert_success();
}

/// Runs `attempt` every 200 ms until it finds something, for at most `timeout`.
async fn poll<T>(
    timeout: Duration,
    mut attempt: impl FnMut() -> std::pin::Pin<Box<dyn std::future::Future<Output = Option<T>>>>,
) -> Option<T> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(t) = attempt().await {
            return Some(t);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    None
}

#[tokio::test]
async fn a_second_member_bootstraps_from_the_first_and_receives_its_bulletins() {
    let tmp = temp_dir();
    let steward_file = tmp.path().join("steward.key");
    let steward = steward_init(&steward_file);
    let member = |name: &str| -> (PathBuf, String, PathBuf) {
        let dir = tmp.path().join(name);
        let (token, key) = init_node(&dir, name);
        let cert = tmp.path().join(format!("{name}.cert"));
        issue(&steward_file, &key, &cert).assert_success();
        (dir, token, cert)
    };
    let (first_dir, first_token, first_cert) = member("first");
    let (second_dir, second_token, second_cert) = member("second");
    join(&first_dir, &first_cert, &[&steward], &[]).assert_success();
    let (first, first_addrs) = start_member(&first_dir);
    let bootstrap = first_addrs.first().expect("an address").clone();
    join(&second_dir, &second_cert, &[&steward], &[&bootstrap]).assert_success();
    let (second, _) = start_member(&second_dir);

    let (code, body) = first
        .api(&first_token)
        .post(
            "/api/v1/federation/bulletins",
            &json!({"title": "Hello from the first", "body": ""}),
        )
        .await;
    assert_eq!(code, 201, "{body}");

    let api = second.api(&second_token);
    let received = poll(Duration::from_secs(45), || {
        let api = api.clone();
        Box::pin(async move {
            let (code, list) = api.get("/api/v1/federation/bulletins").await;
            (code == 200 && list["items"][0]["title"] == "Hello from the first").then_some(list)
        })
    })
    .await;
    if received.is_none() {
        let (_, status) = api.get("/api/v1/federation/status").await;
        panic!(
            "the second member never received the bulletin; its status: {status}\n--- first ---\n{}\n--- second ---\n{}",
            first.kill().describe(),
            second.kill().describe()
        );
    }
}
