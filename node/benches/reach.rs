//! Reach: how fast a member that knows only one bootstrap address gets everything, and how
//! long an introduction takes between two members that know only a hub.
//!
//! 1. `BENCH_REACH_NODES` (default "20,100") members on loopback, each started with the
//!    first one as its only bootstrap, each publishing a few bulletins; then a new member
//!    starts with that bootstrap alone, timed until it holds every member's feed and until
//!    it is connected to `min_member_connections` (8) members it learned of from the
//!    federation.
//! 2. Two spokes that know only a hub: an introduction request from one to the other, timed
//!    from the moment it is queued until the home node's answer is back (the home node
//!    refuses it at once: the profile asked for is unknown there, which is as fast as an
//!    answer gets): first between spokes that have never been connected (so the time
//!    includes finding the other's address and dialling it), then, over the connection
//!    that made, again.
//!
//! `cargo bench -p techhire-node --bench reach`. All nodes run in this one process.

use std::time::{Duration, Instant};

use chrono::Utc;
use techhire_node::federation::{feed, now_ms, Federation, FederationConfig};
use techhire_node::model::{self, Employer, NewOutgoing, Record, RequestedBy, SizeBand};
use techhire_node::store::{Store, StoreError, StoreOptions, Table};
use techhire_protocol::{
    Bulletin, MembershipCert, NodeKeypair, ProfileId, PublicKey, RecordKind, RequestId,
    SignedRecord,
};

fn main() {
    let sizes: Vec<usize> = std::env::var("BENCH_REACH_NODES")
        .unwrap_or_else(|_| "20,100".into())
        .split(',')
        .map(|v| {
            v.trim()
                .parse()
                .expect("BENCH_REACH_NODES: numbers, comma-separated")
        })
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for n in sizes {
        rt.block_on(newcomer(n));
    }
    rt.block_on(spokes());
}

/// A federation of members with certificates for every key in `keys`, already in their
/// stores (as if each had joined and met the others' certificates).
struct Net {
    steward: NodeKeypair,
    certs: Vec<SignedRecord>,
    tmp: tempfile::TempDir,
}

impl Net {
    fn new(keys: &[NodeKeypair]) -> Net {
        let steward = NodeKeypair::generate();
        let certs = keys
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
        Net {
            steward,
            certs,
            tmp: tempfile::tempdir().expect("tempdir"),
        }
    }

    async fn start(
        &self,
        i: usize,
        key: &NodeKeypair,
        bootstrap: Vec<libp2p::Multiaddr>,
    ) -> (Federation, Store) {
        let opts = StoreOptions {
            cache_capacity: 8 * 1024 * 1024,
            verify_on_open: false,
        };
        let store = Store::open(&self.tmp.path().join(format!("n{i}")), &opts).expect("store");
        let certs = self.certs.clone();
        store
            .commit(move |tx| {
                for c in &certs {
                    feed::keep_membership(tx, c)?;
                }
                Ok::<_, StoreError>(())
            })
            .await
            .expect("certificates");
        let mut config = FederationConfig::new(
            vec!["/ip4/127.0.0.1/tcp/0".parse().expect("addr")],
            vec![self.steward.public()],
        );
        config.bootstrap = bootstrap;
        // The default interval (10 s): a shorter one multiplies every member's questions to
        // the bootstrap, which all of them ask at each tick.
        let f = Federation::start(store.clone(), NodeKeypair::from_seed(key.seed()), config)
            .await
            .expect("member");
        while f.listen_addrs().is_empty() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        (f, store)
    }
}

fn bulletin(id: u64) -> Vec<u8> {
    Bulletin {
        id,
        title: format!("Bulletin {id}"),
        body: "Hiring on skills: cloud support, data, help desk.".into(),
    }
    .encode()
}

fn member_connections(f: &Federation) -> usize {
    f.status()
        .map(|s| s.peers.iter().filter(|p| p["member"] == true).count())
        .unwrap_or(0)
}

async fn wait(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let started = Instant::now();
    while !ok() {
        assert!(started.elapsed() < limit, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `n` members joined through one bootstrap, then a newcomer with that bootstrap alone.
async fn newcomer(n: usize) {
    let keys: Vec<NodeKeypair> = (0..=n).map(|_| NodeKeypair::generate()).collect();
    let net = Net::new(&keys);
    let mut members: Vec<(Federation, Store, PublicKey)> = Vec::new();
    let setup = Instant::now();
    for (i, key) in keys[..n].iter().enumerate() {
        let bootstrap = members
            .first()
            .map(|(f, _, _)| f.listen_addrs())
            .unwrap_or_default();
        let (f, store) = net.start(i, key, bootstrap).await;
        members.push((f, store, key.public()));
    }
    const PER_MEMBER: u64 = 5;
    for (f, _, _) in &members {
        for id in 1..=PER_MEMBER {
            f.publish(RecordKind::BULLETIN, bulletin(id))
                .await
                .expect("publish");
        }
    }
    let holds_all = |store: &Store| {
        members
            .iter()
            .all(|(_, _, k)| feed::head(store, k).unwrap_or(0) >= PER_MEMBER)
    };
    let converging = Instant::now();
    let mut reported = Instant::now();
    wait("the members converge", Duration::from_secs(600), || {
        let done = members.iter().filter(|(_, s, _)| holds_all(s)).count();
        if reported.elapsed() > Duration::from_secs(30) {
            reported = Instant::now();
            let connections: usize = members.iter().map(|(f, _, _)| member_connections(f)).sum();
            println!(
                "  after {:.0} s: {done} of {n} members hold every feed; {:.1} member connections each",
                converging.elapsed().as_secs_f64(),
                connections as f64 / n as f64
            );
        }
        done == n
    })
    .await;
    println!(
        "{n} members joined through one bootstrap and converged in {:.1} s",
        setup.elapsed().as_secs_f64()
    );
    let bootstrap = members[0].0.listen_addrs();
    let started = Instant::now();
    let (fresh, fresh_store) = net.start(n, &keys[n], bootstrap).await;
    wait(
        "the newcomer holds every feed",
        Duration::from_secs(300),
        || holds_all(&fresh_store),
    )
    .await;
    let every_feed = started.elapsed();
    let want = 8.min(n);
    wait(
        "the newcomer meets members",
        Duration::from_secs(300),
        || member_connections(&fresh) >= want,
    )
    .await;
    let connected = started.elapsed();
    println!(
        "newcomer among {n} members, one bootstrap: every feed ({} records) in {:.2} s; \
         connected to {want} members in {:.2} s; knows the addresses of {} members",
        n as u64 * PER_MEMBER,
        every_feed.as_secs_f64(),
        connected.as_secs_f64(),
        fresh.status().map(|s| s.addresses_known).unwrap_or(0),
    );
    fresh.shutdown().await;
    for (f, _, _) in &members {
        f.shutdown().await;
    }
}

/// Queues an introduction request at `store` for a profile of `home` (unknown there);
/// returns the introduction's id.
async fn request(store: &Store, home: PublicKey) -> u64 {
    store
        .commit(move |tx| {
            if !tx.exists(Table::Employer, 1)? {
                let now = Utc::now();
                let employer = Record {
                    id: 1,
                    created_at: now,
                    updated_at: now,
                    data: Employer {
                        name: "Bench Data Co".into(),
                        industry: None,
                        size_band: SizeBand::Small,
                        contacts: Vec::new(),
                        commitment: None,
                        advocate: false,
                    },
                };
                tx.put(Table::Employer, 1, &employer)?;
            }
            let new = NewOutgoing {
                employer_id: 1,
                opening_id: None,
                message: "We are hiring on skills.".into(),
                requested_by: RequestedBy::Employer,
                profile: ProfileId(RequestId::random().0),
                home,
                home_community: "Community 2".into(),
                own_community: "Community 1".into(),
                expires_at: Utc::now() + chrono::Duration::days(1),
            };
            model::stage_outgoing(tx, new, Utc::now()).map_err(|e| match e {
                model::IntroductionError::Store(s) => s,
                other => panic!("cannot stage the request: {other}"),
            })
        })
        .await
        .expect("queue the request")
        .id
}

fn answered(store: &Store, id: u64) -> bool {
    store
        .get::<Record<model::Introduction>>(Table::Introduction, id)
        .ok()
        .flatten()
        .is_some_and(|r| r.data.status != model::IntroductionStatus::Requested)
}

/// Round trips between two spokes of a hub, first contact and then connected.
async fn spokes() {
    const ROUNDS: usize = 5;
    let mut first = Vec::new();
    let mut again = Vec::new();
    let mut met_early = 0;
    for _ in 0..ROUNDS {
        let keys: Vec<NodeKeypair> = (0..3).map(|_| NodeKeypair::generate()).collect();
        let net = Net::new(&keys);
        let (hub, _) = net.start(0, &keys[0], vec![]).await;
        let (a, a_store) = net.start(1, &keys[1], hub.listen_addrs()).await;
        let (b, _) = net.start(2, &keys[2], hub.listen_addrs()).await;
        wait("both spokes meet the hub", Duration::from_secs(60), || {
            member_connections(&a) >= 1 && member_connections(&b) >= 1
        })
        .await;
        // The spokes may find each other on their own (they keep up to 8 member
        // connections): then this round measures a connected pair; counted below.
        met_early += usize::from(member_connections(&a) > 1);
        let started = Instant::now();
        let id = request(&a_store, keys[2].public()).await;
        a.direct().deliver_now();
        wait("the answer comes back", Duration::from_secs(60), || {
            answered(&a_store, id)
        })
        .await;
        first.push(started.elapsed());
        let started = Instant::now();
        let id = request(&a_store, keys[2].public()).await;
        a.direct().deliver_now();
        wait("the answer comes back", Duration::from_secs(60), || {
            answered(&a_store, id)
        })
        .await;
        again.push(started.elapsed());
        for f in [a, b, hub] {
            f.shutdown().await;
        }
    }
    let ms = |d: &[Duration]| {
        let mut v: Vec<f64> = d.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        v.sort_by(f64::total_cmp);
        format!(
            "median {:.0} ms (min {:.0}, max {:.0})",
            v[v.len() / 2],
            v[0],
            v[v.len() - 1]
        )
    };
    println!(
        "introduction round trip between two spokes of a hub, {ROUNDS} pairs: never connected \
         before (address from the federation, dial, admission, request, answer): {} \
         ({met_early} of them had already met); connected: {}",
        ms(&first),
        ms(&again)
    );
}
