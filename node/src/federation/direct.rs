//! Direct messages between two member nodes: introductions across the federation.
//!
//! An introduction request, its answer and a placement notice (docs/protocol.md,
//! "Introductions") are addressed to one node, never gossiped or put in a feed: an answer
//! can carry a candidate's contact details. They travel over the request-response protocol
//! [`DIRECT_PROTOCOL`]: one signed record per request, answered with a [`DirectReply`].
//!
//! Sending: whoever decides to send (the HTTP layer, in the same write as the introduction
//! it concerns) queues the message in the store's outbox ([`stage_send`],
//! `Table::DirectOutbox`); the swarm task offers every queued message whose recipient is
//! connected at each sync tick and whenever something is queued (`Driver`), signs it
//! then, and deletes it once acknowledged. So a home node that is offline gets the request
//! when it is back, and nothing is lost over a restart.
//!
//! Receiving (`ingest`): size, strict decoding, a direct kind, the signature, the clock,
//! the payload, and the sender a member *now*, in that order; then an answer or notice must
//! name a request this node sent to that very node. A duplicate (a retry whose
//! acknowledgement was lost) is acknowledged again without a second effect and counted as
//! `replay`. Rejections are counted by reason ([`DirectShared::status`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use chrono::Utc;
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport, ResponseChannel};
use libp2p::{PeerId, StreamProtocol};
use serde::Serialize;

use techhire_protocol::{
    is_direct, rules, DirectMessage, DirectReply, MemberStatus, NodeKeypair, ProfileId, PublicKey,
    RecordKind, Rejection, RequestId, SharedProfile, SignedRecord, Tombstone, DIRECT_PROTOCOL,
    MAX_DIRECT_RECORD_BYTES, PUBLIC_KEY_BYTES,
};

use super::feed;
use super::network::{now_ms, peer_id_of};
use crate::model::{self, Applied, Incoming};
use crate::store::{Store, StoreError, Table, WriteTx};

/// How long a requester waits for an answer before the request expires, by default.
pub const DEFAULT_INTRO_TIMEOUT: Duration = Duration::from_secs(30 * 24 * 3600);

/// The name under which direct messages naming no request this node sent (or sent by
/// another node than the one asked) are counted.
pub const UNKNOWN_REQUEST: &str = "unknown_request";

// ---------------------------------------------------------------------------------------
// The codec: one signed record per request, a `DirectReply` per response.

#[derive(Debug, Clone, Default)]
pub(super) struct DirectCodec;

async fn read_limited<T: AsyncRead + Unpin + Send>(
    io: &mut T,
    limit: usize,
) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    // One byte over the limit tells an oversized message from one exactly at it.
    io.take(limit as u64 + 1).read_to_end(&mut bytes).await?;
    if bytes.len() > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "direct message over the size limit",
        ));
    }
    Ok(bytes)
}

#[async_trait::async_trait]
impl request_response::Codec for DirectCodec {
    type Protocol = StreamProtocol;
    /// The encoded record, decoded (and counted) by [`ingest`], not by the codec: a
    /// rejection must be counted, and answered.
    type Request = Vec<u8>;
    type Response = DirectReply;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        // One byte more than allowed is read, so that `ingest` sees and counts an oversized
        // message instead of a reset stream.
        let mut bytes = Vec::new();
        io.take(MAX_DIRECT_RECORD_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .await?;
        Ok(bytes)
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<DirectReply>
    where
        T: AsyncRead + Unpin + Send,
    {
        let bytes = read_limited(io, 2 + 1 + 4 + 1024).await?;
        DirectReply::decode(&bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        request: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        io.write_all(&request).await?;
        io.close().await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        response: DirectReply,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        io.write_all(&response.encode()).await?;
        io.close().await
    }
}

/// The direct protocol's behaviour, for the swarm.
pub(super) fn behaviour() -> request_response::Behaviour<DirectCodec> {
    request_response::Behaviour::with_codec(
        DirectCodec,
        [(StreamProtocol::new(DIRECT_PROTOCOL), ProtocolSupport::Full)],
        request_response::Config::default().with_request_timeout(Duration::from_secs(30)),
    )
}

// ---------------------------------------------------------------------------------------
// State shared by the swarm task, the tasks it spawns and the HTTP layer.

/// A member's status now, as the node's membership state says.
pub(super) type StatusOf = Arc<dyn Fn(&PublicKey) -> MemberStatus + Send + Sync>;
/// Hands a command to the swarm task.
pub(super) type Wake = Arc<dyn Fn(Command) + Send + Sync>;

/// What the direct side of the federation shares between its tasks.
pub struct DirectShared {
    store: Store,
    keypair: NodeKeypair,
    status_of: OnceLock<StatusOf>,
    wake: OnceLock<Wake>,
    accepted: AtomicU64,
    rejected: Mutex<BTreeMap<&'static str, u64>>,
    /// How long this node's employers wait for an answer.
    pub timeout: Duration,
}

/// The direct messages' counters, for the operator (`federation/status`).
#[derive(Debug, Clone, Serialize)]
pub struct DirectStatus {
    /// Messages received and acted on (duplicates not included).
    pub accepted: u64,
    /// Messages refused or duplicated, by reason (the acceptance rules' names, and
    /// `unknown_request`).
    pub rejected: BTreeMap<&'static str, u64>,
    /// Messages waiting in the outbox for their recipient.
    pub outbox: usize,
}

impl DirectShared {
    pub(super) fn new(store: Store, keypair: NodeKeypair, timeout: Duration) -> DirectShared {
        DirectShared {
            store,
            keypair,
            status_of: OnceLock::new(),
            wake: OnceLock::new(),
            accepted: AtomicU64::new(0),
            rejected: Mutex::new(BTreeMap::new()),
            timeout,
        }
    }

    /// Connects the direct side to the membership state and the swarm task, which are
    /// made after it.
    pub(super) fn set_links(&self, status_of: StatusOf, wake: Wake) {
        let _ = self.status_of.set(status_of);
        let _ = self.wake.set(wake);
    }

    /// `key`'s membership status now (no certificate until the links are set).
    fn status_of(&self, key: &PublicKey) -> MemberStatus {
        match self.status_of.get() {
            Some(f) => f(key),
            None => MemberStatus::NoCertificate,
        }
    }

    /// Asks the swarm task to offer the outbox now rather than at the next tick.
    pub fn deliver_now(&self) {
        if let Some(wake) = self.wake.get() {
            wake(Command::Flush);
        }
    }

    /// Sends `bytes` to node `to` over the direct protocol without checking them, and
    /// returns its reply (`None` if the exchange failed): how tests play a misbehaving
    /// member against another node's defences. Real messages go through [`stage_send`].
    pub async fn send_unchecked(&self, to: &PublicKey, bytes: Vec<u8>) -> Option<DirectReply> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let (Some(wake), Some(to)) = (self.wake.get(), peer_id_of(to)) else {
            return None;
        };
        wake(Command::Raw {
            to,
            bytes,
            reply: tx,
        });
        rx.await.ok().flatten()
    }

    /// This node's key.
    pub fn key(&self) -> PublicKey {
        self.keypair.public()
    }

    /// This node's community now, from its own certificate; `None` while it has none.
    pub fn community(&self) -> Option<String> {
        match self.status_of(&self.keypair.public()) {
            MemberStatus::Member { community, .. } => Some(community),
            _ => None,
        }
    }

    fn count(&self, reason: &'static str) {
        let mut map = self.rejected.lock().unwrap_or_else(|p| p.into_inner());
        *map.entry(reason).or_insert(0) += 1;
    }

    /// The counters and the outbox's length.
    pub fn status(&self) -> Result<DirectStatus, StoreError> {
        let mut rejected: BTreeMap<&'static str, u64> = Rejection::ALL
            .iter()
            .map(|r| (r.as_str(), 0))
            .chain([(UNKNOWN_REQUEST, 0)])
            .collect();
        rejected.extend(
            self.rejected
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .map(|(k, v)| (*k, *v)),
        );
        Ok(DirectStatus {
            accepted: self.accepted.load(Ordering::Relaxed),
            rejected,
            outbox: self
                .store
                .blob_range(Table::DirectOutbox, &[], None, usize::MAX)?
                .len(),
        })
    }
}

// ---------------------------------------------------------------------------------------
// The outbox and the request index.

/// `DirectIndex` tags: an outgoing request by its id, an incoming one by sender and id.
const OUTGOING: u8 = b'O';
const INCOMING: u8 = b'I';
/// `DirectIndex` tag of a queued answer, by recipient and request id: its outbox sequence
/// number, so that erasing a candidate can drop an answer carrying their contact details
/// before it leaves ([`unqueue_answer`]). An entry may outlive its delivered message; the
/// outbox never reuses a sequence number, so it never names another message.
const QUEUED_ANSWER: u8 = b'A';
/// `DirectIndex` tag of an open outgoing request, by deadline (ms, big-endian) then
/// introduction id: [`expire_overdue`] reads only those past their deadline.
const OPEN: u8 = b'E';

/// Why a message cannot be queued.
fn unsendable(reason: String) -> StoreError {
    StoreError::Corrupt {
        key: "direct message".into(),
        reason,
    }
}

/// Queues `message` for node `to` inside `tx`. It is checked to decode as its recipient
/// will decode it, so that no queued message is refused for its form.
pub fn stage_send(
    tx: &mut WriteTx<'_>,
    to: &PublicKey,
    message: &DirectMessage,
) -> Result<(), StoreError> {
    let payload = message.encode();
    DirectMessage::decode(message.kind(), &payload)
        .map_err(|e| unsendable(format!("the {} would not decode: {e}", message.kind())))?;
    let seq = tx.next_id(Table::DirectOutbox)?;
    let mut name = Vec::with_capacity(PUBLIC_KEY_BYTES + 8);
    name.extend_from_slice(to.as_bytes());
    name.extend_from_slice(&seq.to_be_bytes());
    let mut value = Vec::with_capacity(2 + payload.len());
    value.extend_from_slice(&message.kind().0.to_be_bytes());
    value.extend_from_slice(&payload);
    tx.blob_put(Table::DirectOutbox, &name, &value);
    if let DirectMessage::Answer(answer) = message {
        tx.index_put(Table::DirectIndex, &queued_answer_name(to, &answer.id), seq);
    }
    Ok(())
}

fn queued_answer_name(to: &PublicKey, id: &RequestId) -> Vec<u8> {
    let mut name = vec![QUEUED_ANSWER];
    name.extend_from_slice(to.as_bytes());
    name.extend_from_slice(&id.0);
    name
}

/// Drops the answer to `to`'s request `id` from the outbox if it has not left yet (one
/// already handed to the network may still arrive); `true` if one was queued.
pub fn unqueue_answer(
    tx: &mut WriteTx<'_>,
    to: &PublicKey,
    id: &RequestId,
) -> Result<bool, StoreError> {
    let index = queued_answer_name(to, id);
    let Some(seq) = tx.lookup(Table::DirectIndex, &index)? else {
        return Ok(false);
    };
    tx.index_delete(Table::DirectIndex, &index);
    let mut name = Vec::with_capacity(PUBLIC_KEY_BYTES + 8);
    name.extend_from_slice(to.as_bytes());
    name.extend_from_slice(&seq.to_be_bytes());
    let queued = tx.blob_exists(Table::DirectOutbox, &name)?;
    tx.blob_delete(Table::DirectOutbox, &name);
    Ok(queued)
}

fn outgoing_name(id: &RequestId) -> Vec<u8> {
    let mut name = vec![OUTGOING];
    name.extend_from_slice(&id.0);
    name
}

fn incoming_name(from: &PublicKey, id: &RequestId) -> Vec<u8> {
    let mut name = vec![INCOMING];
    name.extend_from_slice(from.as_bytes());
    name.extend_from_slice(&id.0);
    name
}

/// Records that outgoing request `id` is introduction `intro`.
pub fn index_outgoing(tx: &mut WriteTx<'_>, id: &RequestId, intro: u64) {
    tx.index_put(Table::DirectIndex, &outgoing_name(id), intro);
}

fn open_name(expires_at: chrono::DateTime<Utc>, intro: u64) -> Vec<u8> {
    let mut name = vec![OPEN];
    let ms = u64::try_from(expires_at.timestamp_millis()).unwrap_or(0);
    name.extend_from_slice(&ms.to_be_bytes());
    name.extend_from_slice(&intro.to_be_bytes());
    name
}

/// Records that outgoing introduction `intro` is open until `expires_at`.
pub fn index_open(tx: &mut WriteTx<'_>, expires_at: chrono::DateTime<Utc>, intro: u64) {
    tx.index_put(Table::DirectIndex, &open_name(expires_at, intro), intro);
}

/// Records that outgoing introduction `intro` (open until `expires_at`) is closed.
pub fn unindex_open(tx: &mut WriteTx<'_>, expires_at: chrono::DateTime<Utc>, intro: u64) {
    tx.index_delete(Table::DirectIndex, &open_name(expires_at, intro));
}

/// The introduction of outgoing request `id`, if this node made it.
pub fn outgoing(tx: &WriteTx<'_>, id: &RequestId) -> Result<Option<u64>, StoreError> {
    tx.lookup(Table::DirectIndex, &outgoing_name(id))
}

/// Records that `from`'s request `id` is introduction `intro`.
pub fn index_incoming(tx: &mut WriteTx<'_>, from: &PublicKey, id: &RequestId, intro: u64) {
    tx.index_put(Table::DirectIndex, &incoming_name(from, id), intro);
}

/// The introduction of `from`'s request `id`, if it was stored.
pub fn incoming(
    tx: &WriteTx<'_>,
    from: &PublicKey,
    id: &RequestId,
) -> Result<Option<u64>, StoreError> {
    tx.lookup(Table::DirectIndex, &incoming_name(from, id))
}

/// One queued message: its outbox name, recipient and unsigned content.
struct Queued {
    name: Vec<u8>,
    to: PublicKey,
    kind: RecordKind,
    payload: Vec<u8>,
}

/// At most this many of one recipient's queued messages are read (and so at most this many
/// are in flight to it) at each offer: the outbox is read on the swarm task.
const FLUSH_PER_PEER: usize = 64;

/// The first `limit` messages queued for `to`, oldest first.
/// The nodes the outbox holds messages for: one read per recipient (each read skips past
/// the recipient's messages), so a long outbox for one node costs no more than a short one.
pub(super) fn recipients(store: &Store) -> Result<Vec<PublicKey>, StoreError> {
    let mut out = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    while let Some((name, _)) = store
        .blob_range(Table::DirectOutbox, &[], after.as_deref(), 1)?
        .pop()
    {
        let Some(key) = name
            .get(..PUBLIC_KEY_BYTES)
            .and_then(|b| <[u8; PUBLIC_KEY_BYTES]>::try_from(b).ok())
        else {
            return Err(unsendable("an outbox entry is damaged".into()));
        };
        if let Ok(k) = PublicKey::from_bytes(key) {
            out.push(k);
        }
        // Past every message for this recipient: its key, then more than any sequence.
        let mut next = key.to_vec();
        next.extend_from_slice(&[0xff; 9]);
        after = Some(next);
    }
    Ok(out)
}

fn queued(store: &Store, to: &PublicKey, limit: usize) -> Result<Vec<Queued>, StoreError> {
    let mut out = Vec::new();
    for (name, value) in store.blob_range(Table::DirectOutbox, to.as_bytes(), None, limit)? {
        let to = name
            .get(..PUBLIC_KEY_BYTES)
            .and_then(|b| <[u8; PUBLIC_KEY_BYTES]>::try_from(b).ok())
            .and_then(|b| PublicKey::from_bytes(b).ok());
        let (Some(to), Some(kind)) = (to, value.get(..2)) else {
            return Err(unsendable("an outbox entry is damaged".into()));
        };
        out.push(Queued {
            to,
            kind: RecordKind(u16::from_be_bytes([kind[0], kind[1]])),
            payload: value[2..].to_vec(),
            name,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Shared profiles as this node holds them.

/// What this node knows of a shared profile of another node.
#[derive(Debug, Clone)]
pub enum RemoteProfile {
    /// Live: its home node (the origin) and the profile.
    Live {
        origin: PublicKey,
        profile: Box<SharedProfile>,
    },
    /// Its home node published a tombstone for it.
    Withdrawn {
        origin: PublicKey,
        tombstone: Tombstone,
    },
    /// Past its `expires_at_ms` (the home node's tombstone may not have arrived yet).
    Expired { origin: PublicKey },
    /// No feed this node holds has it.
    Unknown,
    /// Several origins hold a profile with this id (a member copied another node's id):
    /// the requester must name the home node.
    Ambiguous { origins: usize },
}

/// The record a feed keeps under a profile id (the profile, or its tombstone), looked up
/// as `feed.rs` keys it: `origin | kind PROFILE | id` in `FeedKey`.
fn profile_record(
    store: &Store,
    origin: &PublicKey,
    id: &ProfileId,
) -> Result<Option<SignedRecord>, StoreError> {
    let mut name = Vec::with_capacity(PUBLIC_KEY_BYTES + 2 + 16);
    name.extend_from_slice(origin.as_bytes());
    name.extend_from_slice(&RecordKind::PROFILE.0.to_be_bytes());
    name.extend_from_slice(id.as_bytes());
    let Some(seq) = store.lookup(Table::FeedKey, &name)? else {
        return Ok(None);
    };
    Ok(feed::fetch(store, origin, seq.saturating_sub(1), 1)?
        .pop()
        .filter(|r| r.seq() == seq))
}

/// Finds profile `id` in the feeds of the other nodes (one index lookup per origin); see
/// [`find_profile_at`].
pub fn find_profile(
    store: &Store,
    own: &PublicKey,
    id: &ProfileId,
    now_ms: u64,
) -> Result<RemoteProfile, StoreError> {
    find_profile_at(store, own, None, id, now_ms)
}

/// Finds profile `id` as origin `home` published it, or, with no `home`, in the feeds of
/// the other nodes: [`RemoteProfile::Ambiguous`] if more than one origin holds that id,
/// since a profile id is only unique per origin (a member could copy another's).
pub fn find_profile_at(
    store: &Store,
    own: &PublicKey,
    home: Option<&PublicKey>,
    id: &ProfileId,
    now_ms: u64,
) -> Result<RemoteProfile, StoreError> {
    let mut found = Vec::new();
    match home {
        Some(origin) if origin == own => {}
        Some(origin) => {
            if let Some(record) = profile_record(store, origin, id)? {
                found.push((*origin, record));
            }
        }
        None => {
            for (origin, _) in feed::heads(store)? {
                if origin == *own {
                    continue;
                }
                if let Some(record) = profile_record(store, &origin, id)? {
                    found.push((origin, record));
                }
            }
        }
    }
    if found.len() > 1 {
        return Ok(RemoteProfile::Ambiguous {
            origins: found.len(),
        });
    }
    let Some((origin, record)) = found.pop() else {
        return Ok(RemoteProfile::Unknown);
    };
    // Stored records passed the payload rules; one that no longer decodes is damage.
    let damaged = || unsendable("a stored profile does not decode".into());
    Ok(match record.kind() {
        RecordKind::TOMBSTONE => RemoteProfile::Withdrawn {
            origin,
            tombstone: Tombstone::decode(record.payload()).map_err(|_| damaged())?,
        },
        _ => {
            let profile = SharedProfile::decode(record.payload()).map_err(|_| damaged())?;
            if profile.expires_at_ms <= now_ms {
                RemoteProfile::Expired { origin }
            } else {
                RemoteProfile::Live {
                    origin,
                    profile: Box::new(profile),
                }
            }
        }
    })
}

/// The local candidate behind this node's live shared profile `id`
/// ([`crate::sharing::candidate_of`]), and whether this node ever published that id (to
/// refuse as `profile_withdrawn` rather than `unknown_profile`).
fn candidate_of(
    store: &Store,
    own: &PublicKey,
    id: &ProfileId,
) -> Result<(Option<u64>, bool), StoreError> {
    let candidate = crate::sharing::candidate_of(store, id)?;
    let published = candidate.is_some()
        || profile_record(store, own, id)?.is_some()
        || store
            .lookup(Table::SharingByProfile, id.as_bytes())?
            .is_some();
    Ok((candidate, published))
}

// ---------------------------------------------------------------------------------------
// Receiving.

fn refused(retry: bool, reason: &str) -> DirectReply {
    DirectReply::Refused {
        retry,
        reason: reason.to_owned(),
    }
}

/// Checks and acts on one direct message from a peer; the reply says what became of it.
pub(super) async fn ingest(shared: &DirectShared, bytes: &[u8]) -> DirectReply {
    let reject = |r: Rejection, retry: bool| {
        shared.count(r.as_str());
        refused(retry, r.as_str())
    };
    // The rules in the order of docs/protocol.md, the cheap ones before the signature.
    if bytes.len() > MAX_DIRECT_RECORD_BYTES {
        return reject(Rejection::Oversized, false);
    }
    let Ok(record) = SignedRecord::decode(bytes) else {
        return reject(Rejection::Undecodable, false);
    };
    if !is_direct(record.kind()) {
        return reject(Rejection::UnknownKind, false);
    }
    if record.verify().is_err() {
        return reject(Rejection::BadSignature, false);
    }
    if let Err(r) = rules::check_time(&record, now_ms()) {
        // The sender's clock may be ahead: offered again, it passes later.
        return reject(r, true);
    }
    if let Err(r) = rules::check_direct_payload(&record) {
        return reject(r, false);
    }
    // A member *now*: unlike a feed record, a direct message is acted on as it arrives.
    // Retried, since this node may not have the sender's certificate yet.
    if let Err(r) = rules::check_member(&shared.status_of(record.signer())) {
        return reject(r, true);
    }
    let Ok(message) = DirectMessage::decode(record.kind(), record.payload()) else {
        return reject(Rejection::BadPayload, false);
    };
    if let DirectMessage::Request(r) = &message {
        // The community a request names is the one the operator is shown: it must be the
        // sender's own, as its certificate says, not whatever the sender claims.
        let certified = match shared.status_of(record.signer()) {
            MemberStatus::Member { community, .. } => community == r.community,
            _ => false,
        };
        if !certified {
            return reject(Rejection::BadPayload, false);
        }
    }
    let from = *record.signer();
    match act(shared, from, message).await {
        Ok(Acted::Done) => {
            shared.accepted.fetch_add(1, Ordering::Relaxed);
            DirectReply::Ack
        }
        Ok(Acted::Duplicate) => {
            shared.count(Rejection::Replay.as_str());
            DirectReply::Ack
        }
        Ok(Acted::UnknownRequest) => {
            shared.count(UNKNOWN_REQUEST);
            refused(false, UNKNOWN_REQUEST)
        }
        Ok(Acted::NotYet) => refused(true, "the answer to this request has not arrived yet"),
        Err(e) => {
            tracing::error!(error = %e, "cannot store a direct message");
            refused(true, "the node could not write to its store")
        }
    }
}

enum Acted {
    Done,
    Duplicate,
    UnknownRequest,
    NotYet,
}

async fn act(
    shared: &DirectShared,
    from: PublicKey,
    message: DirectMessage,
) -> Result<Acted, StoreError> {
    let now = Utc::now();
    let store = &shared.store;
    match message {
        DirectMessage::Request(request) => {
            let own = shared.keypair.public();
            let (mut candidate, mut published) = candidate_of(store, &own, &request.profile)?;
            // A node outside the profile's consent scope should never have held it: the
            // request is refused as if the profile were unknown (nothing about the
            // candidate, not even that they exist, is told to a region they did not choose).
            if let Some(c) = candidate {
                let region = match shared.status_of(&from) {
                    MemberStatus::Member { region, .. } => Some(region),
                    _ => None,
                };
                if !in_consent_scope(store, c, region.as_deref())? {
                    (candidate, published) = (None, false);
                }
            }
            let outcome = store
                .commit(move |tx| {
                    model::stage_incoming(tx, &from, &request, candidate, published, now)
                })
                .await
                .map_err(|e| match e {
                    model::IntroductionError::Store(s) => s,
                    other => unsendable(other.to_string()),
                })?;
            match outcome {
                Incoming::Stored(_) => Ok(Acted::Done),
                Incoming::Duplicate(_) => Ok(Acted::Duplicate),
                Incoming::Refused(reason) => {
                    tracing::info!(reason = reason.as_str(), "introduction request refused");
                    shared.deliver_now();
                    Ok(Acted::Done)
                }
            }
        }
        DirectMessage::Answer(answer) => {
            let applied = store
                .commit(move |tx| model::apply_answer(tx, &from, &answer, now))
                .await?;
            Ok(acted(applied))
        }
        DirectMessage::Placement(notice) => {
            let applied = store
                .commit(move |tx| model::apply_notice(tx, &from, &notice, now))
                .await?;
            Ok(acted(applied))
        }
    }
}

/// Whether a node of `region` is within the consent scope candidate `candidate` gave for
/// their live shared profile (`None`: no certified region, in no regional scope).
fn in_consent_scope(
    store: &Store,
    candidate: u64,
    region: Option<&str>,
) -> Result<bool, StoreError> {
    Ok(match crate::sharing::state_of(store, candidate)? {
        Some(state) => match state.scope {
            model::ConsentScope::Federation => true,
            model::ConsentScope::Regions { regions } => {
                region.is_some_and(|r| regions.iter().any(|x| x == r))
            }
        },
        // No sharing state: nothing was published for them.
        None => false,
    })
}

fn acted(applied: Applied) -> Acted {
    match applied {
        Applied::Done(_) => Acted::Done,
        Applied::Duplicate => Acted::Duplicate,
        Applied::UnknownRequest => Acted::UnknownRequest,
        Applied::NotYet => Acted::NotYet,
    }
}

/// The node key behind a libp2p peer id (an Ed25519 key inlined in the id), if any.
fn key_of_peer(peer: &PeerId) -> Option<PublicKey> {
    let key = libp2p::identity::PublicKey::try_decode_protobuf(peer.as_ref().digest()).ok()?;
    let ed = key.try_into_ed25519().ok()?;
    PublicKey::from_bytes(ed.to_bytes()).ok()
}

/// Expires this node's outgoing requests that are past their deadline: only the open ones
/// whose deadline has passed are read (the `OPEN` index, in deadline order).
async fn expire_overdue(store: &Store) -> Result<usize, StoreError> {
    let now = Utc::now();
    let now_ms = u64::try_from(now.timestamp_millis()).unwrap_or(0);
    let mut overdue = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    'scan: loop {
        let batch = store.index_range(Table::DirectIndex, &[OPEN], after.as_deref(), 256)?;
        let Some((last, _)) = batch.last() else {
            break;
        };
        after = Some(last.clone());
        for (name, id) in &batch {
            let deadline = name
                .get(1..9)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map_or(0, u64::from_be_bytes);
            if deadline > now_ms {
                break 'scan;
            }
            overdue.push(*id);
        }
    }
    if overdue.is_empty() {
        return Ok(0);
    }
    store
        .commit(move |tx| {
            let mut n = 0;
            for id in overdue {
                n += usize::from(model::stage_expiry(tx, id, now)?);
            }
            Ok::<_, StoreError>(n)
        })
        .await
}

// ---------------------------------------------------------------------------------------
// The swarm side.

/// What the swarm task is asked to do for the direct protocol.
pub(super) enum Command {
    /// Offer the outbox now.
    Flush,
    /// Answer an incoming message.
    Reply(ResponseChannel<DirectReply>, DirectReply),
    /// A message was acknowledged and removed from the outbox.
    Delivered(Vec<u8>),
    /// Send these bytes as they are (tests playing a misbehaving node).
    Raw {
        to: PeerId,
        bytes: Vec<u8>,
        reply: tokio::sync::oneshot::Sender<Option<DirectReply>>,
    },
}

/// The direct protocol's part of the swarm task: what is in flight.
pub(super) struct Driver {
    shared: Arc<DirectShared>,
    /// Outbox names of messages sent and not yet answered, by request, with the id of the
    /// introduction request a message is (its acknowledgement marks it delivered).
    pending: HashMap<OutboundRequestId, (Vec<u8>, Option<RequestId>)>,
    in_flight: HashSet<Vec<u8>>,
    /// Raw sends waiting for their reply.
    raw: HashMap<OutboundRequestId, tokio::sync::oneshot::Sender<Option<DirectReply>>>,
}

impl Driver {
    pub(super) fn new(shared: Arc<DirectShared>) -> Driver {
        Driver {
            shared,
            pending: HashMap::new(),
            in_flight: HashSet::new(),
            raw: HashMap::new(),
        }
    }

    /// Every sync tick: expire overdue requests, then offer the outbox.
    pub(super) fn on_tick(
        &mut self,
        behaviour: &mut request_response::Behaviour<DirectCodec>,
        connected: &HashSet<PeerId>,
    ) {
        let shared = self.shared.clone();
        tokio::spawn(async move {
            match expire_overdue(&shared.store).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(expired = n, "introduction requests expired unanswered"),
                Err(e) => tracing::error!(error = %e, "cannot expire introduction requests"),
            }
        });
        self.flush(behaviour, connected);
    }

    /// Sends the queued messages whose recipient is connected and that are not already on
    /// their way: the oldest [`FLUSH_PER_PEER`] of each connected recipient, so that one
    /// read is bounded whatever the outbox holds (the rest go as these are acknowledged).
    /// Read by recipient key prefix, so messages for nodes that are not connected are not
    /// read at all.
    pub(super) fn flush(
        &mut self,
        behaviour: &mut request_response::Behaviour<DirectCodec>,
        connected: &HashSet<PeerId>,
    ) {
        let mut queued = Vec::new();
        for peer in connected {
            let Some(key) = key_of_peer(peer) else {
                continue;
            };
            match self::queued(&self.shared.store, &key, FLUSH_PER_PEER) {
                Ok(q) => queued.extend(q.into_iter().map(|q| (*peer, q))),
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the direct outbox");
                    return;
                }
            }
        }
        for (peer, q) in queued {
            if self.in_flight.contains(&q.name) || peer_id_of(&q.to) != Some(peer) {
                continue;
            }
            let now = now_ms();
            // Signed as it leaves: the payload was checked when queued.
            let record = match SignedRecord::sign(
                &self.shared.keypair,
                q.kind,
                now.max(1),
                now,
                q.payload,
            ) {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(error = %e, "cannot sign a direct message");
                    continue;
                }
            };
            let request = match DirectMessage::decode(record.kind(), record.payload()) {
                Ok(DirectMessage::Request(r)) => Some(r.id),
                _ => None,
            };
            let id = behaviour.send_request(&peer, record.encode());
            self.in_flight.insert(q.name.clone());
            self.pending.insert(id, (q.name, request));
        }
    }

    pub(super) fn on_command(
        &mut self,
        command: Command,
        behaviour: &mut request_response::Behaviour<DirectCodec>,
        connected: &HashSet<PeerId>,
    ) {
        match command {
            Command::Flush => self.flush(behaviour, connected),
            Command::Reply(channel, reply) => {
                let _ = behaviour.send_response(channel, reply);
            }
            Command::Delivered(name) => {
                self.in_flight.remove(&name);
            }
            Command::Raw { to, bytes, reply } => {
                let id = behaviour.send_request(&to, bytes);
                self.raw.insert(id, reply);
            }
        }
    }

    pub(super) fn on_event(&mut self, event: request_response::Event<Vec<u8>, DirectReply>) {
        match event {
            request_response::Event::Message { message, peer, .. } => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => {
                    let shared = self.shared.clone();
                    tokio::spawn(async move {
                        let reply = ingest(&shared, &request).await;
                        if reply != DirectReply::Ack {
                            tracing::debug!(%peer, ?reply, "direct message refused");
                        }
                        if let Some(wake) = shared.wake.get() {
                            wake(Command::Reply(channel, reply));
                        }
                    });
                }
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    if let Some(reply) = self.raw.remove(&request_id) {
                        let _ = reply.send(Some(response));
                        return;
                    }
                    let Some((name, request)) = self.pending.remove(&request_id) else {
                        return;
                    };
                    let done = match &response {
                        DirectReply::Ack => true,
                        DirectReply::Refused { retry, reason } => {
                            if *retry {
                                tracing::debug!(%peer, %reason, "direct message refused for now");
                            } else {
                                tracing::warn!(%peer, %reason, "direct message refused for good: dropped");
                            }
                            !retry
                        }
                    };
                    if !done {
                        self.in_flight.remove(&name);
                        return;
                    }
                    let store = self.shared.store.clone();
                    let shared = self.shared.clone();
                    tokio::spawn(async move {
                        let deleted = {
                            let name = name.clone();
                            let delivered = matches!(response, DirectReply::Ack);
                            store
                                .commit(move |tx| {
                                    tx.blob_delete(Table::DirectOutbox, &name);
                                    if let (Some(id), true) = (request, delivered) {
                                        model::stage_delivered(tx, &id, Utc::now())?;
                                    }
                                    Ok::<_, StoreError>(())
                                })
                                .await
                        };
                        if let Err(e) = deleted {
                            tracing::error!(error = %e, "cannot remove a delivered direct message");
                        }
                        // Only now may it be offered again (it is gone unless the delete
                        // failed): removing it from `in_flight` earlier could resend it.
                        if let Some(wake) = shared.wake.get() {
                            wake(Command::Delivered(name));
                        }
                    });
                }
            },
            request_response::Event::OutboundFailure { request_id, .. } => {
                if let Some(reply) = self.raw.remove(&request_id) {
                    let _ = reply.send(None);
                }
                if let Some((name, _)) = self.pending.remove(&request_id) {
                    self.in_flight.remove(&name);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::model::{Employer, NewOutgoing, Record, RequestedBy, SizeBand};
    use crate::store::StoreOptions;

    fn fresh() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("db"), &StoreOptions::default()).expect("open");
        (dir, store)
    }

    /// Outgoing requests to `home`, one per deadline, for one employer; their ids.
    async fn requests(
        store: &Store,
        home: PublicKey,
        deadlines: Vec<chrono::DateTime<Utc>>,
    ) -> Vec<u64> {
        store
            .commit(move |tx| {
                let now = Utc::now();
                let employer = Record {
                    id: 1,
                    created_at: now,
                    updated_at: now,
                    data: Employer {
                        name: "Data Co".into(),
                        industry: None,
                        size_band: SizeBand::Small,
                        contacts: Vec::new(),
                        commitment: None,
                        advocate: false,
                    },
                };
                tx.put(Table::Employer, 1, &employer)?;
                let mut ids = Vec::new();
                for expires_at in deadlines {
                    let new = NewOutgoing {
                        employer_id: 1,
                        opening_id: None,
                        message: "Hello".into(),
                        requested_by: RequestedBy::Employer,
                        profile: ProfileId(RequestId::random().0),
                        home,
                        home_community: "Akron".into(),
                        own_community: "Birmingham".into(),
                        expires_at,
                    };
                    ids.push(model::stage_outgoing(tx, new, now).map_err(|e| match e {
                        model::IntroductionError::Store(s) => s,
                        other => unsendable(other.to_string()),
                    })?);
                }
                Ok::<_, StoreError>(ids.into_iter().map(|r| r.id).collect())
            })
            .await
            .unwrap()
    }

    fn open_entries(store: &Store) -> Vec<u64> {
        store
            .index_range(Table::DirectIndex, &[OPEN], None, usize::MAX)
            .unwrap()
            .into_iter()
            .map(|(_, id)| id)
            .collect()
    }

    #[tokio::test]
    async fn only_open_requests_are_indexed_for_expiry_and_the_overdue_ones_expire() {
        let (_dir, store) = fresh();
        let home = NodeKeypair::generate().public();
        let now = Utc::now();
        let day = chrono::Duration::days(1);
        let ids = requests(&store, home, vec![now - day, now + day, now - day]).await;
        assert_eq!(
            open_entries(&store),
            [ids[0], ids[2], ids[1]],
            "by deadline"
        );
        // One overdue request was withdrawn: it leaves the index at once.
        store
            .commit(|tx| {
                let mut r = tx
                    .get::<Record<model::Introduction>>(Table::Introduction, ids[2])?
                    .unwrap();
                model::stage_withdrawal(tx, &mut r, now).map_err(|e| unsendable(e.to_string()))
            })
            .await
            .unwrap();
        assert_eq!(open_entries(&store), [ids[0], ids[1]]);
        assert_eq!(expire_overdue(&store).await.unwrap(), 1);
        assert_eq!(open_entries(&store), [ids[1]], "only the open one is left");
        assert_eq!(expire_overdue(&store).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn the_outbox_is_read_per_recipient_and_bounded() {
        let (_dir, store) = fresh();
        let (a, b) = (
            NodeKeypair::generate().public(),
            NodeKeypair::generate().public(),
        );
        let now = Utc::now() + chrono::Duration::days(1);
        // Each request queues one message for its home node, and expiring or withdrawing
        // one queues another.
        requests(&store, a, vec![now; 5]).await;
        requests(&store, b, vec![now; 2]).await;
        assert_eq!(queued(&store, &a, 3).unwrap().len(), 3);
        let for_b = queued(&store, &b, 64).unwrap();
        assert_eq!(for_b.len(), 2);
        assert!(for_b.iter().all(|q| q.to == b));
    }
}
