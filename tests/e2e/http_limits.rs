//! The HTTP listener against clients that misbehave, over real sockets: a flood of
//! half-sent heads under a low descriptor limit, a body that never finishes, a refusal
//! before the body is read, over-long URIs and over-large headers.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::*;

/// The open file limit the flooded node runs under (soft and hard).
const FD_LIMIT: u64 = 256;
/// Stalled connections opened against it: four times its descriptors.
const STALLED: usize = 1000;
/// How long one `/healthz` may take while the flood holds its connections.
const HEALTHZ_BOUND: Duration = Duration::from_secs(2);

/// Raises this test process's own soft descriptor limit to its hard one, so that the
/// flood's thousand sockets fit on a machine whose default is 1024.
fn raise_own_fd_limit() {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    let wanted = limit.maximum.unwrap_or(1 << 20).min(1 << 16);
    if limit.current.is_some_and(|soft| soft < wanted) {
        let _ = setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(wanted),
                maximum: limit.maximum,
            },
        );
    }
}

/// A connection that has sent part of a request and then stops.
fn stall(addr: SocketAddr, partial: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("connecting to {addr}: {e}"));
    stream.write_all(partial).expect("sending half a request");
    stream
}

/// One `GET /healthz` on a new connection, with its latency; panics past `bound`.
fn healthz(addr: SocketAddr, bound: Duration) -> Duration {
    let started = Instant::now();
    let mut stream = TcpStream::connect_timeout(&addr, bound)
        .unwrap_or_else(|e| panic!("connecting for /healthz: {e}"));
    stream.set_read_timeout(Some(bound)).unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: node\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap_or_else(|e| {
        panic!(
            "/healthz unanswered after {:?}: {e}; got {answer:?}",
            started.elapsed()
        )
    });
    let took = started.elapsed();
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "/healthz answered {answer:?}"
    );
    assert!(took <= bound, "/healthz took {took:?}");
    took
}

/// Reads a raw HTTP/1.1 answer until the server closes the connection or `timeout` passes.
fn read_answer(stream: &mut TcpStream, timeout: Duration) -> String {
    stream.set_read_timeout(Some(timeout)).unwrap();
    let mut bytes = Vec::new();
    let _ = stream.read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}

fn json_body(answer: &str) -> Value {
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or("");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {answer:?}"))
}

#[test]
fn a_flood_of_half_sent_heads_under_a_low_fd_limit_leaves_healthz_answering_and_sigterm_exits() {
    raise_own_fd_limit();
    let dir = temp_dir();
    let data = dir.path().join("node");
    let mut run = Node::command(&data);
    // Long head and body timeouts: what keeps the node answering is the cap and the eviction
    // of stalled connections, and what ends the shutdown is its own deadline.
    run.args([
        "--http-header-read-timeout-secs",
        "60",
        "--http-body-read-timeout-secs",
        "120",
        "--http-shutdown-grace-secs",
        "2",
    ]);
    let node = Node::spawn(with_fd_limit(&run, FD_LIMIT)).unwrap_or_else(|f| {
        panic!(
            "the node did not start under prlimit (util-linux) {}",
            f.describe()
        )
    });
    let addr = node.addr;

    // A request in flight that never finishes: a sign-in whose body stops half-way.
    let mut dripping = stall(
        addr,
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: node\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{\"username\":",
    );
    let mut stalled = Vec::with_capacity(STALLED);
    for _ in 0..STALLED {
        stalled.push(stall(
            addr,
            b"GET /healthz HTTP/1.1\r\nHost: node\r\nX-Slow: ",
        ));
    }

    let mut latencies: Vec<Duration> = (0..20).map(|_| healthz(addr, HEALTHZ_BOUND)).collect();
    latencies.sort();
    eprintln!(
        "/healthz during a {STALLED}-connection stall at an fd limit of {FD_LIMIT}: \
         median {:?}, max {:?}",
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1]
    );
    // And after a second wave of stalled clients.
    for _ in 0..STALLED / 2 {
        stalled.push(stall(addr, b"GET / HTTP/1.1\r\n"));
    }
    healthz(addr, HEALTHZ_BOUND);

    let logged = node.stderr();
    assert!(
        logged.contains(&format!("open_file_limit={FD_LIMIT}")),
        "the node did not log its open file limit:\n{logged}"
    );

    // SIGTERM while the sign-in is still waiting for its body: the node waits out its grace
    // period, drops it and exits 0.
    let asked = Instant::now();
    let finished = node.terminate();
    let took = asked.elapsed();
    finished.assert_success();
    assert!(
        took < Duration::from_secs(10),
        "SIGTERM took {took:?} to stop the node\n{}",
        finished.describe()
    );
    assert!(
        finished.stderr.contains("shutdown deadline passed"),
        "{}",
        finished.describe()
    );
    // The dripping client saw its connection closed, not answered.
    let answer = read_answer(&mut dripping, Duration::from_secs(5));
    assert!(answer.is_empty(), "{answer:?}");
    drop(stalled);
}

#[tokio::test]
async fn a_refusal_before_the_body_is_read_drains_a_small_body_or_says_connection_close() {
    let dir = temp_dir();
    let node = Node::start(dir.path());
    let client = reqwest::Client::new();
    // A body over what the node drains (64 KiB), refused by the role check before it is read.
    let big = serde_json::json!({"name": "x".repeat(200_000)});
    let refused = client
        .post(node.url("/api/v1/employers"))
        .json(&big)
        .send()
        .await
        .expect("the refusal arrives");
    assert_eq!(refused.status(), 401);
    assert_eq!(
        refused
            .headers()
            .get("connection")
            .map(|v| v.to_str().unwrap()),
        Some("close"),
        "{:?}",
        refused.headers()
    );
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized");
    // The same client's next request works (it did not reuse the closed connection).
    for _ in 0..3 {
        let again = client.get(node.url("/healthz")).send().await.unwrap();
        assert_eq!(again.status(), 200);
        let refused = client
            .post(node.url("/api/v1/employers"))
            .json(&big)
            .send()
            .await
            .expect("the next request on the pool is answered");
        assert_eq!(refused.status(), 401);
    }
    // A small body left unread is drained instead: the connection stays open, and the next
    // request on it is answered.
    let small = r#"{"name":"Acme","size_band":"10-49"}"#;
    let mut kept = TcpStream::connect(node.addr).unwrap();
    kept.write_all(
        format!(
            "POST /api/v1/employers HTTP/1.1\r\nHost: node\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{small}\
             GET /healthz HTTP/1.1\r\nHost: node\r\nConnection: close\r\n\r\n",
            small.len()
        )
        .as_bytes(),
    )
    .unwrap();
    let both = read_answer(&mut kept, Duration::from_secs(10));
    // Status lines (a JSON body ends without a line break, so the next one follows it).
    let statuses: Vec<&str> = both
        .match_indices("HTTP/1.1 ")
        .filter_map(|(at, _)| both[at..].lines().next())
        .collect();
    assert_eq!(
        statuses,
        ["HTTP/1.1 401 Unauthorized", "HTTP/1.1 200 OK"],
        "{both}"
    );
    let first = both
        .split("HTTP/1.1 200")
        .next()
        .unwrap()
        .to_ascii_lowercase();
    assert!(!first.contains("connection: close"), "{both}");

    // A body that was read keeps the connection open.
    let token = node.first_token();
    let created = client
        .post(node.url("/api/v1/employers"))
        .bearer_auth(&token)
        .json(&employer("kept"))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert!(created.headers().get("connection").is_none());
    node.terminate().assert_success();
}

#[tokio::test]
async fn over_long_uris_and_over_large_headers_get_json_errors() {
    let dir = temp_dir();
    let node = Node::start(dir.path());
    let client = reqwest::Client::new();
    let long = client
        .get(node.url(&format!("/api/v1/skills?q={}", "a".repeat(10_000))))
        .send()
        .await
        .unwrap();
    assert_eq!(long.status(), 414);
    let body: Value = long.json().await.unwrap();
    assert_eq!(body["error"], "uri_too_long", "{body}");
    assert!(body["reason"].as_str().unwrap().contains("8192"), "{body}");
    assert!(body.get("field").is_some(), "{body}");

    let big = client
        .get(node.url("/healthz"))
        .header("x-padding", "p".repeat(40_000))
        .send()
        .await
        .unwrap();
    assert_eq!(big.status(), 431);
    let body: Value = big.json().await.unwrap();
    assert_eq!(body["error"], "headers_too_large", "{body}");

    let mut many = client.get(node.url("/healthz"));
    for i in 0..150 {
        many = many.header(format!("x-h{i}"), "1");
    }
    let many = many.send().await.unwrap();
    assert_eq!(many.status(), 431);
    let body: Value = many.json().await.unwrap();
    assert_eq!(body["error"], "headers_too_large", "{body}");
    node.terminate().assert_success();
}

#[test]
fn a_head_or_body_that_does_not_arrive_in_time_is_cut_off() {
    let dir = temp_dir();
    let mut run = Node::command(dir.path());
    run.args([
        "--http-header-read-timeout-secs",
        "1",
        "--http-body-read-timeout-secs",
        "1",
    ]);
    let node = Node::spawn(run).unwrap_or_else(|f| panic!("{}", f.describe()));

    // Half a head: closed without an answer once the head timeout passes.
    let started = Instant::now();
    let mut head = stall(node.addr, b"GET /healthz HTTP/1.1\r\nHost: node\r\n");
    let answer = read_answer(&mut head, Duration::from_secs(20));
    let took = started.elapsed();
    assert!(answer.is_empty(), "{answer:?}");
    // Not before the timeout; the upper bound leaves room for a loaded machine.
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(10),
        "closed after {took:?}"
    );

    // Half a body: 408 with the JSON error, and the connection closed.
    let started = Instant::now();
    let mut body = stall(
        node.addr,
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: node\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{\"username\":",
    );
    let answer = read_answer(&mut body, Duration::from_secs(20));
    let took = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer:?}"
    );
    assert_eq!(json_body(&answer)["error"], "request_timeout");
    assert!(took < Duration::from_secs(10), "answered after {took:?}");

    // A connection idle between requests stays for the keep-alive timeout (60 s by
    // default), not the head timeout: a second request after the head timeout works.
    let mut kept = TcpStream::connect(node.addr).unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: node\r\n\r\n")
        .unwrap();
    let mut first = [0u8; 12];
    kept.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    // Wait out the head timeout with the connection idle (nothing to poll for: the test
    // is about time passing).
    std::thread::sleep(Duration::from_millis(1500));
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: node\r\nConnection: close\r\n\r\n")
        .unwrap();
    let rest = read_answer(&mut kept, Duration::from_secs(5));
    assert!(
        rest.contains("HTTP/1.1 200"),
        "second request on an idle connection: {rest:?}"
    );
    node.terminate().assert_success();
}
