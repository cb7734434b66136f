//! The libp2p node: one task owns the swarm (TCP, noise, yamux; gossipsub, the sync
//! request-response protocol, identify, ping) and takes commands over a channel. Storing
//! records (a durable commit each batch) happens in tasks of their own, which report back
//! over the same channel, so a slow disk never stalls the swarm.
//!
//! Peers: on every connection the node asks the peer for its membership records, admits the
//! ones signed by a trusted steward, and then checks the peer's own key: a peer that is not
//! a member now is disconnected and counted. Members exchange feed heads at once and every
//! `sync_interval`, and fetch what they lack in batches. A peer that sends more than
//! [`MAX_INVALID`] invalid records is disconnected and refused for [`BAN`].
//!
//! Delivery scope (docs/protocol.md §7b): a profile scoped to regions is gossiped only on
//! those regions' topics, and every node subscribes to the main topic and to its own
//! region's topic (from its own certificate, followed at every tick), so gossipsub never
//! sends it to a node of another region (it sends a topic's messages only to peers
//! subscribed to it). A peer subscribed to a region topic other than its certificate's is
//! asked for its membership records again and disconnected if it still does not fit. Sync
//! serves each peer only what its region may hold: `Heads` reports per origin the highest
//! sequence it may see, `Fetch` skips what it may not. A receiver refuses a scoped profile
//! for another region (`out_of_scope`), by gossip or sync, and never forwards a scoped
//! profile that reached it on the main topic. A peer gets no gossip at all until its
//! membership answer shows a member whose subscriptions fit ([`BLOCKED_SCORE`]).
//!
//! Sync requests are answered off the swarm task, on blocking threads ([`ANSWERING`] at
//! once), each reading a bounded number of feed records ([`feed::FETCH_SCAN_LIMIT`],
//! [`feed::HEADS_SCAN_BUDGET`]) and remembering where it stopped; the asker fetches again
//! while it is below the head `Heads` announced ([`MAX_FETCH_ROUNDS`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use futures::StreamExt;
use libp2p::core::transport::ListenerId;
use libp2p::core::ConnectedPoint;
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance, MessageId};
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport};
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{ConnectionId, NetworkBehaviour, SwarmEvent};
use libp2p::{
    autonat, dcutr, identify, identity, noise, ping, relay, tcp, yamux, Multiaddr, PeerId,
    StreamProtocol,
};
use serde::Serialize;
use tokio::sync::mpsc;

use techhire_protocol::{
    gossip_topics, is_region_topic, region_topic, rules, scoped_regions, verify_batch,
    MemberAddresses, MemberStatus, Membership, NodeKeypair, PublicKey, RecordKind, Rejection,
    SignedRecord, SyncRequest, SyncResponse, GOSSIP_TOPIC, MAX_FETCH_RECORDS, MAX_RECORD_BYTES,
    MEMBERSHIP_CURSOR_BYTES, PUBLIC_KEY_BYTES, SYNC_PROTOCOL,
};

use super::codec::SyncCodec;
use super::direct;
use super::discovery::{self, Backoff, Known};
use super::feed::{self, FetchSkips, Offered, VisibleHead};
use crate::store::{Store, StoreError};

/// Invalid records a peer may send within [`INVALID_WINDOW`] before it is disconnected.
pub const MAX_INVALID: u32 = 20;
/// How long a peer's invalid records count against it: a count older than this starts
/// again from zero, so a member that sent a few bad records once is not banned for them
/// a week later.
pub const INVALID_WINDOW: Duration = Duration::from_secs(600);
/// How long a new connection may go without the peer being confirmed as a member (its
/// membership answer admitted and checked) before it is closed and counted as `stalled`:
/// a peer that never answers the membership question, or does not speak the sync
/// protocol, is not kept connected.
pub const ADMISSION_DEADLINE: Duration = Duration::from_secs(30);
/// Relay reservations a node behind a NAT keeps on reachable members.
const RELAYS: usize = 2;
/// gossipsub's largest frame: twice the largest record, so that a record over the record
/// limit (but under this) is read, counted as `oversized` and refused on its own, instead
/// of breaking the sender's gossip stream (gossipsub gives up on a connection whose
/// stream broke five times).
const MAX_GOSSIP_FRAME: usize = 2 * MAX_RECORD_BYTES;
/// How long a penalised peer is refused.
pub const BAN: Duration = Duration::from_secs(600);
/// Sync requests answered at once (each on a blocking thread, off the swarm task); the
/// others wait for a turn.
const ANSWERING: usize = 4;
/// Sync requests answered or waiting at once; one more is refused as busy, and its asker
/// asks again at its next tick. A refused fetch ends its run, so this is well above what
/// members ask in one tick (a membership and a heads request each, and their fetches).
const ANSWER_QUEUE: usize = 256;
/// Fetches in a row a node makes of one origin from one peer while it is below the head
/// the peer announced and the answers are short (the peer's scan limit cut them,
/// [`feed::FETCH_SCAN_LIMIT`]); the next `Heads` starts another run.
const MAX_FETCH_ROUNDS: u32 = 16;
/// The gossipsub application score of a peer not (yet) confirmed as a member whose region
/// fits its subscriptions. With the default weight (10) and thresholds its score is -65:
/// below the publish (-50) and gossip (-10) thresholds and below 0, so gossipsub neither
/// publishes, forwards nor gossips to it and never takes it into a mesh, but above the
/// graylist (-80), so its subscriptions are still read (they are needed once it is let
/// in). `gossipsub::Behaviour::blacklist_peer` does not do this: in libp2p-gossipsub 0.49
/// it only drops what the peer sends and withholds this node's subscriptions from it at
/// connection (which it then never learns), while publishing still reaches it.
const BLOCKED_SCORE: f64 = -6.5;

/// Where the accepted and rejected counters are kept between runs (store meta).
const COUNTERS_META: &str = "federation_counters";

/// The record counters as stored: they count since the node was first started.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Counters {
    accepted: u64,
    rejected: BTreeMap<String, u64>,
}

impl Shared {
    fn counters(&self) -> Counters {
        Counters {
            accepted: self.accepted.load(Ordering::Relaxed),
            rejected: Rejection::ALL
                .iter()
                .zip(&self.rejected)
                .map(|(r, n)| (r.as_str().to_owned(), n.load(Ordering::Relaxed)))
                .filter(|(_, n)| *n > 0)
                .collect(),
        }
    }

    /// Takes up the counts of earlier runs.
    fn restore(&self, saved: &Counters) {
        self.accepted.store(saved.accepted, Ordering::Relaxed);
        for (r, n) in Rejection::ALL.iter().zip(&self.rejected) {
            n.store(
                saved.rejected.get(r.as_str()).copied().unwrap_or(0),
                Ordering::Relaxed,
            );
        }
    }
}

/// How a node takes part in the federation.
#[derive(Debug, Clone)]
pub struct FederationConfig {
    pub listen: Vec<Multiaddr>,
    /// Members to connect to at start, and again whenever no connection to them is open.
    pub bootstrap: Vec<Multiaddr>,
    /// The steward keys whose certificates this node trusts.
    pub stewards: Vec<PublicKey>,
    /// How often feed heads are exchanged with every connected member.
    pub sync_interval: Duration,
    /// gossipsub's heartbeat.
    pub heartbeat: Duration,
    /// Told of every record stored in a feed (after its commit), the node's own included.
    pub on_stored: Option<OnStored>,
    /// How long an introduction request to another node waits for an answer.
    pub intro_timeout: Duration,
    /// Member connections to keep open at least (`federation/discovery.rs`).
    pub min_member_connections: usize,
    /// Whether other members can dial this node: `None` lets AutoNAT find out.
    pub reachability: Option<bool>,
    /// Addresses to advertise besides the listen addresses.
    pub advertise: Vec<Multiaddr>,
    /// How long a connection may stay unconfirmed ([`ADMISSION_DEADLINE`]).
    pub admission_deadline: Duration,
}

/// A listener for records stored in the feeds: how the search index learns of shared
/// profiles and their tombstones without the federation knowing about the index. It runs
/// on the storing task, after the commit: keep it short.
#[derive(Clone)]
pub struct OnStored(pub Arc<StoredListener>);

/// What an [`OnStored`] calls.
pub type StoredListener = dyn Fn(&[SignedRecord]) + Send + Sync;

impl std::fmt::Debug for OnStored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OnStored")
    }
}

impl FederationConfig {
    pub fn new(listen: Vec<Multiaddr>, stewards: Vec<PublicKey>) -> FederationConfig {
        FederationConfig {
            listen,
            bootstrap: Vec::new(),
            stewards,
            sync_interval: Duration::from_secs(10),
            heartbeat: Duration::from_millis(500),
            on_stored: None,
            intro_timeout: direct::DEFAULT_INTRO_TIMEOUT,
            min_member_connections: 8,
            reachability: None,
            advertise: Vec::new(),
            admission_deadline: ADMISSION_DEADLINE,
        }
    }
}

/// Why the federation could not start or publish.
#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("libp2p: {0}")]
    Network(String),
    #[error("the federation task has stopped")]
    Stopped,
    #[error("cannot sign a record: {0}")]
    Sign(#[from] feed::SignError),
}

/// A handle on the running federation node. Cheap to clone.
#[derive(Clone)]
pub struct Federation {
    commands: mpsc::Sender<Command>,
    shared: Arc<Shared>,
}

struct Shared {
    store: Store,
    keypair: NodeKeypair,
    own: PublicKey,
    membership: RwLock<Membership>,
    accepted: AtomicU64,
    rejected: [AtomicU64; Rejection::ALL.len()],
    peers: RwLock<BTreeMap<PeerId, PeerInfo>>,
    listening: RwLock<Vec<Multiaddr>>,
    /// The highest head each origin is known to have at some peer, for the lag.
    known_heads: RwLock<HashMap<PublicKey, u64>>,
    on_stored: Option<OnStored>,
    /// Introductions across the federation (`direct.rs`).
    direct: Arc<direct::DirectShared>,
    /// What earlier sync answers learned of the feeds, to go on from there.
    scans: Mutex<Scans>,
    /// Permits for answering sync requests ([`ANSWERING`]).
    answering: Arc<tokio::sync::Semaphore>,
    /// Sync requests being answered or waiting for a permit ([`ANSWER_QUEUE`]).
    queued_answers: std::sync::atomic::AtomicUsize,
    /// The latest addresses record of every member (`discovery.rs`).
    book: RwLock<HashMap<PublicKey, Known>>,
    /// Peers disconnected for not being confirmed in time, or not speaking sync.
    stalled: AtomicU64,
    /// What AutoNAT (or the configuration) says of this node: `Some(true)` reachable.
    reachable: RwLock<Option<bool>>,
}

/// What sync answers remember between requests (see [`feed::visible_head`] and
/// [`FetchSkips`]).
#[derive(Default)]
struct Scans {
    /// Earlier [`feed::visible_head`] answers by origin and peer region: `(head, answer)`.
    heads: HashMap<(PublicKey, Option<String>), (u64, VisibleHead)>,
    fetches: FetchSkips,
}

impl Shared {
    /// This node's region now, from its own certificate; `None` while it has none.
    fn own_region(&self) -> Option<String> {
        region_of(&read(&self.membership), &self.own)
    }

    fn stored(&self, records: &[SignedRecord]) {
        if let (Some(f), false) = (&self.on_stored, records.is_empty()) {
            (f.0)(records);
        }
    }
}

#[derive(Debug, Clone, Serialize)]
struct PeerInfo {
    key: Option<String>,
    address: String,
    member: bool,
    /// Whether a connection that does not go through a relay is open to it.
    direct: bool,
    /// When its first connection of this stay opened ([`ADMISSION_DEADLINE`]).
    #[serde(skip)]
    since: Instant,
}

enum Command {
    Publish(SignedRecord),
    Validated {
        id: MessageId,
        source: PeerId,
        acceptance: MessageAcceptance,
    },
    /// Penalise a peer for an invalid record.
    Invalid(PeerId),
    Fetch {
        peer: PeerId,
        origin: PublicKey,
        after: u64,
        /// The head the peer announced for the origin (0 if not known).
        target: u64,
        /// Fetches of this run so far ([`MAX_FETCH_ROUNDS`]).
        rounds: u32,
    },
    /// The answer to a peer's sync request, worked out off the swarm task.
    Respond {
        channel: request_response::ResponseChannel<SyncResponse>,
        response: SyncResponse,
    },
    Dial(Multiaddr),
    /// A peer's membership records are in: keep it if it is a member, else drop it.
    CheckPeer(PeerId),
    /// Ask a peer for its membership records again.
    RefreshMembership(PeerId),
    /// Gossip bytes as they are.
    Raw(Vec<u8>),
    Shutdown(tokio::sync::oneshot::Sender<()>),
    /// For the direct protocol (`direct.rs`).
    Direct(direct::Command),
    /// Members whose address records changed: dial them as if new (no backoff).
    NewAddresses(Vec<PublicKey>),
    /// Ask a peer for the next page of membership records.
    AskMembership {
        peer: PeerId,
        after: [u8; MEMBERSHIP_CURSOR_BYTES],
    },
    /// Ask a member for the next page of address records.
    AskAddresses {
        peer: PeerId,
        after: [u8; PUBLIC_KEY_BYTES],
    },
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    gossipsub: gossipsub::Behaviour,
    sync: request_response::Behaviour<SyncCodec>,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    direct: request_response::Behaviour<direct::DirectCodec>,
    /// Serves relay reservations to members behind a NAT.
    relay: relay::Behaviour,
    relay_client: relay::client::Behaviour,
    /// Upgrades relayed connections to direct ones (hole punching).
    dcutr: dcutr::Behaviour,
    autonat: autonat::Behaviour,
}

/// What the operator sees of the federation (`GET /api/v1/federation/status`).
#[derive(Debug, Serialize)]
pub struct Status {
    pub node_key: String,
    pub listening: Vec<String>,
    pub stewards: Vec<String>,
    pub members: Vec<MemberView>,
    pub peers: Vec<serde_json::Value>,
    pub feeds: Vec<FeedView>,
    pub accepted: u64,
    pub rejected: BTreeMap<&'static str, u64>,
    /// Direct messages (introductions): accepted, rejected by reason, waiting to go.
    pub direct: direct::DirectStatus,
    /// Members whose addresses this node holds (its own included).
    pub addresses_known: usize,
    /// Whether other members can dial this node (`null` while not known).
    pub reachable: Option<bool>,
    /// Peers disconnected because they were not confirmed as members within
    /// [`ADMISSION_DEADLINE`] or did not speak the sync protocol.
    pub stalled_peers: u64,
}

#[derive(Debug, Serialize)]
pub struct MemberView {
    pub key: String,
    pub community: String,
    pub region: String,
    pub not_before_ms: u64,
    pub not_after_ms: u64,
    pub revoked: bool,
}

#[derive(Debug, Serialize)]
pub struct FeedView {
    pub origin: String,
    pub head: u64,
    /// How far behind the highest head seen at any peer.
    pub lag: u64,
}

/// Milliseconds since 1970 by this machine's clock (0 if the clock is before 1970).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The federation key of a peer: its libp2p identity is its ed25519 node key.
fn peer_key(peer: &PeerId) -> Option<PublicKey> {
    let key = identity::PublicKey::try_decode_protobuf(peer.as_ref().digest()).ok()?;
    let bytes = key.try_into_ed25519().ok()?.to_bytes();
    PublicKey::from_bytes(bytes).ok()
}

/// The region of a member now; `None` unless it is a member now.
fn region_of(membership: &Membership, key: &PublicKey) -> Option<String> {
    match membership.status(key, now_ms()) {
        MemberStatus::Member { region, .. } => Some(region),
        _ => None,
    }
}

/// The gossipsub message id: SHA-256 of the data on the main topic (docs/protocol.md §9.1),
/// and of the topic name, a zero byte and the data on a region topic. A profile scoped to
/// several regions is one message per region topic: with the data alone its second publish
/// would be dropped as a duplicate of the first.
fn message_id(message: &gossipsub::Message) -> MessageId {
    use sha2::Digest;
    let mut hash = sha2::Sha256::new();
    if is_region_topic(message.topic.as_str()) {
        hash.update(message.topic.as_str().as_bytes());
        hash.update([0u8]);
    }
    hash.update(&message.data);
    MessageId::from(hash.finalize().to_vec())
}

/// The libp2p peer id of a node key.
pub fn peer_id_of(key: &PublicKey) -> Option<PeerId> {
    let ed = identity::ed25519::PublicKey::try_from_bytes(key.as_bytes()).ok()?;
    Some(PeerId::from_public_key(&identity::PublicKey::from(ed)))
}

impl Federation {
    /// Starts the node: loads membership records from the store, listens, dials the
    /// bootstrap peers, and runs until the returned handle's task is aborted or the runtime
    /// stops.
    pub async fn start(
        store: Store,
        keypair: NodeKeypair,
        config: FederationConfig,
    ) -> Result<Federation, FederationError> {
        let mut membership = Membership::new(config.stewards.clone());
        for record in feed::membership_records(&store)? {
            // Records in the store were checked when they were stored.
            let _ = membership.admit(&record);
        }
        let store_for_book = store.clone();
        let direct = Arc::new(direct::DirectShared::new(
            store.clone(),
            keypair.clone(),
            config.intro_timeout,
        ));
        let shared = Arc::new(Shared {
            own: keypair.public(),
            keypair,
            store,
            membership: RwLock::new(membership),
            accepted: AtomicU64::new(0),
            rejected: Default::default(),
            peers: RwLock::new(BTreeMap::new()),
            listening: RwLock::new(Vec::new()),
            known_heads: RwLock::new(HashMap::new()),
            on_stored: config.on_stored.clone(),
            direct: direct.clone(),
            scans: Mutex::new(Scans::default()),
            answering: Arc::new(tokio::sync::Semaphore::new(ANSWERING)),
            queued_answers: std::sync::atomic::AtomicUsize::new(0),
            book: RwLock::new(discovery::load(&store_for_book)?),
            stalled: AtomicU64::new(0),
            reachable: RwLock::new(config.reachability),
        });
        let saved: Counters = shared.store.get_meta(COUNTERS_META)?.unwrap_or_default();
        shared.restore(&saved);
        let mut swarm = build_swarm(&shared.keypair, &config)?;
        for addr in &config.listen {
            swarm.listen_on(addr.clone()).map_err(|e| {
                FederationError::Network(format!("listening on {addr}: {}", chain(&e)))
            })?;
        }
        let (tx, rx) = mpsc::channel(1024);
        {
            // Weak: the direct side lives inside `Shared`.
            let weak = Arc::downgrade(&shared);
            let status_of: direct::StatusOf =
                Arc::new(move |key: &PublicKey| match weak.upgrade() {
                    Some(s) => read(&s.membership).status(key, now_ms()),
                    None => MemberStatus::NoCertificate,
                });
            let tx = tx.clone();
            direct.set_links(
                status_of,
                Arc::new(move |c| {
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        let _ = tx.send(Command::Direct(c)).await;
                    });
                }),
            );
        }
        // The bootstrap addresses are dialled once the node listens (`on_event`), so that
        // those dials leave from the listen port: a NAT then maps that port, which hole
        // punching needs.
        let federation = Federation {
            commands: tx.clone(),
            shared: shared.clone(),
        };
        let node = Node {
            swarm,
            shared,
            commands: tx,
            pending: HashMap::new(),
            invalid: HashMap::new(),
            banned: HashMap::new(),
            config,
            region_topic: None,
            direct: direct::Driver::new(direct),
            backoff: Backoff::default(),
            advertised: None,
            relays: HashMap::new(),
            connections: HashMap::new(),
            saved,
            dialing: HashSet::new(),
        };
        tokio::spawn(node.run(rx));
        Ok(federation)
    }

    /// This node's key.
    pub fn key(&self) -> PublicKey {
        self.shared.own
    }

    /// The addresses the node listens on, with its peer id (for other nodes' bootstrap).
    pub fn listen_addrs(&self) -> Vec<Multiaddr> {
        let peer = peer_id_of(&self.shared.own);
        read(&self.shared.listening)
            .iter()
            .map(|a| match peer {
                Some(p) => a.clone().with_p2p(p).unwrap_or_else(|a| a),
                None => a.clone(),
            })
            .collect()
    }

    /// Appends a record to this node's own feed (durably) and gossips it.
    pub async fn publish(
        &self,
        kind: RecordKind,
        payload: Vec<u8>,
    ) -> Result<SignedRecord, FederationError> {
        let mut records = self.publish_all(kind, vec![payload]).await?;
        records.pop().ok_or(FederationError::Stopped)
    }

    /// Signs several records of one kind into this node's feed in one durable commit, in
    /// order, then gossips them. Nothing is published if any payload fails `check`.
    pub async fn publish_all(
        &self,
        kind: RecordKind,
        payloads: Vec<Vec<u8>>,
    ) -> Result<Vec<SignedRecord>, FederationError> {
        let shared = self.shared.clone();
        let records = self
            .shared
            .store
            .commit(move |tx| feed::sign_into_feed(tx, &shared.keypair, kind, payloads, now_ms()))
            .await?;
        self.shared.stored(&records);
        for record in &records {
            self.commands
                .send(Command::Publish(record.clone()))
                .await
                .map_err(|_| FederationError::Stopped)?;
        }
        Ok(records)
    }

    /// Admits a steward's certificate or revocation handed to this node directly (by
    /// `techhire federation join`, say), stores it and gossips it.
    pub async fn admit_membership(&self, record: SignedRecord) -> Result<(), Rejection> {
        let shared = self.shared.clone();
        let accepted = ingest_membership(&shared, &record).await?;
        if accepted {
            let _ = self.commands.send(Command::Publish(record)).await;
        }
        Ok(())
    }

    /// Connects to another node.
    pub async fn dial(&self, addr: Multiaddr) -> Result<(), FederationError> {
        self.commands
            .send(Command::Dial(addr))
            .await
            .map_err(|_| FederationError::Stopped)
    }

    /// Gossips `bytes` without checking them: how tests play a misbehaving member against
    /// other nodes' defences. A node's own records go through [`Federation::publish`].
    pub async fn gossip_unchecked(&self, bytes: Vec<u8>) -> Result<(), FederationError> {
        self.commands
            .send(Command::Raw(bytes))
            .await
            .map_err(|_| FederationError::Stopped)
    }

    /// Stops the node: connections close and the swarm is dropped. Records already
    /// acknowledged are in the store.
    pub async fn shutdown(&self) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.commands.send(Command::Shutdown(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// Members, peers, feeds and counters, for the operator.
    pub fn status(&self) -> Result<Status, StoreError> {
        let s = &self.shared;
        let membership = read(&s.membership);
        let known = read(&s.known_heads);
        let feeds = feed::heads(&s.store)?
            .into_iter()
            .map(|(origin, head)| FeedView {
                origin: origin.to_string(),
                head,
                lag: known.get(&origin).map_or(0, |k| k.saturating_sub(head)),
            })
            .collect();
        Ok(Status {
            node_key: s.own.to_string(),
            listening: self.listen_addrs().iter().map(|a| a.to_string()).collect(),
            stewards: membership
                .stewards()
                .iter()
                .map(|k| k.to_string())
                .collect(),
            members: membership
                .members()
                .into_iter()
                .map(|(key, cert, revocation)| MemberView {
                    key: key.to_string(),
                    community: cert.community,
                    region: cert.region,
                    not_before_ms: cert.not_before_ms,
                    not_after_ms: cert.not_after_ms,
                    revoked: revocation.is_some(),
                })
                .collect(),
            peers: read(&s.peers)
                .iter()
                .map(|(id, p)| {
                    serde_json::json!({
                        "peer_id": id.to_string(), "key": p.key, "address": p.address,
                        "member": p.member, "direct": p.direct
                    })
                })
                .collect(),
            feeds,
            accepted: s.accepted.load(Ordering::Relaxed),
            rejected: Rejection::ALL
                .iter()
                .zip(&s.rejected)
                .map(|(r, n)| (r.as_str(), n.load(Ordering::Relaxed)))
                .collect(),
            direct: s.direct.status()?,
            addresses_known: read(&s.book).len(),
            reachable: *read(&s.reachable),
            stalled_peers: s.stalled.load(Ordering::Relaxed),
        })
    }

    /// Introductions across the federation: the outbox, the counters, the timeout.
    pub fn direct(&self) -> &direct::DirectShared {
        &self.shared.direct
    }

    /// Records of `origin` this node holds above `after` (for tests and the API).
    pub fn records(&self, origin: &PublicKey, after: u64) -> Result<Vec<SignedRecord>, StoreError> {
        feed::fetch(&self.shared.store, origin, after, usize::MAX)
    }
}

/// An error with its causes: libp2p's transport errors keep the useful part ("address in
/// use") in their sources.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !more.is_empty() && !text.contains(&more) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

fn build_swarm(
    keypair: &NodeKeypair,
    config: &FederationConfig,
) -> Result<libp2p::Swarm<Behaviour>, FederationError> {
    let net = |e: &dyn std::fmt::Display| FederationError::Network(e.to_string());
    let key = identity::Keypair::ed25519_from_bytes(keypair.seed()).map_err(|e| net(&e))?;
    let heartbeat = config.heartbeat;
    let swarm = libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| net(&e))?
        .with_relay_client(noise::Config::new, yamux::Config::default)
        .map_err(|e| net(&e))?
        .with_behaviour(|key, relay_client| {
            let gossip = gossipsub::ConfigBuilder::default()
                .heartbeat_interval(heartbeat)
                .heartbeat_initial_delay(Duration::from_millis(100))
                // Records carry their own signatures, checked once by us; gossipsub's own
                // signatures would only double the work (docs/protocol.md, "Gossip").
                .validation_mode(gossipsub::ValidationMode::Anonymous)
                .validate_messages()
                // Origin and sequence are in the bytes, so equal bytes are one record.
                .message_id_fn(message_id)
                .max_transmit_size(MAX_GOSSIP_FRAME)
                .build()
                .map_err(|e| e.to_string())?;
            let mut gossipsub =
                gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Anonymous, gossip)?;
            // Scoring only to hold back peers not yet confirmed ([`BLOCKED_SCORE`]); members
            // may share an address (nodes behind one NAT, tests on loopback).
            gossipsub.with_peer_score(
                gossipsub::PeerScoreParams {
                    ip_colocation_factor_weight: 0.0,
                    ..Default::default()
                },
                gossipsub::PeerScoreThresholds::default(),
            )?;
            let sync = request_response::Behaviour::with_codec(
                SyncCodec,
                [(StreamProtocol::new(SYNC_PROTOCOL), ProtocolSupport::Full)],
                request_response::Config::default().with_request_timeout(Duration::from_secs(30)),
            );
            let identify =
                identify::Behaviour::new(identify::Config::new("/techhire/1".into(), key.public()));
            let me = key.public().to_peer_id();
            Ok(Behaviour {
                gossipsub,
                sync,
                identify,
                ping: ping::Behaviour::default(),
                direct: direct::behaviour(),
                relay: relay::Behaviour::new(me, relay_config()),
                relay_client,
                dcutr: dcutr::Behaviour::new(me),
                autonat: autonat::Behaviour::new(me, autonat_config()),
            })
        })
        .map_err(|e| net(&e))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(120)))
        .build();
    Ok(swarm)
}

/// Relay service for members behind a NAT. Non-members are disconnected within
/// [`ADMISSION_DEADLINE`] (their reservations with them), so the limits are sized for
/// members' own traffic: long circuits (sync, gossip and introductions go through them
/// until a hole punch succeeds), no per-address rate limits (members behind one NAT share
/// an address).
fn relay_config() -> relay::Config {
    relay::Config {
        max_reservations: 256,
        max_reservations_per_peer: 4,
        reservation_duration: Duration::from_secs(3600),
        reservation_rate_limiters: Vec::new(),
        max_circuits: 256,
        max_circuits_per_peer: 16,
        max_circuit_duration: Duration::from_secs(3600),
        max_circuit_bytes: 1 << 30,
        circuit_src_rate_limiters: Vec::new(),
    }
}

/// AutoNAT: members ask connected members to dial them back. Private addresses count
/// (members may share a private network), and probes come sooner than libp2p's defaults
/// so that a node behind a NAT takes a relay within seconds of joining.
fn autonat_config() -> autonat::Config {
    autonat::Config {
        boot_delay: Duration::from_secs(2),
        retry_interval: Duration::from_secs(15),
        refresh_interval: Duration::from_secs(600),
        throttle_server_period: Duration::from_secs(5),
        only_global_ips: false,
        ..autonat::Config::default()
    }
}

/// What an outbound request asked, to read its answer.
enum Asked {
    Membership,
    Heads,
    Addresses,
    Fetch {
        origin: PublicKey,
        after: u64,
        target: u64,
        rounds: u32,
    },
}

struct Node {
    swarm: libp2p::Swarm<Behaviour>,
    shared: Arc<Shared>,
    commands: mpsc::Sender<Command>,
    pending: HashMap<OutboundRequestId, (PeerId, Asked)>,
    /// Invalid records per peer, and when its count started ([`INVALID_WINDOW`]).
    invalid: HashMap<PeerId, (u32, Instant)>,
    banned: HashMap<PeerId, Instant>,
    config: FederationConfig,
    /// The region topic this node is subscribed to, from its own certificate.
    region_topic: Option<IdentTopic>,
    direct: direct::Driver,
    /// When each known member may be dialled again.
    backoff: Backoff,
    /// What this node's latest addresses record says.
    advertised: Option<(Vec<String>, bool)>,
    /// Relay reservations this node holds (behind a NAT), by relay.
    relays: HashMap<PeerId, ListenerId>,
    /// Every open connection: its peer, whether it goes through a relay, and the address
    /// this node dialled if it did (a relay can be reserved there).
    connections: HashMap<ConnectionId, (PeerId, bool, Option<Multiaddr>)>,
    /// The counters as last stored ([`COUNTERS_META`]).
    saved: Counters,
    /// Members `dial_members` is dialling now.
    dialing: HashSet<PeerId>,
}

impl Node {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let topic = IdentTopic::new(GOSSIP_TOPIC);
        if let Err(e) = self.swarm.behaviour_mut().gossipsub.subscribe(&topic) {
            tracing::error!(error = %e, "cannot subscribe to the records topic");
        }
        self.follow_region();
        let mut tick = tokio::time::interval(self.config.sync_interval);
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_event(event),
                command = commands.recv() => match command {
                    Some(Command::Shutdown(done)) => {
                        drop(self);
                        let _ = done.send(());
                        return;
                    }
                    Some(command) => self.on_command(command, &topic),
                    None => return,
                },
                _ = tick.tick() => self.on_tick(),
            }
        }
    }

    /// Subscribes to the topic of this node's region as its certificate names it now (and
    /// leaves the previous one): a node that learns its certificate after start, or gets one
    /// for another region, follows at the next tick.
    fn follow_region(&mut self) {
        let wanted = self
            .shared
            .own_region()
            .map(|r| IdentTopic::new(region_topic(&r)));
        let current = self.region_topic.as_ref().map(IdentTopic::hash);
        if wanted.as_ref().map(IdentTopic::hash) == current {
            return;
        }
        let gossipsub = &mut self.swarm.behaviour_mut().gossipsub;
        if let Some(old) = self.region_topic.take() {
            gossipsub.unsubscribe(&old);
        }
        if let Some(topic) = wanted {
            match gossipsub.subscribe(&topic) {
                Ok(_) => self.region_topic = Some(topic),
                Err(e) => tracing::error!(error = %e, "cannot subscribe to the region topic"),
            }
        }
    }

    /// Whether every region topic `peer` is subscribed to is its own region's (by the
    /// certificates this node holds); false for a peer that is not a member now.
    fn subscriptions_fit(&self, peer: &PeerId) -> bool {
        let Some(region) =
            peer_key(peer).and_then(|k| region_of(&read(&self.shared.membership), &k))
        else {
            return false;
        };
        let own = region_topic(&region);
        self.swarm
            .behaviour()
            .gossipsub
            .all_peers()
            .filter(|(id, _)| *id == peer)
            .flat_map(|(_, topics)| topics)
            .all(|t| !is_region_topic(t.as_str()) || t.as_str() == own)
    }

    fn on_tick(&mut self) {
        self.follow_region();
        self.drop_stalled();
        self.dial_bootstrap();
        let peers: Vec<(PeerId, bool)> = read(&self.shared.peers)
            .iter()
            .map(|(id, p)| (*id, p.member))
            .collect();
        for (peer, member) in peers {
            // Also of a peer not (yet) known as a member: if the membership exchange on
            // connect was lost (a failed request is not retried), asking again is the only
            // way it is settled; a peer that is not a member is disconnected on the answer.
            // One of each at a time: on a slow peer, asking again every tick only queues
            // the same question behind itself.
            if !self.asking(&peer, |a| matches!(a, Asked::Membership)) {
                self.ask(peer, SyncRequest::Membership, Asked::Membership);
            }
            if member && !self.asking(&peer, |a| matches!(a, Asked::Heads)) {
                self.ask(peer, SyncRequest::Heads, Asked::Heads);
            }
            if member && !self.asking(&peer, |a| matches!(a, Asked::Addresses)) {
                self.ask_addresses(peer);
            }
        }
        self.advertise();
        self.dial_members();
        self.keep_relays();
        self.save_counters();
        self.banned.retain(|_, until| *until > Instant::now());
        let connected: HashSet<PeerId> = self.swarm.connected_peers().copied().collect();
        self.direct
            .on_tick(&mut self.swarm.behaviour_mut().direct, &connected);
    }

    /// Stores the record counters if they changed since the last tick, so that they count
    /// across restarts (an operator watching rejections should not see them fall to zero).
    fn save_counters(&mut self) {
        let now = self.shared.counters();
        if now == self.saved {
            return;
        }
        self.saved = now.clone();
        let store = self.shared.store.clone();
        tokio::spawn(async move {
            if let Err(e) = store.commit(|tx| tx.put_meta(COUNTERS_META, &now)).await {
                tracing::warn!(error = %e, "cannot store the federation's counters");
            }
        });
    }

    /// Dials each bootstrap address whose peer is not connected (nor being dialled), once
    /// the node listens.
    fn dial_bootstrap(&mut self) {
        if read(&self.shared.listening).is_empty() {
            return;
        }
        let connected = self.swarm.connected_peers().count();
        for addr in self.config.bootstrap.clone() {
            if connected >= 64 {
                break;
            }
            let opts = match addr.iter().find_map(|p| match p {
                Protocol::P2p(id) => Some(id),
                _ => None,
            }) {
                Some(peer) if self.swarm.is_connected(&peer) => continue,
                Some(peer) => DialOpts::peer_id(peer)
                    .addresses(vec![addr.clone()])
                    .condition(PeerCondition::DisconnectedAndNotDialing)
                    .build(),
                None => DialOpts::unknown_peer_id().address(addr.clone()).build(),
            };
            if let Err(e) = self.swarm.dial(opts) {
                tracing::debug!(%addr, error = %e, "bootstrap dial not made");
            }
        }
    }

    /// Closes connections to peers not confirmed as members within the admission deadline
    /// (they never answered the membership question, or their answer showed no member).
    fn drop_stalled(&mut self) {
        let now = Instant::now();
        let stalled: Vec<PeerId> = read(&self.shared.peers)
            .iter()
            .filter(|(_, p)| {
                !p.member && now.duration_since(p.since) > self.config.admission_deadline
            })
            .map(|(id, _)| *id)
            .collect();
        for peer in stalled {
            self.drop_stalled_peer(peer, "not confirmed as a member in time");
        }
    }

    fn drop_stalled_peer(&mut self, peer: PeerId, why: &'static str) {
        tracing::info!(%peer, why, "disconnecting a stalled peer");
        if write(&self.shared.peers).remove(&peer).is_some() {
            self.shared.stalled.fetch_add(1, Ordering::Relaxed);
        }
        self.hold_back(&peer, true);
        let _ = self.swarm.disconnect_peer_id(peer);
    }

    /// Asks a member for every address record it holds (the first page).
    fn ask_addresses(&mut self, peer: PeerId) {
        let after = [0; PUBLIC_KEY_BYTES];
        self.ask(peer, SyncRequest::Addresses { after }, Asked::Addresses);
    }

    /// Signs a new addresses record of this node when what it would say changed.
    fn advertise(&mut self) {
        let listening = read(&self.shared.listening).clone();
        let external: Vec<Multiaddr> = self.swarm.external_addresses().cloned().collect();
        let addresses = discovery::advertised(
            &self.config.advertise,
            &external,
            &listening,
            peer_id_of(&self.shared.own),
        );
        let reachable = read(&self.shared.reachable).unwrap_or(false);
        let now = (addresses, reachable);
        if now.0.is_empty() || self.advertised.as_ref() == Some(&now) {
            return;
        }
        let ms = now_ms();
        let last = read(&self.shared.book)
            .get(&self.shared.own)
            .map_or(0, |k| k.seq);
        let seq = ms.max(last + 1);
        let payload = MemberAddresses {
            reachable,
            addresses: now.0.clone(),
        };
        let record = match payload.try_sign(&self.shared.keypair, seq, ms) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "cannot sign this node's addresses");
                return;
            }
        };
        self.advertised = Some(now);
        if let Ok(known) = discovery::check(&record, ms) {
            // In the book at once (the next advertisement counts on its sequence), in the
            // store by the task.
            write(&self.shared.book).insert(self.shared.own, known);
        }
        tracing::info!(addresses = ?payload.addresses, reachable, "advertising addresses");
        let store = self.shared.store.clone();
        tokio::spawn(async move {
            if let Err(e) = store.commit(move |tx| discovery::keep(tx, &record)).await {
                tracing::error!(error = %e, "cannot store this node's addresses");
            }
        });
    }

    /// Dials members it knows the addresses of: every member a direct message waits for,
    /// and others while fewer than `min_member_connections` members are connected; each
    /// no sooner than its backoff allows.
    fn dial_members(&mut self) {
        let now = Instant::now();
        let waiting: HashSet<PublicKey> = direct::recipients(&self.shared.store)
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "cannot read the direct outbox");
                Vec::new()
            })
            .into_iter()
            .collect();
        // Peers connected (confirmed or not yet) and dials on their way count against the
        // budget: counting confirmed members only made every confirmation dial again, and
        // with a hundred members each ended with thirty connections and no CPU to spare.
        let connected = read(&self.shared.peers).len();
        let mut budget = self
            .config
            .min_member_connections
            .saturating_sub(connected + self.dialing.len());
        let mut candidates = Vec::new();
        {
            let book = read(&self.shared.book);
            let membership = read(&self.shared.membership);
            for (key, known) in book.iter() {
                if *key == self.shared.own || known.addrs.is_empty() {
                    continue;
                }
                if !matches!(
                    membership.status(key, now_ms()),
                    MemberStatus::Member { .. }
                ) {
                    continue;
                }
                let Some(peer) = peer_id_of(key) else {
                    continue;
                };
                if self.swarm.is_connected(&peer)
                    || self.banned.contains_key(&peer)
                    || !self.backoff.due(&peer, now)
                {
                    continue;
                }
                // Direct addresses first: a relayed path is the fallback.
                let mut addrs = known.addrs.clone();
                addrs.sort_by_key(discovery::is_relayed);
                candidates.push((!waiting.contains(key), peer, addrs));
            }
        }
        candidates.sort_by_key(|(later, peer, _)| (*later, *peer));
        for (later, peer, addrs) in candidates {
            if later {
                if budget == 0 {
                    continue;
                }
                budget -= 1;
            }
            self.backoff.dialled(peer, now);
            self.dialing.insert(peer);
            let opts = DialOpts::peer_id(peer)
                .addresses(addrs)
                .condition(PeerCondition::DisconnectedAndNotDialing)
                .build();
            if let Err(e) = self.swarm.dial(opts) {
                self.dialing.remove(&peer);
                tracing::debug!(%peer, error = %e, "cannot dial a member");
            }
        }
    }

    /// Behind a NAT: keeps relay reservations on [`RELAYS`] reachable members this node
    /// dialled directly, so that other members reach it through them.
    fn keep_relays(&mut self) {
        if *read(&self.shared.reachable) != Some(false) || self.relays.len() >= RELAYS {
            return;
        }
        let mut chosen: Vec<(PeerId, Multiaddr)> = Vec::new();
        {
            let book = read(&self.shared.book);
            let peers = read(&self.shared.peers);
            for (peer, _, dialled) in self.connections.values() {
                let Some(addr) = dialled else { continue };
                let reachable = peer_key(peer)
                    .and_then(|k| book.get(&k))
                    .is_some_and(|k| k.reachable);
                let member = peers.get(peer).is_some_and(|p| p.member);
                if reachable
                    && member
                    && !self.relays.contains_key(peer)
                    && !chosen.iter().any(|(p, _)| p == peer)
                {
                    chosen.push((*peer, addr.clone()));
                }
            }
        }
        for (peer, addr) in chosen.into_iter().take(RELAYS - self.relays.len()) {
            let base = match addr.iter().last() {
                Some(Protocol::P2p(_)) => addr,
                _ => addr.with(Protocol::P2p(peer)),
            };
            let circuit = base.with(Protocol::P2pCircuit);
            match self.swarm.listen_on(circuit.clone()) {
                Ok(id) => {
                    tracing::info!(relay = %peer, %circuit, "reserving a relay");
                    self.relays.insert(peer, id);
                }
                Err(e) => tracing::warn!(relay = %peer, error = %e, "cannot reserve a relay"),
            }
        }
    }

    /// Whether a connection that does not go through a relay is open to `peer`.
    fn has_direct(&self, peer: &PeerId) -> bool {
        self.connections
            .values()
            .any(|(p, relayed, _)| p == peer && !relayed)
    }

    /// Whether a request of the kind `kind` picks is waiting for `peer`'s answer.
    fn asking(&self, peer: &PeerId, kind: impl Fn(&Asked) -> bool) -> bool {
        self.pending.values().any(|(p, a)| p == peer && kind(a))
    }

    fn ask(&mut self, peer: PeerId, request: SyncRequest, asked: Asked) {
        let id = self.swarm.behaviour_mut().sync.send_request(&peer, request);
        self.pending.insert(id, (peer, asked));
    }

    fn on_command(&mut self, command: Command, topic: &IdentTopic) {
        match command {
            Command::Publish(record) => {
                let bytes = record.encode();
                // A profile scoped to regions goes only to its regions' topics, never the
                // main one: a node of another region must not even receive it.
                for name in gossip_topics(&record) {
                    match self
                        .swarm
                        .behaviour_mut()
                        .gossipsub
                        .publish(IdentTopic::new(name), bytes.clone())
                    {
                        Ok(_) => {}
                        // Nobody to tell now; peers fetch it by sync when they connect.
                        Err(gossipsub::PublishError::NoPeersSubscribedToTopic) => {}
                        Err(gossipsub::PublishError::Duplicate) => {}
                        Err(e) => tracing::warn!(error = %e, "gossip publish failed"),
                    }
                }
            }
            Command::Validated {
                id,
                source,
                acceptance,
            } => {
                self.swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(&id, &source, acceptance);
            }
            Command::Invalid(peer) => {
                let now = Instant::now();
                let (n, since) = self.invalid.entry(peer).or_insert((0, now));
                if now.duration_since(*since) > INVALID_WINDOW {
                    (*n, *since) = (0, now);
                }
                *n += 1;
                if *n > MAX_INVALID {
                    tracing::warn!(%peer, "peer sent too many invalid records: disconnecting");
                    self.banned.insert(peer, Instant::now() + BAN);
                    self.invalid.remove(&peer);
                    let _ = self.swarm.disconnect_peer_id(peer);
                }
            }
            Command::Fetch {
                peer,
                origin,
                after,
                target,
                rounds,
            } => self.ask(
                peer,
                SyncRequest::Fetch {
                    origin,
                    after,
                    limit: MAX_FETCH_RECORDS,
                },
                Asked::Fetch {
                    origin,
                    after,
                    target,
                    rounds,
                },
            ),
            Command::Respond { channel, response } => {
                // Fails only if the peer has gone or the request timed out meanwhile.
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .sync
                    .send_response(channel, response);
            }
            Command::CheckPeer(peer) => self.check_peer(peer),
            Command::RefreshMembership(peer) => {
                self.ask(peer, SyncRequest::Membership, Asked::Membership)
            }
            Command::Raw(bytes) => {
                if let Err(e) = self
                    .swarm
                    .behaviour_mut()
                    .gossipsub
                    .publish(topic.clone(), bytes)
                {
                    tracing::debug!(error = %e, "raw gossip not sent");
                }
            }
            Command::Shutdown(done) => {
                let _ = done.send(());
            }
            Command::Dial(addr) => {
                if let Err(e) = self.swarm.dial(addr.clone()) {
                    tracing::warn!(%addr, error = %e, "dial failed");
                }
            }
            Command::Direct(command) => {
                let flush = matches!(command, direct::Command::Flush);
                let connected: HashSet<PeerId> = self.swarm.connected_peers().copied().collect();
                self.direct
                    .on_command(command, &mut self.swarm.behaviour_mut().direct, &connected);
                if flush {
                    // A message for a member that is not connected: dial it now rather
                    // than at the next tick.
                    self.dial_members();
                }
            }
            Command::NewAddresses(keys) => {
                for key in keys {
                    if let Some(peer) = peer_id_of(&key) {
                        self.backoff.connected(&peer);
                    }
                }
                self.dial_members();
            }
            Command::AskMembership { peer, after } => self.ask(
                peer,
                SyncRequest::MembershipAfter { after },
                Asked::Membership,
            ),
            Command::AskAddresses { peer, after } => {
                self.ask(peer, SyncRequest::Addresses { after }, Asked::Addresses)
            }
        }
    }

    fn on_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(%address, "federation listening");
                let first = {
                    let mut listening = write(&self.shared.listening);
                    listening.push(address);
                    listening.len() == 1
                };
                if first {
                    self.dial_bootstrap();
                }
            }
            SwarmEvent::OutgoingConnectionError {
                peer_id: Some(peer),
                ..
            } => {
                self.dialing.remove(&peer);
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                write(&self.shared.listening).retain(|a| *a != address);
            }
            SwarmEvent::ListenerClosed { listener_id, .. } => {
                self.relays.retain(|_, id| *id != listener_id);
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                endpoint,
                connection_id,
                ..
            } => {
                self.dialing.remove(&peer_id);
                if self.banned.contains_key(&peer_id) {
                    let _ = self.swarm.disconnect_peer_id(peer_id);
                    return;
                }
                let relayed = endpoint.is_relayed();
                let dialled = match &endpoint {
                    ConnectedPoint::Dialer { address, .. } if !relayed => Some(address.clone()),
                    _ => None,
                };
                self.connections
                    .insert(connection_id, (peer_id, relayed, dialled));
                self.backoff.connected(&peer_id);
                let direct = self.has_direct(&peer_id);
                let address = endpoint.get_remote_address().to_string();
                if let Some(p) = write(&self.shared.peers).get_mut(&peer_id) {
                    // Another connection to a peer already admitted (a hole punch's, say).
                    p.direct = direct;
                    p.address = address;
                    return;
                }
                let key = peer_key(&peer_id);
                write(&self.shared.peers).insert(
                    peer_id,
                    PeerInfo {
                        key: key.map(|k| k.to_string()),
                        address,
                        // Confirmed by `check_peer` once its membership answer is in.
                        member: false,
                        direct,
                        since: Instant::now(),
                    },
                );
                // Nothing is gossiped to it until `check_peer` confirms it.
                self.hold_back(&peer_id, true);
                // Learn its certificates first: a new member's own certificate comes this way.
                self.ask(peer_id, SyncRequest::Membership, Asked::Membership);
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                connection_id,
                num_established,
                ..
            } => {
                self.connections.remove(&connection_id);
                if num_established == 0 {
                    write(&self.shared.peers).remove(&peer_id);
                } else {
                    let direct = self.has_direct(&peer_id);
                    if let Some(p) = write(&self.shared.peers).get_mut(&peer_id) {
                        p.direct = direct;
                    }
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Autonat(autonat::Event::StatusChanged {
                new,
                ..
            })) => {
                tracing::info!(status = ?new, "reachability (AutoNAT)");
                if self.config.reachability.is_none() {
                    *write(&self.shared.reachable) = match new {
                        autonat::NatStatus::Public(_) => Some(true),
                        autonat::NatStatus::Private => Some(false),
                        autonat::NatStatus::Unknown => None,
                    };
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Dcutr(event)) => {
                tracing::info!(peer = %event.remote_peer_id, result = ?event.result, "hole punch");
            }
            SwarmEvent::Behaviour(BehaviourEvent::RelayClient(event)) => {
                tracing::debug!(?event, "relay client");
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Subscribed {
                peer_id,
                topic,
            })) if is_region_topic(topic.as_str()) && !self.subscriptions_fit(&peer_id) => {
                // It may hold a certificate for that region this node has not seen: ask for
                // its membership records; `check_peer` decides on the answer.
                tracing::debug!(peer = %peer_id, %topic, "subscribed to another region's topic");
                self.hold_back(&peer_id, true);
                self.ask(peer_id, SyncRequest::Membership, Asked::Membership);
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => {
                let shared = self.shared.clone();
                let commands = self.commands.clone();
                tokio::spawn(async move {
                    let on_region_topic = is_region_topic(message.topic.as_str());
                    let acceptance = ingest_gossip(
                        &shared,
                        &commands,
                        propagation_source,
                        &message.data,
                        on_region_topic,
                    )
                    .await;
                    let _ = commands
                        .send(Command::Validated {
                            id: message_id,
                            source: propagation_source,
                            acceptance,
                        })
                        .await;
                });
            }
            SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::Message {
                peer,
                message,
                ..
            })) => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => self.answer(peer, request, channel),
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    if let Some((peer, asked)) = self.pending.remove(&request_id) {
                        self.on_response(peer, asked, response);
                    }
                }
            },
            SwarmEvent::Behaviour(BehaviourEvent::Sync(
                request_response::Event::OutboundFailure {
                    request_id,
                    peer,
                    error,
                    ..
                },
            )) => {
                self.pending.remove(&request_id);
                if matches!(
                    error,
                    request_response::OutboundFailure::UnsupportedProtocols
                ) {
                    self.drop_stalled_peer(peer, "does not speak the sync protocol");
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Direct(event)) => self.direct.on_event(event),
            _ => {}
        }
    }

    /// Answers a peer's sync request off the swarm task (reading feeds may take a while):
    /// on a blocking thread, whose answer comes back as [`Command::Respond`]. At most
    /// [`ANSWERING`] at once; the rest wait their turn, and only beyond [`ANSWER_QUEUE`]
    /// waiting is a request refused (the asker asks again at its next tick).
    fn answer(
        &mut self,
        peer: PeerId,
        request: SyncRequest,
        channel: request_response::ResponseChannel<SyncResponse>,
    ) {
        let queued = self.shared.queued_answers.fetch_add(1, Ordering::Relaxed);
        if queued >= ANSWER_QUEUE {
            self.shared.queued_answers.fetch_sub(1, Ordering::Relaxed);
            let busy = SyncResponse::Refused("busy: ask again later".into());
            let _ = self.swarm.behaviour_mut().sync.send_response(channel, busy);
            return;
        }
        let shared = self.shared.clone();
        let commands = self.commands.clone();
        tokio::spawn(async move {
            let permit = shared.answering.clone().acquire_owned().await;
            let worker = shared.clone();
            let response = match permit {
                Ok(permit) => tokio::task::spawn_blocking(move || {
                    let _permit = permit;
                    answer(&worker, &peer, request)
                })
                .await
                .unwrap_or_else(|e| {
                    tracing::error!(error = %e, "answering a sync request failed");
                    SyncResponse::Refused("the node could not answer".into())
                }),
                // The semaphore is never closed.
                Err(_) => SyncResponse::Refused("the node could not answer".into()),
            };
            shared.queued_answers.fetch_sub(1, Ordering::Relaxed);
            let _ = commands.send(Command::Respond { channel, response }).await;
        });
    }

    fn on_response(&mut self, peer: PeerId, asked: Asked, response: SyncResponse) {
        match (asked, response) {
            (Asked::Membership, SyncResponse::Records(records)) => {
                let shared = self.shared.clone();
                let commands = self.commands.clone();
                // A full page: there may be more, asked for before the peer is checked.
                let next = (records.len() >= MAX_FETCH_RECORDS as usize)
                    .then(|| records.last().map(feed::membership_cursor))
                    .flatten();
                tokio::spawn(async move {
                    for record in records {
                        // Held already: checked when it was stored. Every member answers
                        // with every certificate at every tick, so verifying them all again
                        // grew with the square of the federation's size.
                        if feed::holds_membership(&shared.store, &record).unwrap_or(false) {
                            // Admitted all the same (cheap, and it was verified when stored):
                            // the task that stored it may not have admitted it yet, and the
                            // `CheckPeer` after this answer must see it (see
                            // `ingest_membership`).
                            let _ = write(&shared.membership).admit(&record);
                            continue;
                        }
                        if let Err(r) = check_envelope(&record, now_ms())
                            .and_then(|()| record.verify().map_err(|_| Rejection::BadSignature))
                        {
                            count(&shared, r);
                            if r != Rejection::FutureTimestamp {
                                let _ = commands.send(Command::Invalid(peer)).await;
                            }
                            continue;
                        }
                        if let Err(r) = ingest_membership(&shared, &record).await {
                            count(&shared, r);
                        }
                    }
                    let _ = match next {
                        Some(after) => commands.send(Command::AskMembership { peer, after }).await,
                        None => commands.send(Command::CheckPeer(peer)).await,
                    };
                });
            }
            (Asked::Heads, SyncResponse::Heads(heads)) => {
                // Each origin's first fetch of a run; `on_response` goes on while it is
                // below `their_head`.
                for (origin, their_head) in heads {
                    {
                        let mut known = write(&self.shared.known_heads);
                        let k = known.entry(origin).or_insert(0);
                        *k = (*k).max(their_head);
                    }
                    let ours = feed::head(&self.shared.store, &origin).unwrap_or(u64::MAX);
                    // One fetch run per origin and peer. (One per origin across all peers
                    // was tried for the 100-member benchmark: a fetch left waiting on a
                    // peer that went away then held the origin back for the whole request
                    // timeout, and federation tests timed out.)
                    let fetching = self.asking(
                        &peer,
                        |a| matches!(a, Asked::Fetch { origin: o, .. } if *o == origin),
                    );
                    if their_head > ours && !fetching {
                        self.ask(
                            peer,
                            SyncRequest::Fetch {
                                origin,
                                after: ours,
                                limit: MAX_FETCH_RECORDS,
                            },
                            Asked::Fetch {
                                origin,
                                after: ours,
                                target: their_head,
                                rounds: 1,
                            },
                        );
                    }
                }
            }
            (
                Asked::Fetch {
                    origin,
                    after,
                    target,
                    rounds,
                },
                SyncResponse::Records(records),
            ) => {
                let shared = self.shared.clone();
                let commands = self.commands.clone();
                tokio::spawn(async move {
                    let full = records.len() as u32 >= MAX_FETCH_RECORDS;
                    let empty = records.is_empty();
                    let last = ingest_batch(&shared, &commands, peer, origin, after, records).await;
                    // A full answer: there may be more. A short one below the announced head:
                    // the peer's scan limit cut it (it goes on where it stopped, also after an
                    // empty answer), so ask again, a bounded number of times. A batch that
                    // failed to store (`None` after records) is left to the next tick.
                    let next = match last {
                        Some(after) if full || (after < target && rounds < MAX_FETCH_ROUNDS) => {
                            Some(after)
                        }
                        None if empty && after < target && rounds < MAX_FETCH_ROUNDS => Some(after),
                        _ => None,
                    };
                    if let Some(after) = next {
                        let _ = commands
                            .send(Command::Fetch {
                                peer,
                                origin,
                                after,
                                target,
                                rounds: rounds + 1,
                            })
                            .await;
                    }
                });
            }
            (Asked::Addresses, SyncResponse::Records(records)) => {
                let shared = self.shared.clone();
                let commands = self.commands.clone();
                tokio::spawn(async move {
                    let next = learn_addresses(&shared, &commands, peer, records).await;
                    if let Some(after) = next {
                        let _ = commands.send(Command::AskAddresses { peer, after }).await;
                    }
                });
            }
            (_, SyncResponse::Refused(reason)) => {
                tracing::debug!(%peer, %reason, "sync request refused");
            }
            _ => {
                tracing::debug!(%peer, "sync answer of the wrong kind");
            }
        }
    }

    /// Holds a peer back from gossip ([`BLOCKED_SCORE`]), or lets it in.
    fn hold_back(&mut self, peer: &PeerId, blocked: bool) {
        let score = if blocked { BLOCKED_SCORE } else { 0.0 };
        self.swarm
            .behaviour_mut()
            .gossipsub
            .set_application_score(peer, score);
    }

    /// Disconnects a connected peer that is not (or no longer) a member, and lets a member
    /// whose subscriptions fit its region into gossip.
    fn check_peer(&mut self, peer: PeerId) {
        let key = peer_key(&peer);
        let status = key.map(|k| read(&self.shared.membership).status(&k, now_ms()));
        let member = matches!(status, Some(MemberStatus::Member { .. }));
        if let Some(p) = write(&self.shared.peers).get_mut(&peer) {
            p.member = member;
        }
        match status {
            Some(MemberStatus::Member { .. }) if !self.subscriptions_fit(&peer) => {
                // Its certificates are in (this follows its membership answer), and it still
                // listens on another region's topic: it would be sent profiles its region
                // may not hold. No honest node does that.
                tracing::warn!(%peer, "peer subscribed to another region's topic: disconnecting");
                self.hold_back(&peer, true);
                let _ = self.swarm.disconnect_peer_id(peer);
            }
            Some(MemberStatus::Member { .. }) => {
                self.hold_back(&peer, false);
                self.ask(peer, SyncRequest::Heads, Asked::Heads);
                if !self.asking(&peer, |a| matches!(a, Asked::Addresses)) {
                    self.ask_addresses(peer);
                }
                // A member is back: what waits for it in the direct outbox goes now.
                let _ = self
                    .commands
                    .try_send(Command::Direct(direct::Command::Flush));
            }
            other => {
                let rejection = other
                    .map(|s| {
                        rules::check_member(&s)
                            .err()
                            .unwrap_or(Rejection::NotMember)
                    })
                    .unwrap_or(Rejection::NotMember);
                tracing::info!(%peer, reason = rejection.as_str(), "peer is not a member: disconnecting");
                self.hold_back(&peer, true);
                count(&self.shared, rejection);
                let _ = self.swarm.disconnect_peer_id(peer);
            }
        }
    }
}

/// A peer's sync request answered (on a blocking thread). Membership records go to anyone
/// who connects (a new member needs them to accept us); feeds only to members, and of those
/// only what the member's region may hold (of every origin, relayed records too). Every
/// answer reads a bounded number of feed records ([`feed::FETCH_SCAN_LIMIT`],
/// [`feed::HEADS_SCAN_BUDGET`]) and remembers where it stopped, for the next.
fn answer(shared: &Shared, peer: &PeerId, request: SyncRequest) -> SyncResponse {
    let store = &shared.store;
    let page = match &request {
        SyncRequest::Membership => Some(None),
        SyncRequest::MembershipAfter { after } => Some(Some(&after[..])),
        _ => None,
    };
    if let Some(after) = page {
        return feed::membership_page(store, after, MAX_FETCH_RECORDS as usize)
            .map(SyncResponse::Records)
            .unwrap_or_else(unreadable);
    }
    // A member now has a region (its certificate's).
    let Some(region) = peer_key(peer).and_then(|k| region_of(&read(&shared.membership), &k)) else {
        return SyncResponse::Refused("not a member of this federation".into());
    };
    let region = Some(region);
    let result = match request {
        // (Membership was answered above.)
        SyncRequest::Membership | SyncRequest::MembershipAfter { .. } | SyncRequest::Heads => {
            visible_heads(shared, region)
        }
        SyncRequest::Addresses { after } => {
            discovery::page(store, &after, MAX_FETCH_RECORDS as usize).map(SyncResponse::Records)
        }
        SyncRequest::Fetch {
            origin,
            after,
            limit,
        } => {
            let region = region.as_deref();
            let skip = lock(&shared.scans).fetches.get(&origin, region, after);
            feed::fetch_visible(
                store,
                &origin,
                after,
                limit.min(MAX_FETCH_RECORDS) as usize,
                region,
                feed::FETCH_SCAN_LIMIT,
                skip,
            )
            .map(|scan| {
                lock(&shared.scans)
                    .fetches
                    .note(&origin, region, after, &scan);
                SyncResponse::Records(scan.records)
            })
        }
    };
    result.unwrap_or_else(unreadable)
}

/// Every origin's head as a member of `region` may see it (origins it may see nothing
/// of are left out), so that it never asks for records it will not be given. An origin
/// whose scan ran out of this answer's budget is left out too, until an answer finishes it.
fn visible_heads(shared: &Shared, region: Option<String>) -> Result<SyncResponse, StoreError> {
    let mut heads = Vec::new();
    let mut budget = feed::HEADS_SCAN_BUDGET;
    for (origin, head) in feed::heads(&shared.store)? {
        let slot = (origin, region.clone());
        let known = lock(&shared.scans).heads.get(&slot).copied();
        let visible = feed::visible_head(
            &shared.store,
            &origin,
            head,
            region.as_deref(),
            known,
            &mut budget,
        )?;
        lock(&shared.scans).heads.insert(slot, (head, visible));
        if let VisibleHead::Found(seq @ 1..) = visible {
            heads.push((origin, seq));
        }
    }
    Ok(SyncResponse::Heads(heads))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

fn unreadable(e: StoreError) -> SyncResponse {
    tracing::error!(error = %e, "cannot answer a sync request");
    SyncResponse::Refused("the node could not read its store".into())
}

/// Checks and keeps the address records a member sent (only those newer than the ones
/// held are verified); returns where to ask for the next page if the answer was full.
async fn learn_addresses(
    shared: &Arc<Shared>,
    commands: &mpsc::Sender<Command>,
    peer: PeerId,
    records: Vec<SignedRecord>,
) -> Option<[u8; PUBLIC_KEY_BYTES]> {
    let next = (records.len() >= MAX_FETCH_RECORDS as usize)
        .then(|| records.last().map(|r| *r.signer().as_bytes()))
        .flatten();
    let now = now_ms();
    let mut fresh = Vec::new();
    for record in records {
        let origin = *record.signer();
        let held = read(&shared.book).get(&origin).map(|k| k.seq);
        if origin == shared.own || held.is_some_and(|seq| seq >= record.seq()) {
            continue;
        }
        match discovery::check(&record, now) {
            // Not this node's to judge: the origin's clock may be ahead, or this one behind.
            Err(r @ Rejection::FutureTimestamp) => count(shared, r),
            Err(r) => {
                count(shared, r);
                let _ = commands.send(Command::Invalid(peer)).await;
            }
            // Of a member now only; a peer may still hold records of a revoked member.
            Ok(known) if region_of(&read(&shared.membership), &origin).is_some() => {
                fresh.push((record, known));
            }
            Ok(_) => {}
        }
    }
    if fresh.is_empty() {
        return next;
    }
    let records: Vec<SignedRecord> = fresh.iter().map(|(r, _)| r.clone()).collect();
    let kept = shared
        .store
        .commit(move |tx| {
            records
                .iter()
                .map(|r| discovery::keep(tx, r))
                .collect::<Result<Vec<bool>, StoreError>>()
        })
        .await;
    match kept {
        Ok(kept) => {
            let mut changed = Vec::new();
            {
                let mut book = write(&shared.book);
                for ((record, known), kept) in fresh.into_iter().zip(kept) {
                    if kept {
                        tracing::debug!(origin = %record.signer(), addrs = ?known.addrs, "learned a member's addresses");
                        changed.push(*record.signer());
                        book.insert(*record.signer(), known);
                    }
                }
            }
            // New addresses (a relayed one, say) are worth a dial at once: the backoff of
            // the old ones says nothing about them.
            if !changed.is_empty() {
                let _ = commands.send(Command::NewAddresses(changed)).await;
            }
        }
        Err(e) => tracing::error!(error = %e, "cannot store address records"),
    }
    next
}

/// Verifies records on every core: strict ed25519 verification cannot be batched safely
/// (docs/protocol.md, "Batch verification"), so sync spreads the work instead.
pub fn verify_parallel(
    records: &[SignedRecord],
) -> Vec<Result<(), techhire_protocol::VerifyError>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 || records.len() < 64 {
        return verify_batch(records);
    }
    let chunk = records.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let parts: Vec<_> = records
            .chunks(chunk)
            .map(|part| (part.len(), scope.spawn(move || verify_batch(part))))
            .collect();
        parts
            .into_iter()
            .flat_map(|(len, h)| {
                h.join().unwrap_or_else(|_| {
                    // A panic in verification is a bug; fail closed for that part.
                    (0..len)
                        .map(|_| Err(techhire_protocol::VerifyError::InvalidSignature))
                        .collect()
                })
            })
            .collect()
    })
}

fn count(shared: &Shared, rejection: Rejection) {
    if let Some(i) = Rejection::ALL.iter().position(|r| *r == rejection) {
        shared.rejected[i].fetch_add(1, Ordering::Relaxed);
    }
}

/// Rules 5 and 6 of docs/protocol.md §10 (time, payload); rule 3 (kind) is [`check_kind`].
fn check_envelope(record: &SignedRecord, now: u64) -> Result<(), Rejection> {
    check_kind(record)?;
    rules::check_time(record, now)?;
    rules::check_payload(record)
}

fn check_kind(record: &SignedRecord) -> Result<(), Rejection> {
    if rules::known_kind(record.kind()) {
        Ok(())
    } else {
        Err(Rejection::UnknownKind)
    }
}

/// Checks the origin of a feed record (not a membership record) is a member at the
/// record's time.
fn check_origin(shared: &Shared, record: &SignedRecord) -> Result<(), Rejection> {
    let status = read(&shared.membership).status(record.signer(), record.timestamp_ms());
    rules::check_member(&status)
}

/// Admits and stores a verified membership record; `Ok(true)` if it was new.
async fn ingest_membership(shared: &Arc<Shared>, record: &SignedRecord) -> Result<bool, Rejection> {
    {
        let mut m = Membership::new(read(&shared.membership).stewards().to_vec());
        // A dry run against an empty copy checks the steward and payload without the lock.
        m.admit(record).map_err(|e| match e {
            techhire_protocol::MembershipError::UntrustedSteward => Rejection::UntrustedSteward,
            _ => Rejection::BadPayload,
        })?;
    }
    let stored = {
        let record = record.clone();
        shared
            .store
            .commit(move |tx| feed::keep_membership(tx, &record))
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "cannot store a membership record");
                Rejection::BadPayload
            })?
    };
    // Also when another task stored it first: that task may not have admitted it yet, and
    // the `CheckPeer` that follows this one must see the peer's certificate (admitting is
    // idempotent). Admitting only `stored` ones wrongly disconnected members now and then.
    let _ = write(&shared.membership).admit(record);
    Ok(stored)
}

/// Checks, verifies and stores one gossiped record; says what gossipsub should do with it.
/// `on_region_topic`: it came on a region topic rather than the main one.
async fn ingest_gossip(
    shared: &Arc<Shared>,
    commands: &mpsc::Sender<Command>,
    source: PeerId,
    data: &[u8],
    on_region_topic: bool,
) -> MessageAcceptance {
    let reject = |r: Rejection| {
        count(shared, r);
        let commands = commands.clone();
        async move {
            let _ = commands.send(Command::Invalid(source)).await;
            MessageAcceptance::Reject
        }
    };
    if data.len() > MAX_RECORD_BYTES {
        return reject(Rejection::Oversized).await;
    }
    let record = match SignedRecord::decode(data) {
        Ok(r) => r,
        Err(_) => return reject(Rejection::Undecodable).await,
    };
    // The rules in the order of docs/protocol.md §10: the cheap ones before the signature.
    if let Err(r) = check_kind(&record) {
        return reject(r).await;
    }
    if record.verify().is_err() {
        return reject(Rejection::BadSignature).await;
    }
    match check_envelope(&record, now_ms()) {
        Ok(()) => {}
        // Counted, not penalised: the origin's clock may be ahead, or this node's behind,
        // and the forwarder relays an honestly signed record (sync brings it later).
        Err(r @ Rejection::FutureTimestamp) => {
            count(shared, r);
            return MessageAcceptance::Ignore;
        }
        Err(r) => return reject(r).await,
    }
    if feed::is_membership(record.kind()) {
        return match ingest_membership(shared, &record).await {
            Ok(true) => MessageAcceptance::Accept,
            Ok(false) => MessageAcceptance::Ignore,
            Err(r) => reject(r).await,
        };
    }
    if let Err(r) = check_origin(shared, &record) {
        // Counted, but the forwarder is not penalised: it may know of a certificate or a
        // revocation this node has not seen yet. Ask it for its membership records.
        count(shared, r);
        let _ = commands.send(Command::RefreshMembership(source)).await;
        return MessageAcceptance::Ignore;
    }
    // Rule 8 (replay) before rule 9 (scope), as docs/protocol.md §10 orders them; `offer`
    // checks the head again inside its commit.
    let head = feed::head(&shared.store, record.signer()).unwrap_or(0);
    if record.seq() <= head {
        count(shared, Rejection::Replay);
        return MessageAcceptance::Ignore;
    }
    if let Err(r) = rules::check_scope(&record, shared.own_region().as_deref()) {
        // Counted, not penalised: the forwarder may hold an older certificate of this node
        // that named a region in scope. Never forwarded.
        count(shared, r);
        return MessageAcceptance::Ignore;
    }
    // A scoped profile forwarded on the main topic would reach every region: keep it, but
    // let it travel only on its regions' topics.
    let forward = on_region_topic || scoped_regions(&record).is_none();
    let offered = {
        let record = record.clone();
        shared
            .store
            .commit(move |tx| feed::offer(tx, &record, true))
            .await
    };
    match offered {
        Ok(Offered::Stored) => {
            shared.accepted.fetch_add(1, Ordering::Relaxed);
            shared.stored(std::slice::from_ref(&record));
            if forward {
                MessageAcceptance::Accept
            } else {
                MessageAcceptance::Ignore
            }
        }
        Ok(Offered::Replay) => {
            count(shared, Rejection::Replay);
            MessageAcceptance::Ignore
        }
        Ok(Offered::Gap) => {
            // Fetch the missing records from the peer that had this one.
            let after = feed::head(&shared.store, record.signer()).unwrap_or(0);
            let _ = commands
                .send(Command::Fetch {
                    peer: source,
                    origin: *record.signer(),
                    after,
                    target: record.seq(),
                    rounds: 1,
                })
                .await;
            MessageAcceptance::Ignore
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot store a gossiped record");
            MessageAcceptance::Ignore
        }
    }
}

/// Verifies (in one batch) and stores records fetched by sync, in order; returns the last
/// sequence stored.
async fn ingest_batch(
    shared: &Arc<Shared>,
    commands: &mpsc::Sender<Command>,
    peer: PeerId,
    origin: PublicKey,
    after: u64,
    records: Vec<SignedRecord>,
) -> Option<u64> {
    let (records, verdicts) = match tokio::task::spawn_blocking(move || {
        let verdicts = verify_parallel(&records);
        (records, verdicts)
    })
    .await
    {
        Ok(done) => done,
        Err(e) => {
            tracing::error!(error = %e, "verification task failed");
            return None;
        }
    };
    let now = now_ms();
    let own_region = shared.own_region();
    let mut good = Vec::with_capacity(records.len());
    let mut previous = after;
    for (record, verdict) in records.into_iter().zip(verdicts) {
        if verdict.is_ok() {
            if let Err(r) = check_origin(shared, &record) {
                // As for gossip: counted, not penalised; the next sync round tries again
                // once the membership records are in.
                count(shared, r);
                let _ = commands.send(Command::RefreshMembership(peer)).await;
                break;
            }
        }
        let checked = verdict
            .map_err(|_| Rejection::BadSignature)
            .and_then(|()| {
                if *record.signer() != origin || record.seq() <= previous {
                    // Not what was asked for, or out of order: treat as a replay.
                    Err(Rejection::Replay)
                } else {
                    Ok(())
                }
            })
            .and_then(|()| check_envelope(&record, now));
        match checked.map(|()| rules::check_scope(&record, own_region.as_deref())) {
            Ok(Ok(())) => {
                previous = record.seq();
                good.push(record);
            }
            Ok(Err(r)) => {
                // Skipped, not a stop: this node may never hold it, so storing the records
                // after it leaves no gap the feed invariant cares about (a record this node
                // may not hold), while stopping would stall the origin's feed here for as
                // long as the peer keeps serving it. Not penalised: the peer may hold an
                // older certificate of this node naming a region in scope.
                count(shared, r);
                previous = record.seq();
            }
            Err(r) => {
                count(shared, r);
                // A record from the future is not the sender's fault (see `ingest_gossip`).
                if r != Rejection::FutureTimestamp {
                    let _ = commands.send(Command::Invalid(peer)).await;
                }
                // Later records would leave a gap: stop here, the next sync tries again.
                break;
            }
        }
    }
    if good.is_empty() {
        return None;
    }
    let outcome = shared
        .store
        .commit(move |tx| {
            let mut stored = Vec::new();
            for record in good {
                if feed::offer(tx, &record, false)? == Offered::Stored {
                    stored.push(record);
                }
            }
            Ok::<_, StoreError>(stored)
        })
        .await;
    match outcome {
        Ok(stored) => {
            shared
                .accepted
                .fetch_add(stored.len() as u64, Ordering::Relaxed);
            shared.stored(&stored);
            stored.last().map(SignedRecord::seq)
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot store synced records");
            None
        }
    }
}
