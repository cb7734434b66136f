//! `techhire demo` as a visitor uses it: what it prints (the steward's key, and per node
//! the web address and a username and password for each role) signs in to that node, with
//! that role, and to no other node.

use std::net::TcpListener;
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{path_str, techhire, temp_dir, Running};

/// The demo seeds, starts and announces three nodes: slower than one node's start.
const DEMO_TIMEOUT: Duration = Duration::from_secs(180);

/// A first port of `n` consecutive loopback ports free right now (the demo takes a first
/// port and uses the next ones), found by binding them.
fn free_ports(n: u16) -> u16 {
    for _ in 0..50 {
        let first = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let Some(last) = first.checked_add(n) else {
            continue;
        };
        let all_free = (first..last)
            .map(|p| TcpListener::bind(("127.0.0.1", p)))
            .collect::<Result<Vec<_>, _>>()
            .is_ok();
        if all_free {
            return first;
        }
    }
    panic!("found no {n} consecutive free loopback ports");
}

/// One account line: `sign in as <role> username <name> password <secret> …`.
struct Printed {
    role: String,
    username: String,
    password: String,
}

fn parse_account(line: &str) -> Option<Printed> {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        ["sign", "in", "as", role, "username", username, "password", password, ..] => {
            Some(Printed {
                role: (*role).to_string(),
                username: (*username).to_string(),
                password: (*password).to_string(),
            })
        }
        _ => None,
    }
}

async fn login(base: &str, username: &str, password: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn demo_prints_a_password_per_role_per_node_that_signs_in_there_only() {
    let tmp = temp_dir();
    let http = free_ports(3);
    let p2p = free_ports(3);
    let mut cmd = techhire(&[
        "demo",
        "--dir",
        path_str(&tmp.path().join("demo")),
        "--http-port",
        &http.to_string(),
        "--p2p-port",
        &p2p.to_string(),
        "--candidates",
        "30",
    ]);
    cmd.env("TECHHIRE_LOG", "warn");
    let demo = Running::spawn(cmd);
    let lines = demo.wait_for_line("Ctrl-C stops them all", DEMO_TIMEOUT);
    let text = lines.join("\n");

    let steward = lines
        .iter()
        .find_map(|l| l.strip_prefix("Steward public key: "))
        .unwrap_or_else(|| panic!("no steward key in\n{text}"));
    assert_eq!(steward.len(), 64, "{steward}");
    assert!(steward.chars().all(|c| c.is_ascii_hexdigit()), "{steward}");

    // Each node's line names its web address; its accounts follow it.
    let mut nodes: Vec<(String, Vec<Printed>)> = Vec::new();
    for line in &lines {
        if let Some(at) = line.find("http://127.0.0.1:") {
            if line.contains("operator token") {
                let url = line[at..].split_whitespace().next().unwrap();
                nodes.push((url.trim_end_matches('/').to_string(), Vec::new()));
                continue;
            }
        }
        if let Some(account) = parse_account(line) {
            let (_, accounts) = nodes
                .last_mut()
                .unwrap_or_else(|| panic!("an account before any node in\n{text}"));
            accounts.push(account);
        }
    }
    assert_eq!(nodes.len(), 3, "{text}");
    for (i, (base, accounts)) in nodes.iter().enumerate() {
        assert_eq!(*base, format!("http://127.0.0.1:{}", http + i as u16));
        let roles: Vec<&str> = accounts.iter().map(|a| a.role.as_str()).collect();
        assert_eq!(
            roles,
            ["operator", "reviewer", "employer", "national"],
            "{text}"
        );
        for a in accounts {
            let (status, session) = login(base, &a.username, &a.password).await;
            assert_eq!(status, 200, "{} at {base}: {session}", a.username);
            let whoami = reqwest::Client::new()
                .get(format!("{base}/api/v1/whoami"))
                .bearer_auth(session["token"].as_str().unwrap())
                .send()
                .await
                .unwrap();
            let whoami: Value = whoami.json().await.unwrap();
            assert_eq!(whoami["role"], a.role.as_str(), "{whoami}");
            // Every node's passwords are its own.
            let other = &nodes[(i + 1) % nodes.len()].0;
            let (status, _) = login(other, &a.username, &a.password).await;
            assert_eq!(
                status, 401,
                "{}'s password from {base} worked at {other}",
                a.username
            );
        }
    }
    let stopped = demo.terminate();
    assert!(stopped.status.success(), "{}", stopped.describe());
}
