//! Federation speed: signed records verified per second (one by one and in batches, as sync
//! does), and a fresh member catching up a large feed from one peer over loopback, every
//! record verified and stored.
//!
//! Last, `BENCH_NODES` (default 50) members on loopback: how long a record published at one
//! takes to reach all of them once the gossip mesh is warm.
//!
//! `cargo bench -p techhire-node --bench federation`; `BENCH_RECORDS` (default 100,000) sets
//! the size of the feed to catch up.

use std::time::{Duration, Instant};

use techhire_node::federation::{feed, verify_parallel, Federation, FederationConfig};
use techhire_node::store::{Store, StoreOptions};
use techhire_protocol::{verify_batch, Bulletin, MembershipCert, NodeKeypair, SignedRecord};

use techhire_node::federation::now_ms;

fn main() {
    let n: u64 = std::env::var("BENCH_RECORDS")
        .ok()
        .map(|v| v.parse().expect("BENCH_RECORDS is a number"))
        .unwrap_or(100_000);
    let origin = NodeKeypair::generate();
    let started = Instant::now();
    let records: Vec<SignedRecord> = (1..=n)
        .map(|seq| {
            Bulletin {
                id: seq,
                title: format!("Bulletin {seq}"),
                body: "Employer roundtable on Thursday: cloud support roles, hiring on skills."
                    .into(),
            }
            .sign(&origin, seq, now_ms())
        })
        .collect();
    println!(
        "signed {n} records in {:.2} s ({:.0}/s)",
        started.elapsed().as_secs_f64(),
        n as f64 / started.elapsed().as_secs_f64()
    );

    let sample = &records[..records.len().min(20_000)];
    let t = Instant::now();
    for r in sample {
        r.verify().expect("valid");
    }
    let one = sample.len() as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    for chunk in sample.chunks(512) {
        assert!(verify_batch(chunk).iter().all(Result::is_ok));
    }
    let batch = sample.len() as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    for chunk in sample.chunks(512) {
        assert!(verify_parallel(chunk).iter().all(Result::is_ok));
    }
    let parallel = sample.len() as f64 / t.elapsed().as_secs_f64();
    println!(
        "verify one by one: {one:.0} records/s; verify_batch of 512: {batch:.0} records/s; \
         verify_parallel of 512 (as sync does, every core): {parallel:.0} records/s"
    );

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(catch_up(origin, records));
    let nodes: usize = std::env::var("BENCH_NODES")
        .ok()
        .map(|v| v.parse().expect("BENCH_NODES is a number"))
        .unwrap_or(50);
    rt.block_on(propagation(nodes));
}

/// `nodes` members on loopback, each dialling the first and the one before it; once the
/// mesh is warm, records published one at a time at random nodes, each timed until every
/// node holds it.
async fn propagation(nodes: usize) {
    let steward = NodeKeypair::generate();
    let tmp = tempfile::tempdir().expect("tempdir");
    let opts = StoreOptions {
        cache_capacity: 8 * 1024 * 1024,
        verify_on_open: false,
    };
    let keys: Vec<NodeKeypair> = (0..nodes).map(|_| NodeKeypair::generate()).collect();
    let certs: Vec<SignedRecord> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            MembershipCert {
                member: k.public(),
                community: format!("Community {i}"),
                region: "AL".into(),
                not_before_ms: now_ms() - 60_000,
                not_after_ms: now_ms() + 86_400_000,
            }
            .sign(&steward, now_ms() + i as u64)
        })
        .collect();
    let mut members: Vec<(Federation, Store, techhire_protocol::PublicKey)> = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let store = Store::open(&tmp.path().join(format!("n{i}")), &opts).expect("store");
        store
            .commit(|tx| {
                for c in &certs {
                    feed::keep_membership(tx, c)?;
                }
                Ok::<_, techhire_node::store::StoreError>(())
            })
            .await
            .expect("certificates");
        let mut bootstrap = Vec::new();
        if i > 0 {
            bootstrap.push(members[0].0.listen_addrs()[0].clone());
        }
        if i > 1 {
            bootstrap.push(members[i - 1].0.listen_addrs()[0].clone());
        }
        let mut config = FederationConfig::new(
            vec!["/ip4/127.0.0.1/tcp/0".parse().expect("addr")],
            vec![steward.public()],
        );
        config.bootstrap = bootstrap;
        let f = Federation::start(store.clone(), NodeKeypair::from_seed(key.seed()), config)
            .await
            .expect("member");
        while f.listen_addrs().is_empty() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        members.push((f, store, key.public()));
    }
    // Warm-up: every node publishes once and all of it spreads.
    for (f, _, _) in &members {
        f.publish(techhire_protocol::RecordKind::BULLETIN, bulletin_payload(0))
            .await
            .expect("publish");
    }
    let everywhere = |origin: &techhire_protocol::PublicKey, seq: u64| {
        members
            .iter()
            .all(|(_, store, _)| feed::head(store, origin).unwrap_or(0) >= seq)
    };
    let warm = Instant::now();
    while !members.iter().all(|(_, _, k)| everywhere(k, 1)) {
        assert!(
            warm.elapsed() < Duration::from_secs(120),
            "mesh never warmed up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut latencies = Vec::new();
    for round in 0..100u64 {
        let (f, _, key) = &members[(round as usize * 7) % members.len()];
        let started = Instant::now();
        let record = f
            .publish(
                techhire_protocol::RecordKind::BULLETIN,
                bulletin_payload(round + 1),
            )
            .await
            .expect("publish");
        while !everywhere(key, record.seq()) {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "a record did not spread"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        latencies.push(started.elapsed());
    }
    latencies.sort();
    let pct =
        |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize].as_secs_f64() * 1000.0;
    println!(
        "a record reaching all {nodes} nodes (warm mesh, 100 records): p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
    for (f, _, _) in &members {
        f.shutdown().await;
    }
}

fn bulletin_payload(id: u64) -> Vec<u8> {
    Bulletin {
        id,
        title: format!("Bulletin {id}"),
        body: String::new(),
    }
    .encode()
}

async fn catch_up(origin: NodeKeypair, records: Vec<SignedRecord>) {
    let n = records.len() as u64;
    let steward = NodeKeypair::generate();
    let tmp = tempfile::tempdir().expect("tempdir");
    let open = |name: &str| Store::open(&tmp.path().join(name), &StoreOptions::default());
    let (source_store, fresh_store) = (open("a").expect("store a"), open("b").expect("store b"));
    let cert = |key: &NodeKeypair| {
        MembershipCert {
            member: key.public(),
            community: "Bench".into(),
            region: "AL".into(),
            not_before_ms: now_ms() - 60_000,
            not_after_ms: now_ms() + 86_400_000,
        }
        .sign(&steward, now_ms())
    };
    // The source already holds the origin's feed (the origin itself need not run).
    let fresh_key = NodeKeypair::generate();
    let source_key = NodeKeypair::generate();
    let certs = [cert(&origin), cert(&source_key), cert(&fresh_key)];
    for store in [&source_store, &fresh_store] {
        store
            .commit(|tx| {
                for c in &certs {
                    feed::keep_membership(tx, c)?;
                }
                Ok::<_, techhire_node::store::StoreError>(())
            })
            .await
            .expect("certificates");
    }
    for chunk in records.chunks(5_000) {
        source_store
            .commit(|tx| {
                for r in chunk {
                    feed::offer(tx, r, false)?;
                }
                Ok::<_, techhire_node::store::StoreError>(())
            })
            .await
            .expect("filling the source feed");
    }
    let config = |bootstrap| {
        let mut c = FederationConfig::new(
            vec!["/ip4/127.0.0.1/tcp/0".parse().expect("addr")],
            vec![steward.public()],
        );
        c.bootstrap = bootstrap;
        c.sync_interval = Duration::from_millis(500);
        c
    };
    let source = Federation::start(source_store, source_key, config(vec![]))
        .await
        .expect("source");
    while source.listen_addrs().is_empty() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let started = Instant::now();
    let fresh = Federation::start(
        fresh_store.clone(),
        fresh_key,
        config(source.listen_addrs()),
    )
    .await
    .expect("fresh member");
    loop {
        if feed::head(&fresh_store, &origin.public()).expect("head") == n {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "catch-up stalled at {} of {n}: {:?}",
            feed::head(&fresh_store, &origin.public()).expect("head"),
            fresh
                .status()
                .map(|s| (s.peers, s.rejected, s.members.len()))
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = started.elapsed().as_secs_f64();
    println!(
        "fresh member caught up {n} records from one peer (verified, stored durably) in {took:.2} s ({:.0} records/s)",
        n as f64 / took
    );
    fresh.shutdown().await;
    source.shutdown().await;
}
