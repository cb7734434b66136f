//! Feeds in the store: every origin's signed records by sequence number, each origin's
//! head (the highest sequence held), and the stewards' membership records.
//!
//! *Invariant:* for every origin, the node holds every record of that origin's feed up to
//! its head that has not been superseded and that it may hold (a profile scoped to regions
//! other than the node's own is never held: docs/protocol.md §7b, "Delivery scope"), and
//! nothing above the head. Gossip may only add the record right after the head; sync adds
//! records in order from a peer that holds them, so a gap in what sync returns is a record
//! superseded (and compacted away) there, or one the peer may not show this node
//! ([`fetch_visible`]; [`visible_head`] keeps `Heads` from promising it).
//!
//! Compaction: a record with a key (a bulletin's id, a metric report's period, a shared
//! profile's id) supersedes the origin's earlier record with the same key, which is deleted
//! when the newer one is stored. A profile's tombstone has its profile's key: it replaces the
//! profile and stays, and the id stays dead: a later profile with that id is refused as a
//! replay whatever its sequence (renewed consent gets a fresh id). The feed thus holds
//! one record per key, and a node catching up never fetches versions nobody needs.

use techhire_protocol::{
    check_payload, profile_feed_key, visible_to, Bulletin, EncodeError, MetricReport, NodeKeypair,
    PublicKey, RecordKind, Rejection, SignedRecord, MAX_SYNC_MESSAGE_BYTES, PUBLIC_KEY_BYTES,
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

/// Room kept in a sync answer for its own framing (version, tag, count).
const RESPONSE_OVERHEAD: usize = 16;

/// `origin`'s records above `after` that a member node of `region` may hold (`None`: a node
/// with no region, which may hold no scoped profile), in order: at most `limit`, and no
/// more than fit in one sync message. Hidden records are skipped, and reading goes on past
/// them until `limit` records are found or the feed ends, so a short answer means "nothing
/// more for you" (or the message size), never "more hidden behind": a requester that pages
/// on a full answer stays correct.
pub fn fetch_visible(
    store: &Store,
    origin: &PublicKey,
    after: u64,
    limit: usize,
    region: Option<&str>,
) -> Result<Vec<SignedRecord>, StoreError> {
    let mut out: Vec<SignedRecord> = Vec::new();
    let mut size = RESPONSE_OVERHEAD;
    let mut from = after;
    let page = limit.max(1);
    loop {
        let batch = fetch(store, origin, from, page)?;
        let end = batch.len() < page;
        for record in batch {
            from = record.seq();
            if !visible_to(&record, region) {
                continue;
            }
            size += 4 + record.encoded_len();
            if size > MAX_SYNC_MESSAGE_BYTES || out.len() == limit {
                return Ok(out);
            }
            out.push(record);
        }
        if end || out.len() == limit {
            return Ok(out);
        }
    }
}

/// The highest sequence of `origin`'s feed (at or below `head`) whose record a member node
/// of `region` may hold; 0 if none. `Heads` reports this instead of the head, so that a
/// peer is never told of a record it will not be given and does not ask for it forever.
///
/// `known` is an earlier answer for the same origin and region, `(head then, answer then)`:
/// records are never added at or below a head and are only deleted (compaction), so what
/// was hidden or absent then still is, and only the records above the old head and the
/// old answer's own record need looking at. The scan goes down from the head in windows
/// that double, so the usual case (the last record is visible) reads one record.
pub fn visible_head(
    store: &Store,
    origin: &PublicKey,
    head: u64,
    region: Option<&str>,
    known: Option<(u64, u64)>,
) -> Result<u64, StoreError> {
    let mut known = known.filter(|(then, answer)| *then <= head && answer <= then);
    // Sequences in (0, top] are still to look at.
    let mut top = head;
    let mut window = 1u64;
    while top > 0 {
        if let Some((then, answer)) = known {
            if top <= then {
                // Everything in (answer, then] was hidden or absent already.
                if answer == 0 || is_held(store, origin, answer)? {
                    return Ok(answer);
                }
                // That record was compacted away since: look below it.
                top = answer - 1;
                known = None;
                continue;
            }
        }
        let low = top.saturating_sub(window);
        let records = fetch(store, origin, low, window as usize)?;
        if let Some(found) = records
            .iter()
            .rev()
            .find(|r| r.seq() <= top && visible_to(r, region))
        {
            return Ok(found.seq());
        }
        top = low;
        window = (window * 2).min(512);
    }
    Ok(0)
}

fn is_held(store: &Store, origin: &PublicKey, seq: u64) -> Result<bool, StoreError> {
    Ok(store
        .blob_get(Table::Feed, &feed_name(origin, seq))?
        .is_some())
}

/// What became of a record offered to a feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offered {
    /// Stored; the origin's head is now its sequence.
    Stored,
    /// Its sequence is not above the head (already held, or compacted, or a replay), or it
    /// is a profile whose id was tombstoned.
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
    if record.kind() == RecordKind::PROFILE {
        // A tombstoned id stays dead: an origin that signs the profile again at a later
        // sequence (by mistake, or to undo a withdrawal) must not bring it back.
        if let Some(tombstone) = tombstone_key(record) {
            if tx.lookup(Table::FeedKey, &tombstone)?.is_some() {
                return Ok(Offered::Replay);
            }
        }
    }
    tx.blob_put(Table::Feed, &feed_name(origin, seq), &record.encode());
    tx.index_put(Table::FeedHead, origin.as_bytes(), seq);
    if let Some(key) = record_key(record) {
        if let Some(older) = tx.lookup(Table::FeedKey, &key)? {
            tx.blob_delete(Table::Feed, &feed_name(origin, older));
        }
        tx.index_put(Table::FeedKey, &key, seq);
    }
    if record.kind() == RecordKind::TOMBSTONE {
        if let Some(tombstone) = tombstone_key(record) {
            tx.index_put(Table::FeedKey, &tombstone, seq);
        }
    }
    Ok(Offered::Stored)
}

/// `origin | TOMBSTONE | id`: set when a tombstone is stored, so that a profile offered
/// later for that id is refused with one lookup (the shared key `origin | PROFILE | id`
/// names the tombstone's sequence, not its kind). Also lists an origin's tombstones for
/// [`keyed`]; a later tombstone of the same id moves it, so it always names a held record.
fn tombstone_key(record: &SignedRecord) -> Option<Vec<u8>> {
    let id = profile_feed_key(record)?;
    let mut name = key_prefix(record.signer(), RecordKind::TOMBSTONE);
    name.extend_from_slice(id.as_bytes());
    Some(name)
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::store::StoreOptions;
    use techhire_protocol::{ProfileId, Scope, SharedProfile, Tombstone, TombstoneReason};

    fn profile(id: u8, scope: Scope) -> Vec<u8> {
        SharedProfile {
            id: ProfileId([id; 16]),
            version: 1,
            home_community: "Akron, OH".into(),
            home_region: "OH".into(),
            scope,
            expires_at_ms: u64::MAX,
            skills: vec![],
            assessments: vec![],
            training: None,
            certificates: vec![],
            work: vec![],
            projects: vec![],
            desired_roles: vec![],
            desired_occupations: vec![],
            remote: 0,
            relocate: false,
        }
        .encode()
    }

    fn oh() -> Scope {
        Scope::Regions(vec!["OH".into()])
    }

    fn tombstone(id: u8) -> Vec<u8> {
        Tombstone {
            id: ProfileId([id; 16]),
            reason: TombstoneReason::Withdrawn,
        }
        .encode()
    }

    fn bulletin(id: u64) -> Vec<u8> {
        Bulletin {
            id,
            title: "t".into(),
            body: String::new(),
        }
        .encode()
    }

    /// Signs `kind, payload` at `seq` and offers it as sync would.
    fn put(store: &Store, key: &NodeKeypair, seq: u64, kind: RecordKind, payload: Vec<u8>) {
        assert_eq!(offer_at(store, key, seq, kind, payload), Offered::Stored);
    }

    fn offer_at(
        store: &Store,
        key: &NodeKeypair,
        seq: u64,
        kind: RecordKind,
        payload: Vec<u8>,
    ) -> Offered {
        let record = SignedRecord::sign(key, kind, seq, 1_000, payload).unwrap();
        store.apply(|tx| offer(tx, &record, false)).unwrap()
    }

    fn seqs(records: &[SignedRecord]) -> Vec<u64> {
        records.iter().map(SignedRecord::seq).collect()
    }

    fn open() -> (tempfile::TempDir, Store) {
        let dir = tempfile::TempDir::new().unwrap();
        let store = Store::open(&dir.path().join("db"), &StoreOptions::default()).unwrap();
        (dir, store)
    }

    #[test]
    fn a_tombstoned_id_is_never_revived() {
        let (_dir, store) = open();
        let key = NodeKeypair::generate();
        put(
            &store,
            &key,
            1,
            RecordKind::PROFILE,
            profile(7, Scope::Federation),
        );
        put(&store, &key, 2, RecordKind::TOMBSTONE, tombstone(7));
        // Above the head, in order, well formed: still refused, and nothing changes.
        for (seq, in_order) in [(3, true), (9, false)] {
            let again = SignedRecord::sign(
                &key,
                RecordKind::PROFILE,
                seq,
                2_000,
                profile(7, Scope::Federation),
            )
            .unwrap();
            let offered = store.apply(|tx| offer(tx, &again, in_order)).unwrap();
            assert_eq!(offered, Offered::Replay);
        }
        assert_eq!(head(&store, &key.public()).unwrap(), 2);
        let held = fetch(&store, &key.public(), 0, 10).unwrap();
        assert_eq!(seqs(&held), [2]);
        assert_eq!(held[0].kind(), RecordKind::TOMBSTONE);
        assert_eq!(
            keyed(&store, &key.public(), RecordKind::TOMBSTONE).unwrap(),
            held
        );
        // Other ids are not affected, and a second tombstone of the id is still taken.
        put(
            &store,
            &key,
            3,
            RecordKind::PROFILE,
            profile(8, Scope::Federation),
        );
        put(&store, &key, 4, RecordKind::TOMBSTONE, tombstone(7));
        assert_eq!(seqs(&fetch(&store, &key.public(), 0, 10).unwrap()), [3, 4]);
        assert_eq!(
            offer_at(&store, &key, 5, RecordKind::PROFILE, profile(7, oh())),
            Offered::Replay
        );
    }

    #[test]
    fn hidden_records_are_skipped_and_never_promised() {
        let (_dir, store) = open();
        let key = NodeKeypair::generate();
        let origin = key.public();
        put(&store, &key, 1, RecordKind::BULLETIN, bulletin(1));
        put(&store, &key, 2, RecordKind::PROFILE, profile(2, oh()));
        put(&store, &key, 3, RecordKind::PROFILE, profile(3, oh()));
        put(
            &store,
            &key,
            4,
            RecordKind::PROFILE,
            profile(4, Scope::Federation),
        );
        put(&store, &key, 5, RecordKind::PROFILE, profile(5, oh()));

        let visible = |after, limit, region| {
            seqs(&fetch_visible(&store, &origin, after, limit, region).unwrap())
        };
        assert_eq!(visible(0, 10, Some("OH")), [1, 2, 3, 4, 5]);
        assert_eq!(visible(0, 10, Some("AL")), [1, 4]);
        assert_eq!(visible(0, 10, None), [1, 4]);
        // Paging: a full page may end before hidden records, and the next page skips them.
        assert_eq!(visible(0, 1, Some("AL")), [1]);
        assert_eq!(visible(1, 1, Some("AL")), [4]);
        assert_eq!(visible(4, 1, Some("AL")), Vec::<u64>::new());
        assert_eq!(visible(0, 2, Some("OH")), [1, 2]);

        let top = |head, region, known| visible_head(&store, &origin, head, region, known).unwrap();
        assert_eq!(top(5, Some("OH"), None), 5);
        assert_eq!(top(5, Some("AL"), None), 4);
        assert_eq!(top(3, Some("AL"), None), 1);

        // Growing hidden tail: the earlier answer is reused.
        put(&store, &key, 6, RecordKind::PROFILE, profile(6, oh()));
        assert_eq!(top(6, Some("AL"), Some((5, 4))), 4);
        assert_eq!(top(6, Some("AL"), None), 4);
        // The visible record is superseded by a hidden version of itself: look below it.
        put(&store, &key, 7, RecordKind::PROFILE, profile(4, oh()));
        assert_eq!(
            seqs(&fetch(&store, &origin, 0, 10).unwrap()),
            [1, 2, 3, 5, 6, 7]
        );
        assert_eq!(top(7, Some("AL"), Some((6, 4))), 1);
        assert_eq!(top(7, Some("AL"), None), 1);
        assert_eq!(visible(1, 10, Some("AL")), Vec::<u64>::new());
        // A tombstone goes to everyone.
        put(&store, &key, 8, RecordKind::TOMBSTONE, tombstone(2));
        assert_eq!(top(8, Some("AL"), Some((7, 1))), 8);
        assert_eq!(visible(1, 10, Some("AL")), [8]);
        // A feed of hidden records only.
        let other = NodeKeypair::generate();
        for seq in 1..=40 {
            put(
                &store,
                &other,
                seq,
                RecordKind::PROFILE,
                profile(100 + seq as u8, oh()),
            );
        }
        assert_eq!(
            visible_head(&store, &other.public(), 40, Some("AL"), None).unwrap(),
            0
        );
        assert_eq!(
            visible_head(&store, &other.public(), 40, Some("OH"), None).unwrap(),
            40
        );
        assert!(fetch_visible(&store, &other.public(), 0, 3, Some("AL"))
            .unwrap()
            .is_empty());
    }
}
