//! `POST /api/v1/backup`: a consistent backup of the running node, streamed as it is read.
//!
//! The store pins a point (holding writers back for a moment only, see `store/backup.rs`),
//! waits until everything up to it is on disk, then a blocking thread writes the JSON lines
//! into a channel that feeds the response body. A client that goes away ends the copy (the
//! channel closes) and releases the pin.

use std::io::Write;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use tokio::sync::mpsc;

use super::error::ApiResult;
use super::AppState;

/// Bytes gathered before a chunk is sent to the client.
const CHUNK: usize = 256 * 1024;

/// The response header carrying the commit number the backup holds.
pub const COMMIT_HEADER: &str = "x-techhire-backup-commit";
/// The response header carrying how long writers were held back, in microseconds.
pub const HELD_HEADER: &str = "x-techhire-writes-held-us";

type Chunk = Result<Bytes, std::io::Error>;

/// A `Write` that sends what it is given, in chunks, to the response body.
struct ChannelWriter {
    tx: mpsc::Sender<Chunk>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::other("the client went away"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

pub(super) async fn backup(State(state): State<AppState>) -> ApiResult<Response> {
    let snapshot = state.store.begin_snapshot()?;
    // Everything the backup holds must be on disk here too: a commit applied but not yet
    // flushed could still be lost by the node, and then the backup would hold more than it.
    state.store.sync().await?;
    let commit = snapshot.commit();
    let held = snapshot.writes_held();
    tracing::info!(
        commit,
        writes_held_us = held.as_micros() as u64,
        "backup started"
    );
    let (tx, mut rx) = mpsc::channel::<Chunk>(8);
    tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        let mut out = ChannelWriter {
            tx,
            buf: Vec::with_capacity(CHUNK),
        };
        match snapshot.write_to(&mut out) {
            Ok(stats) => tracing::info!(
                commit,
                entries = stats.entries,
                bytes = stats.bytes,
                saved_keys = stats.saved_keys,
                seconds = started.elapsed().as_secs_f64(),
                "backup written"
            ),
            Err(e) => {
                tracing::error!(error = %e, "backup failed");
                // Ends the body with an error, so the client sees a broken transfer (and
                // its file has no closing line) rather than a short file that looks whole.
                let _ = out
                    .tx
                    .blocking_send(Err(std::io::Error::other("the backup failed")));
            }
        }
    });
    let stream = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    headers.insert(COMMIT_HEADER, HeaderValue::from(commit));
    headers.insert(HELD_HEADER, HeaderValue::from(held.as_micros() as u64));
    Ok(response)
}
