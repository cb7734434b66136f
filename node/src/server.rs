//! Runs the HTTP API on a listener until shutdown, then lets in-flight requests finish.

use std::future::Future;
use std::sync::Arc;

use techhire_protocol::PublicKey;
use tokio::net::TcpListener;

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
    })
}

/// Serves until `shutdown` completes; new connections stop at once, requests already
/// being handled are finished (their writes included) before this returns.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // With the client's address, for the rate limits of sign-in and the application form.
    let app = http::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
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
