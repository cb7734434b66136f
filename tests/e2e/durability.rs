//! Acknowledged means durable: writes answered 201 survive the process being killed
//! (SIGKILL, no shutdown code) while other writes are still in flight.

use std::collections::HashSet;
use std::os::unix::process::ExitStatusExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::Notify;
use tokio::task::JoinSet;

use crate::support::{candidate, employer, init, temp_dir, Api, Node};

const WRITERS: usize = 16;
/// Acknowledgements to collect before each kill.
const ACKS_PER_ROUND: usize = 400;
const ROUNDS: usize = 3;
const WRITE_TIMEOUT: Duration = Duration::from_secs(120);

/// A write the node answered 201 to: where to read it back and what it answered.
struct Ack {
    path: String,
    body: Value,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_sigkill_mid_flight() {
    let tmp = temp_dir();
    let dir = tmp.path().join("node");
    let token = init(&dir);
    let mut acked: Vec<Ack> = Vec::new();
    for round in 0..ROUNDS {
        let node = Node::start(&dir);
        let api = node.api(&token);
        check_all_there(&api, &acked, round).await;
        acked.extend(write_until_killed(node, &api, round).await);
    }
    let node = Node::start(&dir);
    check_all_there(&node.api(&token), &acked, ROUNDS).await;

    let distinct: HashSet<&str> = acked.iter().map(|a| a.path.as_str()).collect();
    assert_eq!(
        distinct.len(),
        acked.len(),
        "two acknowledged writes got the same id"
    );
}

/// Every acknowledged write reads back exactly as the node answered it.
async fn check_all_there(api: &Api, acked: &[Ack], restarts: usize) {
    for ack in acked {
        let (status, body) = api.get(&ack.path).await;
        assert_eq!(
            status, 200,
            "{} was acknowledged but is missing after {restarts} kill(s): {body}",
            ack.path
        );
        assert_eq!(
            body, ack.body,
            "{} reads back differently after {restarts} kill(s)",
            ack.path
        );
    }
}

/// Runs `WRITERS` writers against `node`, SIGKILLs it as soon as `ACKS_PER_ROUND` writes
/// were acknowledged (the others are then still in flight), and returns every write that
/// was acknowledged, including any whose answer arrived just before the kill.
async fn write_until_killed(node: Node, api: &Api, round: usize) -> Vec<Ack> {
    let acks = Arc::new(Mutex::new(Vec::new()));
    let acked = Arc::new(AtomicUsize::new(0));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let reached = Arc::new(Notify::new());
    let mut writers = JoinSet::new();
    for w in 0..WRITERS {
        // One client each: separate connections, as separate users would have.
        let api = Api {
            client: reqwest::Client::new(),
            ..api.clone()
        };
        let (acks, acked, in_flight, reached) = (
            acks.clone(),
            acked.clone(),
            in_flight.clone(),
            reached.clone(),
        );
        writers.spawn(async move {
            for seq in 0.. {
                let tag = format!("r{round}w{w}s{seq}");
                let (collection, body) = if seq % 4 == 3 {
                    ("employers", employer(&tag))
                } else {
                    ("candidates", candidate(&tag))
                };
                in_flight.fetch_add(1, Ordering::SeqCst);
                let answer = api.try_post(&format!("/api/v1/{collection}"), &body).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                match answer {
                    Ok((201, created)) => {
                        let id = created["id"]
                            .as_u64()
                            .unwrap_or_else(|| panic!("201 without an id: {created}"));
                        acks.lock().unwrap().push(Ack {
                            path: format!("/api/v1/{collection}/{id}"),
                            body: created,
                        });
                        if acked.fetch_add(1, Ordering::SeqCst) + 1 == ACKS_PER_ROUND {
                            reached.notify_one();
                        }
                    }
                    Ok((status, answer)) => {
                        panic!("POST /api/v1/{collection} answered {status}: {answer}")
                    }
                    // The node is gone: this write was never acknowledged.
                    Err(_) => return,
                }
            }
        });
    }

    if tokio::time::timeout(WRITE_TIMEOUT, reached.notified())
        .await
        .is_err()
    {
        panic!(
            "only {} of {ACKS_PER_ROUND} writes were acknowledged within {WRITE_TIMEOUT:?}",
            acked.load(Ordering::SeqCst)
        );
    }
    let in_flight_at_kill = in_flight.load(Ordering::SeqCst);
    let killed = node.kill();
    assert_eq!(
        killed.status.signal(),
        Some(9),
        "the node should have died of SIGKILL\n{}",
        killed.describe()
    );
    assert!(
        in_flight_at_kill > 0,
        "no write was in flight at the kill; the test proves nothing"
    );

    let joined = tokio::time::timeout(WRITE_TIMEOUT, async {
        while let Some(done) = writers.join_next().await {
            if let Err(e) = done {
                std::panic::resume_unwind(e.into_panic());
            }
        }
    })
    .await;
    assert!(joined.is_ok(), "writers did not stop after the node died");

    let acks = std::mem::take(&mut *acks.lock().unwrap());
    assert!(acks.len() >= ACKS_PER_ROUND);
    acks
}
