//! Feeds in the store: every origin's signed records by sequence number, each origin's
//! head (the highest sequence held), and the stewards' membership records.
//!
//! *Invariant:* for every origin, the node holds every record of that origin's feed up to
//! its head that has not been superseded, and nothing above the head. Gossip may only add
//! the record right after the head; sync adds records in order from a peer that holds them,
//! so a gap in what sync returns is a record superseded (and compacted away) there.
//!
//! Compaction: a record with a key (a bulletin's id, a metric report's period, a shared
//! profile's id) supersedes the origin's earlier record with the same key, which is deleted
//! when the newer one is stored. A profile's tombstone has its profile's key: it replaces the
//! profile and stays. The feed thus holds
//! one record per key, and a node catching up never fetches versions nobody needs.

use techhire_protocol::{
    check_payload, profile_feed_key, Bulletin, EncodeError, MetricReport, NodeKeypair, PublicKey,
    RecordKind, Rejection, SignedRecord, PUBLIC_KEY_BYTES,
};

use crate::store::{Store, StoreError, Table, WriteTx};

/// `origin | seq`: big-endian, so that an origin's records are one range in order.
fn feed_name(origin: &PublicKey, seq: u64) -> [u8; PUBLIC_KEY_BYTES + 8] {
    let mut name = [0u8; PUBLIC_KEY_BYTES + 8];
    name[..PUBLIC_KEY_BYTES].copy_from_slice(origin.as_bytes());
    name[PUBLIC_KEY_BYTES..].copy_from_slice(&seq.to_be_bytes());
    name
}

/// The highest sequence held of `origin`'s feed; 0 if none.
pub fn head(store: &Store, origin: &PublicKey) -> Result<u64, StoreError> {
    Ok(store
        .lookup(Table::FeedHead, origin.as_bytes())?
        .unwrap_or(0))
}

fn head_in(tx: &WriteTx<'_>, origin: &PublicKey) -> Result<u64, StoreError> {
    Ok(tx.lookup(Table::FeedHead, origin.as_bytes())?.unwrap_or(0))
}

/// Every origin whose feed the node holds, with its head.
pub fn heads(store: &Store) -> Result<Vec<(PublicKey, u64)>, StoreError> {
    let mut out = Vec::new();
    for (name, head) in store.index_range(Table::FeedHead, &[], None, usize::MAX)? {
        let bytes: [u8; PUBLIC_KEY_BYTES] = name
            .try_into()
            .map_err(|_| corrupt("a feed head names no key"))?;
        let origin =
            PublicKey::from_bytes(bytes).map_err(|_| corrupt("a feed head names a bad key"))?;
        out.push((origin, head));
    }
    Ok(out)
}

/// `origin`'s records with a sequence above `after`, in order, at most `limit`.
pub fn fetch(
    store: &Store,
    origin: &PublicKey,
    after: u64,
    limit: usize,
) -> Result<Vec<SignedRecord>, StoreError> {
    store
        .blob_range(
            Table::Feed,
            origin.as_bytes(),
            Some(&feed_name(origin, after)),
            limit,
        )?
        .into_iter()
        .map(|(_, bytes)| decode(&bytes))
        .collect()
}

/// What became of a record offered to a feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offered {
    /// Stored; the origin's head is now its sequence.
    Stored,
    /// Its sequence is not above the head: already held, or compacted, or a replay.
    Replay,
    /// Its sequence is beyond the record after the head: fetch the gap by sync first.
    Gap,
}

/// Offers a verified record to its origin's feed, inside `tx`. With `in_order_only` (gossip)
/// only the record right after the head is taken; otherwise (sync, which returns an
/// origin's records in order) any record above the head is.
pub fn offer(
    tx: &mut WriteTx<'_>,
    record: &SignedRecord,
    in_order_only: bool,
) -> Result<Offered, StoreError> {
    let origin = record.signer();
    let head = head_in(tx, origin)?;
    let seq = record.seq();
    if seq <= head {
        return Ok(Offered::Replay);
    }
    if in_order_only && seq != head + 1 {
        return Ok(Offered::Gap);
    }
    tx.blob_put(Table::Feed, &feed_name(origin, seq), &record.encode());
    tx.index_put(Table::FeedHead, origin.as_bytes(), seq);
    if let Some(key) = record_key(record) {
        if let Some(older) = tx.lookup(Table::FeedKey, &key)? {
            tx.blob_delete(Table::Feed, &feed_name(origin, older));
        }
        tx.index_put(Table::FeedKey, &key, seq);
    }
    Ok(Offered::Stored)
}

/// `origin | kind | key` of a record that later records with the same key supersede; `None`
/// for records that nothing supersedes.
fn record_key(record: &SignedRecord) -> Option<Vec<u8>> {
    if matches!(record.kind(), RecordKind::PROFILE | RecordKind::TOMBSTONE) {
        // A profile and its tombstone share one key, so the tombstone supersedes the
        // profile, and is itself kept.
        let id = profile_feed_key(record)?;
        let mut name = key_prefix(record.signer(), RecordKind::PROFILE);
        name.extend_from_slice(id.as_bytes());
        return Some(name);
    }
    let key: u64 = match record.kind() {
        RecordKind::BULLETIN => Bulletin::decode(record.payload()).ok()?.id,
        RecordKind::METRIC_REPORT => MetricReport::decode(record.payload()).ok()?.feed_key(),
        _ => return None,
    };
    let mut name = key_prefix(record.signer(), record.kind());
    name.extend_from_slice(&key.to_be_bytes());
    Some(name)
}

/// `origin | kind`: where an origin's keyed records of one kind are listed in `FeedKey`.
fn key_prefix(origin: &PublicKey, kind: RecordKind) -> Vec<u8> {
    let mut name = Vec::with_capacity(PUBLIC_KEY_BYTES + 10);
    name.extend_from_slice(origin.as_bytes());
    name.extend_from_slice(&kind.0.to_be_bytes());
    name
}

/// The latest record of every key of `kind` that `origin` published (one per key: earlier
/// ones were compacted away), in key order.
pub fn keyed(
    store: &Store,
    origin: &PublicKey,
    kind: RecordKind,
) -> Result<Vec<SignedRecord>, StoreError> {
    let mut out = Vec::new();
    for (_, seq) in
        store.index_range(Table::FeedKey, &key_prefix(origin, kind), None, usize::MAX)?
    {
        let mut found = fetch(store, origin, seq.saturating_sub(1), 1)?;
        match found.pop() {
            Some(record) if record.seq() == seq => out.push(record),
            _ => return Err(corrupt("a feed key names a record the feed does not hold")),
        }
    }
    Ok(out)
}

/// Why records could not be added to the node's own feed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Encode(#[from] EncodeError),
    #[error("the record would be refused by every peer: {}", .0.as_str())]
    Refused(Rejection),
}

/// Signs `payloads` as records of `kind` at the end of `keypair`'s own feed, in order,
/// inside `tx`. Each must pass the payload rules peers apply (`check_payload`), so the node
/// never publishes what its peers would refuse.
pub fn sign_into_feed(
    tx: &mut WriteTx<'_>,
    keypair: &NodeKeypair,
    kind: RecordKind,
    payloads: Vec<Vec<u8>>,
    now_ms: u64,
) -> Result<Vec<SignedRecord>, SignError> {
    let own = keypair.public();
    let mut records = Vec::with_capacity(payloads.len());
    for payload in payloads {
        let seq = next_seq(tx, &own)?;
        let record = SignedRecord::sign(keypair, kind, seq, now_ms, payload)?;
        check_payload(&record).map_err(SignError::Refused)?;
        offer(tx, &record, true)?;
        records.push(record);
    }
    Ok(records)
}

/// The next sequence of this node's own feed.
pub fn next_seq(tx: &WriteTx<'_>, own: &PublicKey) -> Result<u64, StoreError> {
    Ok(head_in(tx, own)? + 1)
}

/// `steward | kind | SHA-256 of the record`: a steward's certificates and revocations are a
/// set, not a feed (each is injected at a different node, and two issued in the same
/// millisecond share a sequence), so they are kept by content and exchanged whole.
fn membership_name(record: &SignedRecord) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut name = Vec::with_capacity(PUBLIC_KEY_BYTES + 2 + 32);
    name.extend_from_slice(record.signer().as_bytes());
    name.extend_from_slice(&record.kind().0.to_be_bytes());
    name.extend_from_slice(&Sha256::digest(record.encode()));
    name
}

/// Keeps a verified membership record; `false` if it was already held.
pub fn keep_membership(tx: &mut WriteTx<'_>, record: &SignedRecord) -> Result<bool, StoreError> {
    let name = membership_name(record);
    if tx.blob_exists(Table::Membership, &name)? {
        return Ok(false);
    }
    tx.blob_put(Table::Membership, &name, &record.encode());
    Ok(true)
}

/// Every membership record held.
pub fn membership_records(store: &Store) -> Result<Vec<SignedRecord>, StoreError> {
    store
        .blob_range(Table::Membership, &[], None, usize::MAX)?
        .into_iter()
        .map(|(_, bytes)| decode(&bytes))
        .collect()
}

/// Whether a kind is one of the stewards' membership records.
pub fn is_membership(kind: RecordKind) -> bool {
    kind == RecordKind::MEMBERSHIP_CERT || kind == RecordKind::REVOCATION
}

fn decode(bytes: &[u8]) -> Result<SignedRecord, StoreError> {
    SignedRecord::decode(bytes)
        .map_err(|e| corrupt(&format!("a stored record does not decode: {e}")))
}

fn corrupt(reason: &str) -> StoreError {
    StoreError::Corrupt {
        key: "federation".into(),
        reason: reason.into(),
    }
}
