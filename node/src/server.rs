//! Runs the HTTP API on a listener until shutdown, then lets in-flight requests finish
//! (for a bounded time). The connections themselves (timeouts, the cap, closing) are in
//! [`connections`]; the descriptor limit they are capped under is read and raised here.

pub mod connections;

use std::future::Future;
use std::sync::Arc;

use techhire_protocol::PublicKey;
use tokio::net::TcpListener;

pub use self::connections::ConnectionLimits;
use crate::config::MetricsSettings;
use crate::federation::Federation;
use crate::http::{self, AppState, NodeInfo};
use crate::index::CandidateIndex;
use crate::metrics::publish::Publisher;
use crate::pseudonym::Pseudonyms;
use crate::skills::Taxonomy;
use crate::store::{Store, StoreError};

/// The state every handler gets, for a node with public key `node_key` whose skills
/// taxonomy (built-in plus the community's extension) is `taxonomy`, and its running
/// federation side if it has joined one.
///
/// The search index made here reads the shared profiles the feeds hold now but does not
/// follow them: a node whose federation runs makes its index first and gives the
/// federation its follower ([`state_with_index`]).
pub fn state(
    store: Store,
    node_key: String,
    taxonomy: Arc<Taxonomy>,
    federation: Option<Federation>,
) -> Result<AppState, StoreError> {
    let index = match node_key.parse::<PublicKey>() {
        Ok(own) => CandidateIndex::following(own),
        Err(_) => {
            tracing::warn!(
                "the node key does not parse; the search index cannot tell this node's own \
                 shared profiles from remote ones"
            );
            CandidateIndex::empty()
        }
    };
    state_with_index(store, node_key, taxonomy, federation, Arc::new(index))
}

/// As [`state`], with a search index made beforehand
/// ([`CandidateIndex::following`]) whose [`follower`](CandidateIndex::follower) the
/// federation was started with: the index is loaded here, and from then on follows the
/// shared profiles the feeds store, none missed in between.
pub fn state_with_index(
    store: Store,
    node_key: String,
    taxonomy: Arc<Taxonomy>,
    federation: Option<Federation>,
    index: Arc<CandidateIndex>,
) -> Result<AppState, StoreError> {
    let pseudonyms = Pseudonyms::load_or_create(&store)?;
    let stats = index.load(&store, &taxonomy)?;
    tracing::info!(
        candidates = stats.candidates,
        remote_profiles = stats.remote,
        skills = stats.skills,
        memory_mb = stats.memory_bytes / (1024 * 1024),
        took_ms = stats.took.as_millis() as u64,
        "search index rebuilt"
    );
    Ok(AppState {
        store,
        info: Arc::new(NodeInfo {
            node_key,
            version: env!("CARGO_PKG_VERSION"),
        }),
        taxonomy,
        pseudonyms,
        index,
        federation,
        metrics: Arc::new(Publisher::new(MetricsSettings::default().threshold)),
        sharing: Arc::new(crate::sharing::Sharing::default()),
        limits: Arc::new(crate::http::limits::Limits::default()),
        telemetry: crate::telemetry::Telemetry::default(),
    })
}

/// Serves until `shutdown` completes, with the default timeouts and a connection cap
/// under the current descriptor limit (see [`serve_with`]).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = ConnectionLimits {
        max_connections: connection_cap(0, FdLimit::current().soft),
        ..ConnectionLimits::default()
    };
    serve_with(listener, state, shutdown, limits).await
}

/// Serves until `shutdown` completes; new connections stop at once, requests already
/// being handled are finished (their writes included) for up to `limits.shutdown_grace`,
/// then every connection still open is dropped and this returns.
pub async fn serve_with(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
    limits: ConnectionLimits,
) -> std::io::Result<()> {
    // Each request gets the client's address (`ConnectInfo`), for the rate limits of
    // sign-in and the application form.
    connections::serve(listener, http::router(state), shutdown, limits).await;
    Ok(())
}

/// The process's limit on open file descriptors (`RLIMIT_NOFILE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdLimit {
    /// The limit in force (the soft limit).
    pub soft: u64,
    /// The most the soft limit may be raised to; `None` for no limit.
    pub hard: Option<u64>,
}

/// A soft limit to ask for when the hard limit is unlimited (Linux refuses "unlimited" for
/// descriptors; its usual ceiling, `fs.nr_open`, is 2^20).
const UNLIMITED_FDS: u64 = 1 << 20;

impl FdLimit {
    /// The limit now.
    pub fn current() -> FdLimit {
        let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        FdLimit {
            soft: limit.current.unwrap_or(UNLIMITED_FDS),
            hard: limit.maximum,
        }
    }

    /// Raises the soft limit to the hard one where allowed (the usual soft limit, 1024, is
    /// what a thousand stalled clients used up), and returns the limit before and after.
    /// A refusal leaves the limit as it was: the connection cap follows whatever is in force.
    pub fn raise() -> (FdLimit, FdLimit) {
        let before = FdLimit::current();
        let target = before.hard.unwrap_or(UNLIMITED_FDS);
        if target > before.soft {
            let wanted = rustix::process::Rlimit {
                current: Some(target),
                maximum: before.hard,
            };
            if let Err(e) = rustix::process::setrlimit(rustix::process::Resource::Nofile, wanted) {
                tracing::warn!(error = %e, soft = before.soft, "could not raise the open file limit");
            }
        }
        (before, FdLimit::current())
    }
}

/// Descriptors kept back from HTTP connections for everything else the node opens: the
/// store's files, the federation's connections, the runtime's own, and connections still
/// closing beyond the cap ([`connections::CLOSING_SLACK`]).
fn reserved_fds(soft: u64) -> u64 {
    (soft / 8).max(64) + connections::CLOSING_SLACK as u64
}

/// The connection cap for a configured `max_connections` (0: automatic) under a descriptor
/// limit of `soft`: never above the limit less what the rest of the node needs.
pub fn connection_cap(configured: usize, soft: u64) -> usize {
    let room = soft.saturating_sub(reserved_fds(soft)).max(8);
    let room = usize::try_from(room).unwrap_or(usize::MAX);
    match configured {
        0 => room,
        n if n > room => {
            tracing::warn!(
                configured = n,
                cap = room,
                fd_limit = soft,
                "http.max_connections is above what the open file limit allows; using the lower figure"
            );
            room
        }
        n => n,
    }
}

/// A future that completes on SIGINT or SIGTERM. The handlers are installed by this call,
/// not when the future is first polled, so a signal that arrives as soon as the node
/// says it is listening already stops it cleanly.
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
        tracing::info!("shutting down: finishing in-flight requests");
    })
}
