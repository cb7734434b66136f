//! A steward and member nodes on loopback.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use techhire_node::federation::{Federation, FederationConfig, Status};
use techhire_node::store::{Store, StoreOptions};
use techhire_protocol::{Bulletin, MembershipCert, NodeKeypair, PublicKey, RecordKind};

pub(crate) const DAY_MS: u64 = 24 * 3600 * 1000;

pub(crate) use techhire_node::federation::now_ms;

/// A running member node.
pub(crate) struct Member {
    pub(crate) name: String,
    pub(crate) key: NodeKeypair,
    pub(crate) federation: Federation,
    pub(crate) store: Store,
    pub(crate) dir: PathBuf,
    _tmp: Option<TempDir>,
}

pub(crate) struct Steward {
    pub(crate) key: NodeKeypair,
}

impl Steward {
    pub(crate) fn new() -> Steward {
        Steward {
            key: NodeKeypair::generate(),
        }
    }

    pub(crate) fn certify(
        &self,
        member: &PublicKey,
        name: &str,
        from: u64,
        until: u64,
    ) -> techhire_protocol::SignedRecord {
        self.certify_in(member, name, "TX", from, until)
    }

    /// A certificate for a member of `region`.
    pub(crate) fn certify_in(
        &self,
        member: &PublicKey,
        name: &str,
        region: &str,
        from: u64,
        until: u64,
    ) -> techhire_protocol::SignedRecord {
        MembershipCert {
            member: *member,
            community: name.to_string(),
            region: region.to_string(),
            not_before_ms: from,
            not_after_ms: until,
        }
        .sign(&self.key, now_ms())
    }
}

pub(crate) fn config(steward: &Steward, bootstrap: Vec<libp2p::Multiaddr>) -> FederationConfig {
    let mut c = FederationConfig::new(
        vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        vec![steward.key.public()],
    );
    c.bootstrap = bootstrap;
    c.sync_interval = Duration::from_millis(400);
    c.heartbeat = Duration::from_millis(200);
    // Members are confirmed within milliseconds here; a stalled peer is dropped sooner.
    c.admission_deadline = Duration::from_secs(5);
    c
}

impl Member {
    /// A new member certified by `steward`, connecting to `bootstrap`.
    pub(crate) async fn start(
        steward: &Steward,
        name: &str,
        bootstrap: Vec<libp2p::Multiaddr>,
    ) -> Member {
        Member::start_in(steward, name, "TX", bootstrap).await
    }

    /// A new member of `region` certified by `steward`, connecting to `bootstrap`.
    pub(crate) async fn start_in(
        steward: &Steward,
        name: &str,
        region: &str,
        bootstrap: Vec<libp2p::Multiaddr>,
    ) -> Member {
        let tmp = TempDir::new().unwrap();
        let dir = tmp.path().join("db");
        let key = NodeKeypair::generate();
        let cert = steward.certify_in(
            &key.public(),
            name,
            region,
            now_ms() - DAY_MS,
            now_ms() + DAY_MS,
        );
        // As `techhire federation join` does, the certificate is in before the node meets
        // anyone; only then does it dial.
        let m = Member::open(steward, name, key, dir, Some(tmp), vec![]).await;
        m.federation.admit_membership(cert).await.unwrap();
        for addr in bootstrap {
            m.federation.dial(addr).await.unwrap();
        }
        m
    }

    /// Starts (or restarts) a member on the store in `dir`.
    pub(crate) async fn open(
        steward: &Steward,
        name: &str,
        key: NodeKeypair,
        dir: PathBuf,
        tmp: Option<TempDir>,
        bootstrap: Vec<libp2p::Multiaddr>,
    ) -> Member {
        // A store just closed by a stopping node may still be held for a moment.
        let deadline = Instant::now() + Duration::from_secs(10);
        let store = loop {
            match Store::open(&dir, &StoreOptions::default()) {
                Ok(s) => break s,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("reopening {}: {e}", dir.display()),
            }
        };
        let federation = Federation::start(
            store.clone(),
            NodeKeypair::from_seed(key.seed()),
            config(steward, bootstrap),
        )
        .await
        .unwrap();
        wait_for(Duration::from_secs(30), || {
            !federation.listen_addrs().is_empty()
        })
        .await;
        Member {
            name: name.to_string(),
            key,
            federation,
            store,
            dir,
            _tmp: tmp,
        }
    }

    pub(crate) fn addr(&self) -> libp2p::Multiaddr {
        self.federation.listen_addrs()[0].clone()
    }

    pub(crate) fn status(&self) -> Status {
        self.federation.status().unwrap()
    }

    /// Publishes `n` bulletins; returns the last sequence.
    pub(crate) async fn publish(&self, n: u64) -> u64 {
        let mut last = 0;
        // Fresh ids: a bulletin with an id already used would supersede the older one.
        let base = self.head_of(&self.key.public());
        for i in 0..n {
            let b = Bulletin {
                id: base + i,
                title: format!("{} bulletin {i}", self.name),
                body: "Job fair at the library on Saturday.".into(),
            };
            last = self
                .federation
                .publish(RecordKind::BULLETIN, b.encode())
                .await
                .unwrap()
                .seq();
        }
        last
    }

    /// The head this node holds of `origin`'s feed.
    pub(crate) fn head_of(&self, origin: &PublicKey) -> u64 {
        techhire_node::federation::feed::head(&self.store, origin).unwrap()
    }

    /// Stops the node and gives back what is needed to restart it.
    pub(crate) async fn stop(self) -> (NodeKeypair, PathBuf, Option<TempDir>) {
        self.federation.shutdown().await;
        let Member { key, dir, _tmp, .. } = self;
        (key, dir, _tmp)
    }

    pub(crate) fn rejected(&self, reason: &str) -> u64 {
        *self.status().rejected.get(reason).unwrap_or(&0)
    }
}

/// Polls `ok` until it holds or `limit` passes; panics then.
pub(crate) async fn wait_for(limit: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out after {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether every member holds every record of every origin in `published` (origin, last
/// sequence), each once and in order.
pub(crate) fn converged(members: &[&Member], published: &[(PublicKey, u64)]) -> bool {
    members.iter().all(|m| {
        published.iter().all(|(origin, last)| {
            let records = m.federation.records(origin, 0).unwrap();
            records.len() as u64 == *last
                && records
                    .iter()
                    .enumerate()
                    .all(|(i, r)| r.seq() == i as u64 + 1)
        })
    })
}
