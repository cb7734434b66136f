//! Member discovery: where every member can be dialled, learned from the federation itself.
//!
//! Each member signs its own addresses record (kind 10, docs/protocol.md §9.4) whenever
//! the addresses it can be reached at change (listen addresses, addresses confirmed from
//! outside, relayed addresses through a reachable member) and keeps the latest record of
//! every member in the store (`Table::MemberAddresses`), so that after a restart it can
//! dial the members it knew even if its bootstrap is down. Members hand each other all the
//! records they hold when asked ([`SyncRequest::Addresses`](techhire_protocol::SyncRequest)),
//! once on admission and at every sync tick; a record is verified (signature, clock,
//! payload, origin a member now) before it is kept, and a record of an origin replaces the
//! one held only if its sequence is higher.
//!
//! The swarm task ([`super::network`]) decides whom to dial from the book: every member it
//! has a direct message for, and others while it holds fewer member connections than
//! configured, each with an exponential [`Backoff`] after a failed dial.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};

use techhire_protocol::{
    rules, MemberAddresses, PublicKey, RecordKind, Rejection, SignedRecord, MAX_ADDRESSES,
    PUBLIC_KEY_BYTES,
};

use crate::store::{Store, StoreError, Table, WriteTx};

/// The first wait after a failed dial; each further failure doubles it up to [`MAX_BACKOFF`].
pub(super) const FIRST_BACKOFF: Duration = Duration::from_secs(2);
/// The longest wait between dials of one member.
pub(super) const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// What the book holds of one member: its latest record's sequence and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Known {
    pub(super) seq: u64,
    pub(super) reachable: bool,
    pub(super) addrs: Vec<Multiaddr>,
}

/// Checks an addresses record from a peer, all but its origin's membership (the caller
/// holds that state): kind, signature, clock, payload.
pub(super) fn check(record: &SignedRecord, now_ms: u64) -> Result<Known, Rejection> {
    if record.kind() != RecordKind::ADDRESSES {
        return Err(Rejection::UnknownKind);
    }
    record.verify().map_err(|_| Rejection::BadSignature)?;
    rules::check_time(record, now_ms)?;
    known(record).ok_or(Rejection::BadPayload)
}

/// What a (checked or stored) record says; `None` if its payload does not decode.
fn known(record: &SignedRecord) -> Option<Known> {
    let payload = MemberAddresses::decode(record.payload()).ok()?;
    let peer = super::peer_id_of(record.signer());
    Some(Known {
        seq: record.seq(),
        reachable: payload.reachable,
        addrs: payload
            .addresses
            .iter()
            .filter_map(|a| a.parse::<Multiaddr>().ok())
            .map(|a| without_peer(a, peer))
            .collect(),
    })
}

/// `addr` without a trailing `/p2p/<peer>` naming `peer` itself (dials add it back).
fn without_peer(mut addr: Multiaddr, peer: Option<PeerId>) -> Multiaddr {
    if let (Some(Protocol::P2p(id)), Some(peer)) = (addr.iter().last(), peer) {
        if id == peer {
            addr.pop();
        }
    }
    addr
}

/// Keeps `record` if it is newer than the one held of its origin; `Ok(true)` if it was.
pub(super) fn keep(tx: &mut WriteTx<'_>, record: &SignedRecord) -> Result<bool, StoreError> {
    let name = record.signer().as_bytes();
    if let Some(held) = tx.blob_get(Table::MemberAddresses, name)? {
        if SignedRecord::decode(&held).is_ok_and(|h| h.seq() >= record.seq()) {
            return Ok(false);
        }
    }
    tx.blob_put(Table::MemberAddresses, name, &record.encode());
    Ok(true)
}

/// Every record held, with what it says (records that no longer decode are skipped: they
/// were checked when stored, and the next exchange replaces them).
pub(super) fn load(store: &Store) -> Result<HashMap<PublicKey, Known>, StoreError> {
    let mut book = HashMap::new();
    for (_, bytes) in store.blob_range(Table::MemberAddresses, &[], None, usize::MAX)? {
        if let Ok(record) = SignedRecord::decode(&bytes) {
            if let Some(k) = known(&record) {
                book.insert(*record.signer(), k);
            }
        }
    }
    Ok(book)
}

/// Up to `limit` records held, of origins above `after` in key order.
pub(super) fn page(
    store: &Store,
    after: &[u8; PUBLIC_KEY_BYTES],
    limit: usize,
) -> Result<Vec<SignedRecord>, StoreError> {
    let from = (*after != [0; PUBLIC_KEY_BYTES]).then_some(&after[..]);
    Ok(store
        .blob_range(Table::MemberAddresses, &[], from, limit)?
        .into_iter()
        .filter_map(|(_, bytes)| SignedRecord::decode(&bytes).ok())
        .collect())
}

/// The addresses a node advertises: the configured ones first, then those confirmed from
/// outside, relayed ones and listen addresses; loopback addresses only if there is nothing
/// else (a node on one machine, as in tests), and never an unspecified one. At most
/// [`MAX_ADDRESSES`], without duplicates.
pub(super) fn advertised<'a>(
    configured: &'a [Multiaddr],
    external: impl IntoIterator<Item = &'a Multiaddr>,
    listening: &'a [Multiaddr],
    own: Option<PeerId>,
) -> Vec<String> {
    let all: Vec<Multiaddr> = configured
        .iter()
        .chain(external)
        .chain(listening)
        .map(|a| without_peer(a.clone(), own))
        .filter(|a| !is_unspecified(a))
        .collect();
    let routable = all.iter().any(|a| !is_loopback(a));
    let mut out: Vec<String> = Vec::new();
    for addr in all {
        let text = addr.to_string();
        if (routable && is_loopback(&addr)) || out.contains(&text) {
            continue;
        }
        out.push(text);
        if out.len() == MAX_ADDRESSES {
            break;
        }
    }
    out
}

fn is_loopback(addr: &Multiaddr) -> bool {
    match addr.iter().next() {
        Some(Protocol::Ip4(ip)) => ip.is_loopback(),
        Some(Protocol::Ip6(ip)) => ip.is_loopback(),
        _ => false,
    }
}

fn is_unspecified(addr: &Multiaddr) -> bool {
    match addr.iter().next() {
        Some(Protocol::Ip4(ip)) => ip.is_unspecified(),
        Some(Protocol::Ip6(ip)) => ip.is_unspecified(),
        _ => false,
    }
}

/// Whether an address goes through a relay.
pub(super) fn is_relayed(addr: &Multiaddr) -> bool {
    addr.iter().any(|p| p == Protocol::P2pCircuit)
}

/// When each member may be dialled again.
#[derive(Debug, Default)]
pub(super) struct Backoff {
    next: HashMap<PeerId, (Instant, u32)>,
}

impl Backoff {
    /// Whether `peer` may be dialled at `now`.
    pub(super) fn due(&self, peer: &PeerId, now: Instant) -> bool {
        self.next.get(peer).is_none_or(|(at, _)| *at <= now)
    }

    /// A dial of `peer` starts at `now`: the next waits twice as long as the last.
    pub(super) fn dialled(&mut self, peer: PeerId, now: Instant) {
        let failures = self.next.get(&peer).map_or(0, |(_, n)| *n);
        let wait = FIRST_BACKOFF
            .saturating_mul(1u32 << failures.min(16))
            .min(MAX_BACKOFF);
        self.next.insert(peer, (now + wait, failures + 1));
    }

    /// `peer` is connected: the next dial, after it leaves, may go at once.
    pub(super) fn connected(&mut self, peer: &PeerId) {
        self.next.remove(peer);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::store::StoreOptions;
    use techhire_protocol::NodeKeypair;

    fn record(key: &NodeKeypair, seq: u64, addrs: &[&str]) -> SignedRecord {
        MemberAddresses {
            reachable: false,
            addresses: addrs.iter().map(|a| a.to_string()).collect(),
        }
        .try_sign(key, seq, seq)
        .unwrap()
    }

    #[tokio::test]
    async fn a_newer_record_replaces_the_held_one_and_an_older_one_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db"), &StoreOptions::default()).unwrap();
        let key = NodeKeypair::from_seed([5; 32]);
        let keep_one = |r: SignedRecord| {
            let store = store.clone();
            async move { store.commit(move |tx| keep(tx, &r)).await.unwrap() }
        };
        assert!(keep_one(record(&key, 10, &["/ip4/10.0.0.1/tcp/1"])).await);
        assert!(!keep_one(record(&key, 9, &["/ip4/10.0.0.9/tcp/9"])).await);
        assert!(!keep_one(record(&key, 10, &["/ip4/10.0.0.9/tcp/9"])).await);
        assert!(keep_one(record(&key, 11, &["/ip4/10.0.0.2/tcp/2", "nonsense"])).await);
        let book = load(&store).unwrap();
        let known = &book[&key.public()];
        assert_eq!(known.seq, 11);
        assert_eq!(
            known.addrs,
            vec!["/ip4/10.0.0.2/tcp/2".parse::<Multiaddr>().unwrap()],
            "an address that does not parse is ignored"
        );
        assert_eq!(page(&store, &[0; 32], 10).unwrap().len(), 1);
        assert!(page(&store, key.public().as_bytes(), 10)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn loopback_addresses_are_advertised_only_when_there_is_nothing_else() {
        let a = |s: &str| s.parse::<Multiaddr>().unwrap();
        let listening = [a("/ip4/127.0.0.1/tcp/1"), a("/ip4/10.1.1.2/tcp/1")];
        assert_eq!(
            advertised(&[], [], &listening, None),
            ["/ip4/10.1.1.2/tcp/1"]
        );
        assert_eq!(
            advertised(&[], [], &listening[..1], None),
            ["/ip4/127.0.0.1/tcp/1"]
        );
        let configured = [a("/dns4/node.example/tcp/7070"), a("/ip4/0.0.0.0/tcp/1")];
        assert_eq!(
            advertised(&configured, [&listening[1]], &listening, None),
            ["/dns4/node.example/tcp/7070", "/ip4/10.1.1.2/tcp/1"]
        );
    }

    #[test]
    fn backoff_doubles_up_to_its_cap_and_resets_on_connection() {
        let peer = PeerId::random();
        let now = Instant::now();
        let mut b = Backoff::default();
        assert!(b.due(&peer, now));
        b.dialled(peer, now);
        assert!(!b.due(&peer, now + FIRST_BACKOFF - Duration::from_millis(1)));
        assert!(b.due(&peer, now + FIRST_BACKOFF));
        for _ in 0..20 {
            b.dialled(peer, now);
        }
        assert!(b.due(&peer, now + MAX_BACKOFF));
        assert!(!b.due(&peer, now + MAX_BACKOFF - Duration::from_millis(1)));
        b.connected(&peer);
        assert!(b.due(&peer, now));
    }
}
