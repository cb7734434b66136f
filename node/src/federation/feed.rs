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
    PublicKey, RecordKind, Rejection, SignedRecord, MAX_SYNC_MESSAGE_BYTES,
    MEMBERSHIP_CURSOR_BYTES, PUBLIC_KEY_BYTES,
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

/// Most feed records one `Fetch` answer reads, visible to the asker or not: a peer of
/// another region asking for a feed of mostly region-scoped profiles must not make the
/// node read (and decode) the whole feed for one answer.
pub const FETCH_SCAN_LIMIT: usize = 4096;
/// Most feed records one `Heads` answer reads, over all origins.
pub const HEADS_SCAN_BUDGET: usize = 8192;

/// What [`fetch_visible`] found.
#[derive(Debug, Default)]
pub struct FetchScan {
    /// The visible records, in order.
    pub records: Vec<SignedRecord>,
    /// `Some(seq)` if reading stopped at the scan limit: nothing above the last record
    /// (or above `after`, if none) up to `seq` is visible, and the feed may go on above
    /// `seq`. A later scan for the same asker region may start there ([`FetchSkips`]).
    pub stopped_at: Option<u64>,
}

/// `origin`'s records above `after` that a member node of `region` may hold (`None`: a node
/// with no region, which may hold no scoped profile), in order: at most `limit`, no more
/// than fit in one sync message, and reading at most `scan_limit` records. Hidden records
/// are skipped. Reading starts above `skip` when it is above `after` (an earlier scan found
/// nothing visible in between).
///
/// An answer shorter than `limit` means "nothing more for you" unless `stopped_at` is set:
/// then the scan limit cut it short. The sync answer cannot say so (a new response tag
/// would be a new protocol name, docs/protocol.md §4): the asker keeps fetching while it
/// is below the head the responder's `Heads` announced, and the responder remembers where
/// it stopped so that the next request from the same place goes on from there.
pub fn fetch_visible(
    store: &Store,
    origin: &PublicKey,
    after: u64,
    limit: usize,
    region: Option<&str>,
    scan_limit: usize,
    skip: Option<u64>,
) -> Result<FetchScan, StoreError> {
    let mut out: Vec<SignedRecord> = Vec::new();
    let mut size = RESPONSE_OVERHEAD;
    let mut from = skip.map_or(after, |s| s.max(after));
    let mut read = 0usize;
    loop {
        let page = limit.max(1).min(scan_limit.saturating_sub(read));
        if page == 0 {
            return Ok(FetchScan {
                records: out,
                stopped_at: Some(from),
            });
        }
        let batch = fetch(store, origin, from, page)?;
        read += batch.len();
        let end = batch.len() < page;
        for record in batch {
            if !visible_to(&record, region) {
                from = record.seq();
                continue;
            }
            size += 4 + record.encoded_len();
            if size > MAX_SYNC_MESSAGE_BYTES || out.len() == limit {
                return Ok(FetchScan {
                    records: out,
                    stopped_at: None,
                });
            }
            from = record.seq();
            out.push(record);
        }
        if end || out.len() == limit {
            return Ok(FetchScan {
                records: out,
                stopped_at: None,
            });
        }
    }
}

/// Where earlier capped [`fetch_visible`] scans stopped, by origin, asker region and the
/// place the scan started from (`after`, or the last record it returned): nothing in
/// between is visible to that region. That stays true (records are never added at or below
/// a head and a record's visibility never changes), so a later request from the same place
/// goes on where the last one stopped. Bounded: forgotten whole when full.
#[derive(Debug, Default)]
pub struct FetchSkips {
    skips: std::collections::HashMap<(PublicKey, Option<String>, u64), u64>,
}

/// Most places [`FetchSkips`] remembers.
const MAX_SKIPS: usize = 10_000;

impl FetchSkips {
    /// Where a scan of `origin` for `region` from `after` may start.
    pub fn get(&self, origin: &PublicKey, region: Option<&str>, after: u64) -> Option<u64> {
        self.skips
            .get(&(*origin, region.map(str::to_owned), after))
            .copied()
    }

    /// Remembers what a scan from `after` found.
    pub fn note(&mut self, origin: &PublicKey, region: Option<&str>, after: u64, scan: &FetchScan) {
        let Some(stopped) = scan.stopped_at else {
            return;
        };
        let from = scan.records.last().map_or(after, SignedRecord::seq);
        if self.skips.len() >= MAX_SKIPS {
            self.skips.clear();
        }
        self.skips
            .insert((*origin, region.map(str::to_owned), from), stopped);
    }
}

/// What [`visible_head`] knows of an origin's feed for one region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisibleHead {
    /// The highest visible sequence (0: none).
    Found(u64),
    /// The scan ran out of budget: nothing above `below` (up to the head it was asked
    /// about) is visible; below it is not known yet.
    Below(u64),
}

/// The highest sequence of `origin`'s feed (at or below `head`) whose record a member node
/// of `region` may hold. `Heads` reports this instead of the head, so that a peer is never
/// told of a record it will not be given and does not ask for it forever.
///
/// `known` is an earlier answer for the same origin and region, `(head then, answer then)`:
/// records are never added at or below a head and are only deleted (compaction), so what
/// was hidden or absent then still is, and only the records above the old head and the
/// old answer's own record (or, for [`VisibleHead::Below`], what it had not reached) need
/// looking at. The scan goes down from the head in windows that double, so the usual case
/// (the last record is visible) reads one record; it reads at most `budget` records (taken
/// off it) and answers [`VisibleHead::Below`] when that runs out: the next call goes on.
pub fn visible_head(
    store: &Store,
    origin: &PublicKey,
    head: u64,
    region: Option<&str>,
    known: Option<(u64, VisibleHead)>,
    budget: &mut usize,
) -> Result<VisibleHead, StoreError> {
    let mut known = known.filter(|(then, answer)| {
        *then <= head
            && match answer {
                VisibleHead::Found(a) | VisibleHead::Below(a) => a <= then,
            }
    });
    // Sequences in (0, top] are still to look at.
    let mut top = head;
    let mut window = 1u64;
    while top > 0 {
        if let Some((then, answer)) = known {
            if top <= then {
                known = None;
                match answer {
                    // Everything in (answer, then] was hidden or absent already.
                    VisibleHead::Found(answer) => {
                        if answer == 0 || is_held(store, origin, answer)? {
                            return Ok(VisibleHead::Found(answer));
                        }
                        // That record was compacted away since: look below it.
                        top = answer - 1;
                    }
                    VisibleHead::Below(below) => top = top.min(below),
                }
                continue;
            }
        }
        if *budget == 0 {
            return Ok(VisibleHead::Below(top));
        }
        let size = window.min(*budget as u64);
        let low = top.saturating_sub(size);
        let records = fetch(store, origin, low, size as usize)?;
        *budget = budget.saturating_sub(records.len().max(1));
        if let Some(found) = records
            .iter()
            .rev()
            .find(|r| r.seq() <= top && visible_to(r, region))
        {
            return Ok(VisibleHead::Found(found.seq()));
        }
        top = low;
        window = (window * 2).min(512);
    }
    Ok(VisibleHead::Found(0))
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
    for (name, mut seq) in
        store.index_range(Table::FeedKey, &key_prefix(origin, kind), None, usize::MAX)?
    {
        // The index and the feed are read apart, not from one snapshot: a newer record of
        // the key may have replaced this one in between. Then the index names the newer
        // one; a key that keeps naming a record that is not there is corruption.
        let mut attempts = 0;
        loop {
            let mut found = fetch(store, origin, seq.saturating_sub(1), 1)?;
            match found.pop() {
                Some(record) if record.seq() == seq => {
                    out.push(record);
                    break;
                }
                _ if attempts < 8 => {
                    attempts += 1;
                    let now = store
                        .index_range(Table::FeedKey, &name, None, 1)?
                        .pop()
                        .filter(|(again, _)| *again == name);
                    match now {
                        Some((_, now)) if now != seq => seq = now,
                        // Gone meanwhile (compacted with its origin's feed): nothing to list.
                        None => break,
                        Some(_) => {
                            return Err(corrupt("a feed key names a record the feed does not hold"))
                        }
                    }
                }
                _ => return Err(corrupt("a feed key names a record the feed does not hold")),
            }
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

/// Whether this very membership record is held (it was verified when it was stored).
pub(super) fn holds_membership(store: &Store, record: &SignedRecord) -> Result<bool, StoreError> {
    Ok(store
        .blob_get(Table::Membership, &membership_name(record))?
        .is_some_and(|held| held == record.encode()))
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

/// The membership records held after `after` (a cursor, [`membership_cursor`]; `None`
/// from the first), in cursor order, at most `limit`: a page of a `Membership` answer.
pub(super) fn membership_page(
    store: &Store,
    after: Option<&[u8]>,
    limit: usize,
) -> Result<Vec<SignedRecord>, StoreError> {
    store
        .blob_range(Table::Membership, &[], after, limit)?
        .into_iter()
        .map(|(_, bytes)| decode(&bytes))
        .collect()
}

/// Where a membership record sits in the order of `Membership` answers (docs/protocol.md
/// §9.2): its name in `Table::Membership`.
pub(super) fn membership_cursor(record: &SignedRecord) -> [u8; MEMBERSHIP_CURSOR_BYTES] {
    let mut cursor = [0u8; MEMBERSHIP_CURSOR_BYTES];
    cursor.copy_from_slice(&membership_name(record));
    cursor
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
            let scan =
                fetch_visible(&store, &origin, after, limit, region, usize::MAX, None).unwrap();
            assert_eq!(scan.stopped_at, None);
            seqs(&scan.records)
        };
        assert_eq!(visible(0, 10, Some("OH")), [1, 2, 3, 4, 5]);
        assert_eq!(visible(0, 10, Some("AL")), [1, 4]);
        assert_eq!(visible(0, 10, None), [1, 4]);
        // Paging: a full page may end before hidden records, and the next page skips them.
        assert_eq!(visible(0, 1, Some("AL")), [1]);
        assert_eq!(visible(1, 1, Some("AL")), [4]);
        assert_eq!(visible(4, 1, Some("AL")), Vec::<u64>::new());
        assert_eq!(visible(0, 2, Some("OH")), [1, 2]);

        let top = |head, region, known: Option<(u64, u64)>| {
            let known = known.map(|(then, a)| (then, VisibleHead::Found(a)));
            let mut budget = usize::MAX;
            match visible_head(&store, &origin, head, region, known, &mut budget).unwrap() {
                VisibleHead::Found(seq) => seq,
                VisibleHead::Below(_) => panic!("unbounded scan stopped"),
            }
        };
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
            visible_head(&store, &other.public(), 40, Some("AL"), None, &mut 1000).unwrap(),
            VisibleHead::Found(0)
        );
        assert_eq!(
            visible_head(&store, &other.public(), 40, Some("OH"), None, &mut 1000).unwrap(),
            VisibleHead::Found(40)
        );
        assert!(
            fetch_visible(&store, &other.public(), 0, 3, Some("AL"), 1000, None)
                .unwrap()
                .records
                .is_empty()
        );
    }

    /// A peer of another region asking for a feed of mostly hidden profiles costs a bounded
    /// read per answer, and successive answers still get everything visible to it.
    #[test]
    fn scans_are_capped_and_go_on_where_they_stopped() {
        let (_dir, store) = open();
        let key = NodeKeypair::generate();
        let origin = key.public();
        put(&store, &key, 1, RecordKind::BULLETIN, bulletin(1));
        for seq in 2..=50 {
            put(
                &store,
                &key,
                seq,
                RecordKind::PROFILE,
                profile(seq as u8, oh()),
            );
        }
        put(&store, &key, 51, RecordKind::BULLETIN, bulletin(2));
        for seq in 52..=60 {
            put(
                &store,
                &key,
                seq,
                RecordKind::PROFILE,
                profile(seq as u8, oh()),
            );
        }

        // Fetch: at most 10 records read per answer.
        let mut skips = FetchSkips::default();
        let mut after = 0;
        let mut got = Vec::new();
        let mut answers = 0;
        loop {
            let skip = skips.get(&origin, Some("AL"), after);
            let scan = fetch_visible(&store, &origin, after, 512, Some("AL"), 10, skip).unwrap();
            answers += 1;
            assert!(answers < 20, "no progress");
            skips.note(&origin, Some("AL"), after, &scan);
            got.extend(seqs(&scan.records));
            after = scan.records.last().map_or(after, SignedRecord::seq);
            if scan.stopped_at.is_none() {
                break;
            }
        }
        assert_eq!(got, [1, 51]);
        assert_eq!(answers, 7, "60 records, 10 a time, each read once");
        // A short answer cut by the limit says so; the asker's region sees everything.
        let first = fetch_visible(&store, &origin, 0, 512, Some("AL"), 10, None).unwrap();
        assert_eq!(
            (seqs(&first.records), first.stopped_at),
            (vec![1], Some(10))
        );
        let oh_scan = fetch_visible(&store, &origin, 0, 5, Some("OH"), 10, None).unwrap();
        assert_eq!(
            (seqs(&oh_scan.records), oh_scan.stopped_at),
            (vec![1, 2, 3, 4, 5], None)
        );

        // Heads: a budget of 8 records per answer; the state carries over.
        let mut known = None;
        let mut answers = 0;
        let found = loop {
            let mut budget = 8;
            let answer = visible_head(&store, &origin, 60, Some("AL"), known, &mut budget).unwrap();
            answers += 1;
            assert!(budget <= 8 && answers < 20);
            match answer {
                VisibleHead::Found(seq) => break seq,
                below => known = Some((60, below)),
            }
        };
        assert_eq!(found, 51);
        assert!(answers > 1);
        // Going on from a partial answer after the feed grew.
        put(&store, &key, 61, RecordKind::PROFILE, profile(61, oh()));
        let mut budget = 1;
        let partial = visible_head(&store, &origin, 60, Some("AL"), None, &mut budget).unwrap();
        assert_eq!(partial, VisibleHead::Below(59));
        assert_eq!(
            visible_head(
                &store,
                &origin,
                61,
                Some("AL"),
                Some((60, partial)),
                &mut 1000
            )
            .unwrap(),
            VisibleHead::Found(51)
        );
    }
}
