//! Runs the HTTP API on a listener until shutdown, then lets in-flight requests finish.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::http::{self, AppState, NodeInfo};
use crate::store::Store;

/// The state every handler gets, for a node with public key `node_key`.
pub fn state(store: Store, node_key: String) -> AppState {
    AppState {
        store,
        info: Arc::new(NodeInfo {
            node_key,
            version: env!("CARGO_PKG_VERSION"),
        }),
    }
}

/// Serves until `shutdown` completes; new connections stop at once, requests already
/// being handled are finished (their writes included) before this returns.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, http::router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!("cannot listen for SIGINT: {e}");
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
