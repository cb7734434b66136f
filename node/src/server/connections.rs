//! The HTTP listener's connections: accepted up to a cap below the process's descriptor
//! limit, served one by one with hyper (HTTP/1.1), and closed when they stall.
//!
//! Why not `axum::serve`: it has no timeout for a request head, no cap on connections and
//! no deadline for its graceful shutdown, so a thousand clients that each send half a head
//! use up every descriptor (`accept` then fails with EMFILE and `/healthz` goes unanswered),
//! and a single stalled client keeps SIGTERM from ever finishing.
//!
//! Every connection has an `Activity` record that both its task and the request handler
//! update: requests in flight, when it went idle, when the first byte of the next head came.
//! Its task sleeps until the deadline that record implies (the head timeout, or the
//! keep-alive timeout between requests) or until the record changes. The accept loop keeps a
//! registry of them: at the cap, a new connection makes the oldest one with no request in
//! flight close (one that never finished a head first, then idle keep-alive ones), so a
//! flood of stalled clients cannot keep out a health check; when every connection is busy
//! with a request, accepting waits (the kernel's backlog holds new clients meanwhile).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderValue, Request, Response, StatusCode};
use axum::response::IntoResponse;
use axum::Router;
use hyper::body::{Body as HttpBody, Bytes, Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower::ServiceExt;

use crate::http::error::ApiError;

/// The longest request target (path and query) answered; longer ones get 414. Every URI
/// of the API and the pages is far shorter; hyper's own limit is 64 KiB.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// The most header bytes (names and values) a request may carry; more gets 431.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
/// The most header lines a request may carry; more gets 431.
pub const MAX_HEADERS: usize = 100;
/// hyper's parser refuses more header lines than this itself, with a bare 431; it is set
/// above [`MAX_HEADERS`] so that requests just over our limit get the JSON answer.
const PARSER_MAX_HEADERS: usize = 2 * MAX_HEADERS;
/// The largest unread request body drained (read and discarded) after an early answer, so
/// that its connection can be kept; a larger one closes the connection instead.
pub const DRAIN_MAX: usize = 64 * 1024;
/// Connections closing beyond the cap (evicted but not yet gone) before accepting waits.
pub const CLOSING_SLACK: usize = 16;
/// How long a connection that has answered requests gets to flush its last response once
/// it is asked to close; one that never answered is dropped at once.
const LINGER: Duration = Duration::from_secs(1);
/// Between two warnings about refused `accept` calls or a full house.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// Timeouts and the connection cap of the HTTP listener (`[http]` in the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// From a connection's opening (or the first byte of a later request) until its head is
    /// complete.
    pub header_read_timeout: Duration,
    /// From a request's head until its body is complete (the whole body, not per chunk, so
    /// a client dripping a byte at a time cannot hold a connection).
    pub body_read_timeout: Duration,
    /// How long a connection may sit idle between requests.
    pub keep_alive_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// After a shutdown signal, how long in-flight requests get before every connection
    /// still open is dropped.
    pub shutdown_grace: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            keep_alive_timeout: Duration::from_secs(60),
            max_connections: 1024,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes; then stops
/// accepting, lets requests in flight finish for up to `limits.shutdown_grace`, drops every
/// connection still open, and returns.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    limits: ConnectionLimits,
) {
    let max = limits.max_connections.max(1);
    let registry = Arc::new(Registry::default());
    let mut tasks = JoinSet::new();
    let mut shutdown = pin!(shutdown);
    let mut next_id = 0u64;
    let mut warned = Warnings::default();
    loop {
        let open = registry.open();
        if open >= max + CLOSING_SLACK || (open >= max && !registry.has_evictable()) {
            // Every connection is busy with a request (or still closing): new clients wait
            // in the kernel's backlog until one ends.
            warned.full(open);
            let room = registry.room.notified();
            tokio::select! {
                _ = &mut shutdown => break,
                _ = room => {}
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            }
            continue;
        }
        tokio::select! {
            _ = &mut shutdown => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    next_id += 1;
                    if registry.open() >= max {
                        warned.full(max);
                        registry.evict_one();
                    }
                    let conn = registry.insert(next_id);
                    let router = router.clone();
                    let registry = registry.clone();
                    tasks.spawn(async move {
                        let _gone = Deregister { registry, id: conn.id };
                        serve_connection(stream, peer, router, conn, limits).await;
                    });
                }
                Err(e) if is_per_connection(&e) => {}
                Err(e) => {
                    // Out of descriptors or memory: the cap should prevent it, but other
                    // parts of the node (the store, the federation) hold descriptors too.
                    // Back off a moment rather than spin on the error.
                    warned.accept(&e);
                    tokio::select! {
                        _ = &mut shutdown => break,
                        _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                    }
                }
            },
        }
    }
    drop(listener);
    tracing::info!(
        open = registry.open(),
        grace_secs = limits.shutdown_grace.as_secs(),
        "stopped accepting; finishing requests in flight"
    );
    registry.close_all();
    let drained = tokio::time::timeout(limits.shutdown_grace, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            dropped = registry.open(),
            "shutdown deadline passed: dropping the connections still open"
        );
        tasks.shutdown().await;
    }
}

/// Errors of `accept` that concern one connection only (it was reset before we took it).
fn is_per_connection(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | ConnectionRefused | Interrupted
    )
}

/// Rate-limited warnings of the accept loop, so that a flood does not also flood the log.
#[derive(Default)]
struct Warnings {
    accept: Option<Instant>,
    full: Option<Instant>,
}

impl Warnings {
    fn due(last: &mut Option<Instant>) -> bool {
        let now = Instant::now();
        if last.is_some_and(|t| now.duration_since(t) < WARN_EVERY) {
            return false;
        }
        *last = Some(now);
        true
    }

    fn accept(&mut self, e: &std::io::Error) {
        if Warnings::due(&mut self.accept) {
            tracing::warn!(error = %e, "accepting an HTTP connection failed; backing off");
        }
    }

    fn full(&mut self, open: usize) {
        if Warnings::due(&mut self.full) {
            tracing::warn!(
                open,
                "HTTP connection cap reached: closing idle connections for new ones, or \
                 holding new ones back while every connection has a request in flight \
                 (http.max_connections)"
            );
        }
    }
}

/// Why a connection is being closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Close {
    /// It made way for a new connection at the cap.
    Evicted,
    /// Its head, or the next request, did not come in time.
    TimedOut,
    /// The server is stopping.
    Shutdown,
}

/// What one connection is doing, shared by its task, its reads and its requests.
struct Activity {
    /// Requests whose head was read and whose response is not yet fully handed to hyper.
    in_flight: usize,
    /// Requests whose head was read on this connection.
    served: u64,
    /// When it last had no request in flight (opened, or its last response went out), moved
    /// on by every write that makes progress: a response still going out to a slow reader
    /// is not idleness, a reader that takes nothing for the keep-alive timeout is.
    idle_since: Instant,
    /// The socket refused the last write (its buffer is full): a response is going out.
    write_pending: bool,
    /// When the first byte of the next head came, while no request was in flight.
    head_since: Option<Instant>,
    close: Option<Close>,
}

impl Activity {
    /// Whether it may be closed for a newcomer: no request in flight, no response going out.
    fn evictable(&self) -> bool {
        self.in_flight == 0 && !self.write_pending && self.close.is_none()
    }

    /// When the connection times out if nothing changes (no request is in flight).
    fn deadline(&self, limits: &ConnectionLimits) -> Instant {
        match self.head_since {
            Some(t) => t + limits.header_read_timeout,
            // A new connection must send its first head in the head timeout.
            None if self.served == 0 => self.idle_since + limits.header_read_timeout,
            None => self.idle_since + limits.keep_alive_timeout,
        }
    }
}

struct Conn {
    id: u64,
    activity: Mutex<Activity>,
    changed: Notify,
    /// The registry's [`Registry::room`].
    room: Arc<Notify>,
}

impl Conn {
    fn activity(&self) -> MutexGuard<'_, Activity> {
        // A panic while holding this lock leaves plain counters behind; keep using them.
        self.activity
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn ask_to_close(&self, why: Close) {
        let mut a = self.activity();
        if a.close.is_none() {
            a.close = Some(why);
        }
        drop(a);
        self.changed.notify_one();
    }

    fn bytes_arrived(&self) {
        let mut a = self.activity();
        if a.in_flight == 0 && a.head_since.is_none() {
            a.head_since = Some(Instant::now());
            drop(a);
            self.changed.notify_one();
        }
    }

    fn request_started(self: &Arc<Conn>) -> InFlight {
        let mut a = self.activity();
        a.in_flight += 1;
        a.served += 1;
        a.head_since = None;
        drop(a);
        self.changed.notify_one();
        InFlight(self.clone())
    }

    /// What the connection's task does next, given when it asked hyper to close (if it did).
    fn step(&self, limits: &ConnectionLimits, closing: Option<Instant>) -> Step {
        let now = Instant::now();
        let mut a = self.activity();
        if a.close.is_none() && a.in_flight == 0 {
            let deadline = a.deadline(limits);
            if now < deadline {
                return Step::Wait(Some(deadline));
            }
            a.close = Some(Close::TimedOut);
            tracing::debug!(
                conn = self.id,
                "HTTP connection timed out waiting for a request"
            );
        }
        let Some(why) = a.close else {
            // A request is in flight.
            return Step::Wait(None);
        };
        let Some(since) = closing else {
            return Step::Graceful;
        };
        if a.in_flight > 0 {
            // hyper finishes it and then closes (the shutdown deadline bounds the wait).
            return Step::Wait(None);
        }
        let drop_at = match why {
            // Nothing was ever answered, or nothing moved for a whole timeout: nothing to
            // flush that anyone is waiting for.
            _ if a.served == 0 => Some(since),
            Close::TimedOut => Some(since),
            Close::Evicted => Some(since + LINGER),
            // A response still going out at shutdown gets the grace period.
            Close::Shutdown if a.write_pending => None,
            Close::Shutdown => Some(since.max(a.idle_since) + LINGER),
        };
        match drop_at {
            Some(at) if now >= at => Step::Drop,
            at => Step::Wait(at),
        }
    }

    /// A write to the socket went through (`Some(bytes)`) or was refused for now (`None`).
    fn wrote(&self, progress: Option<usize>) {
        let mut a = self.activity();
        let was_pending = a.write_pending;
        a.write_pending = progress.is_none();
        if progress.is_some_and(|n| n > 0) && a.in_flight == 0 {
            a.idle_since = Instant::now();
        }
        let changed = was_pending != a.write_pending;
        drop(a);
        if changed {
            self.changed.notify_one();
        }
    }
}

enum Step {
    /// Until this instant (or for ever), or until the activity changes.
    Wait(Option<Instant>),
    /// Ask hyper to finish the request in flight and close (an idle connection at once).
    Graceful,
    /// Drop the connection now.
    Drop,
}

/// A request in flight on a connection; dropped when hyper has taken the whole response
/// body (it lives in that body), or when the request is abandoned.
struct InFlight(Arc<Conn>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut a = self.0.activity();
        a.in_flight = a.in_flight.saturating_sub(1);
        let idle = a.in_flight == 0;
        if idle {
            a.idle_since = Instant::now();
        }
        drop(a);
        self.0.changed.notify_one();
        if idle {
            // The accept loop may be waiting for a connection it could make room with.
            self.0.room.notify_one();
        }
    }
}

/// Every open connection, oldest first.
#[derive(Default)]
struct Registry {
    conns: Mutex<BTreeMap<u64, Arc<Conn>>>,
    /// Told whenever a connection ends or its last request in flight finishes: the accept
    /// loop, waiting at the cap, may have room again.
    room: Arc<Notify>,
}

impl Registry {
    fn conns(&self) -> MutexGuard<'_, BTreeMap<u64, Arc<Conn>>> {
        self.conns
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn open(&self) -> usize {
        self.conns().len()
    }

    fn insert(&self, id: u64) -> Arc<Conn> {
        let conn = Arc::new(Conn {
            id,
            activity: Mutex::new(Activity {
                in_flight: 0,
                served: 0,
                idle_since: Instant::now(),
                write_pending: false,
                head_since: None,
                close: None,
            }),
            changed: Notify::new(),
            room: self.room.clone(),
        });
        self.conns().insert(id, conn.clone());
        conn
    }

    fn has_evictable(&self) -> bool {
        self.conns().values().any(|c| c.activity().evictable())
    }

    /// Closes the oldest connection that never finished a head, or failing that the oldest
    /// idle one; none with a request in flight.
    fn evict_one(&self) -> bool {
        let conns = self.conns();
        let pick = |fresh_only: bool| {
            conns.values().find(|c| {
                let a = c.activity();
                a.evictable() && (!fresh_only || a.served == 0)
            })
        };
        match pick(true).or_else(|| pick(false)) {
            Some(conn) => {
                conn.ask_to_close(Close::Evicted);
                true
            }
            None => false,
        }
    }

    fn close_all(&self) {
        for conn in self.conns().values() {
            conn.ask_to_close(Close::Shutdown);
        }
    }
}

/// Takes a connection out of the registry when its task ends, however it ends.
struct Deregister {
    registry: Arc<Registry>,
    id: u64,
}

impl Drop for Deregister {
    fn drop(&mut self) {
        self.registry.conns().remove(&self.id);
        self.registry.room.notify_one();
    }
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    conn: Arc<Conn>,
    limits: ConnectionLimits,
) {
    let io = TokioIo::new(Watched {
        stream,
        conn: conn.clone(),
    });
    let for_requests = conn.clone();
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let in_flight = for_requests.request_started();
        handle(
            request,
            router.clone(),
            peer,
            in_flight,
            limits.body_read_timeout,
        )
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.keep_alive(true)
        .max_headers(PARSER_MAX_HEADERS)
        // Timed here instead (`Activity`), with a separate keep-alive timeout.
        .header_read_timeout(None);
    let mut connection = pin!(http.serve_connection(io, service));
    let mut closing: Option<Instant> = None;
    loop {
        let changed = conn.changed.notified();
        match conn.step(&limits, closing) {
            Step::Drop => return,
            Step::Graceful => {
                connection.as_mut().graceful_shutdown();
                closing = Some(Instant::now());
            }
            Step::Wait(until) => {
                let timer = async {
                    match until {
                        Some(at) => tokio::time::sleep_until(at).await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    done = connection.as_mut() => {
                        if let Err(e) = done {
                            tracing::debug!(conn = conn.id, error = %e, "HTTP connection ended");
                        }
                        return;
                    }
                    _ = changed => {}
                    _ = timer => {}
                }
            }
        }
    }
}

/// One request: its head checked, its body given a deadline, the client's address added
/// for the rate limits. A body the handler left unread (a 401 or 403 from the role check,
/// a 413) is drained if small; otherwise the answer says `Connection: close` (hyper closes
/// such a connection, and a client that was not told would reuse it and fail).
async fn handle(
    request: Request<Incoming>,
    router: Router,
    peer: SocketAddr,
    in_flight: InFlight,
    body_timeout: Duration,
) -> Result<Response<Body>, Infallible> {
    if let Some(refused) = check_head(&request) {
        let mut response = refused.into_response();
        if !request.body().is_end_stream() {
            close_after(&mut response);
        }
        return Ok(keep_in_flight(response, in_flight));
    }
    let (mut parts, incoming) = request.into_parts();
    let has_body = !incoming.is_end_stream();
    let expects_continue = parts
        .headers
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let watch = Arc::new(BodyWatch::default());
    let body = Body::new(DeadlineBody::new(incoming, body_timeout, watch.clone()));
    parts.extensions.insert(ConnectInfo(peer));
    let Ok(mut response) = router.oneshot(Request::from_parts(parts, body)).await;
    if watch.timed_out.load(Ordering::Relaxed) {
        response = ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            None,
            format!(
                "the request body did not arrive within {} seconds",
                body_timeout.as_secs()
            ),
        )
        .into_response();
        close_after(&mut response);
    }
    if has_body
        && !watch.ended.load(Ordering::Relaxed)
        && !drain(watch.take_unread(), expects_continue).await
    {
        close_after(&mut response);
    }
    Ok(keep_in_flight(response, in_flight))
}

fn close_after(response: &mut Response<Body>) {
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
}

/// 414 for a request target over [`MAX_URI_BYTES`], 431 for more headers than
/// [`MAX_HEADERS`] or [`MAX_HEADER_BYTES`], with the API's JSON error body.
pub(crate) fn check_head<B>(request: &Request<B>) -> Option<ApiError> {
    let uri = request
        .uri()
        .path_and_query()
        .map_or(0, |pq| pq.as_str().len());
    if uri > MAX_URI_BYTES {
        return Some(ApiError::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            None,
            format!("the request target is {uri} bytes; at most {MAX_URI_BYTES} are accepted"),
        ));
    }
    let headers = request.headers();
    let bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if headers.len() > MAX_HEADERS || bytes > MAX_HEADER_BYTES {
        return Some(ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            None,
            format!(
                "the request has {} headers of {bytes} bytes; at most {MAX_HEADERS} headers \
                 of {MAX_HEADER_BYTES} bytes in all are accepted",
                headers.len()
            ),
        ));
    }
    None
}

/// Whether a request's body was read to its end, or ran out of time; and the part left
/// unread when the handler dropped it, handed back for [`drain`].
#[derive(Default)]
struct BodyWatch {
    ended: AtomicBool,
    timed_out: AtomicBool,
    unread: Mutex<Option<(Incoming, Instant)>>,
}

impl BodyWatch {
    fn take_unread(&self) -> Option<(Incoming, Instant)> {
        self.unread
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }
}

/// A request body that fails once its deadline passes.
struct DeadlineBody {
    /// `None` once dropped (see `Drop`).
    inner: Option<Incoming>,
    deadline: Pin<Box<tokio::time::Sleep>>,
    deadline_at: Instant,
    watch: Arc<BodyWatch>,
}

impl DeadlineBody {
    fn new(inner: Incoming, timeout: Duration, watch: Arc<BodyWatch>) -> DeadlineBody {
        let deadline_at = Instant::now() + timeout;
        DeadlineBody {
            inner: Some(inner),
            deadline: Box::pin(tokio::time::sleep_until(deadline_at)),
            deadline_at,
            watch,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
struct BodyTimedOut;

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        match Pin::new(&mut *inner).poll_frame(cx) {
            Poll::Ready(None) => {
                this.watch.ended.store(true, Ordering::Relaxed);
                Poll::Ready(None)
            }
            Poll::Ready(Some(frame)) => {
                if inner.is_end_stream() {
                    this.watch.ended.store(true, Ordering::Relaxed);
                }
                Poll::Ready(Some(frame.map_err(Into::into)))
            }
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    this.watch.timed_out.store(true, Ordering::Relaxed);
                    Poll::Ready(Some(Err(Box::new(BodyTimedOut))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(HttpBody::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), HttpBody::size_hint)
    }
}

impl Drop for DeadlineBody {
    fn drop(&mut self) {
        // A body the handler did not read to its end goes back to `handle`, which may
        // drain it so that the connection can be kept.
        let ended = self.watch.ended.load(Ordering::Relaxed);
        let timed_out = self.watch.timed_out.load(Ordering::Relaxed);
        if let Some(inner) = self.inner.take() {
            if !ended && !timed_out && !inner.is_end_stream() {
                *self
                    .watch
                    .unread
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) =
                    Some((inner, self.deadline_at));
            }
        }
    }
}

/// Reads and discards the rest of a body the handler left unread, if it is declared small
/// ([`DRAIN_MAX`]) and arrives before its deadline: then the connection can serve the next
/// request. `false` when the connection must close instead.
async fn drain(unread: Option<(Incoming, Instant)>, expects_continue: bool) -> bool {
    let Some((mut body, deadline)) = unread else {
        return false;
    };
    // A client waiting for `100 Continue` has sent nothing yet: refuse it, don't invite it.
    let small = body
        .size_hint()
        .upper()
        .is_some_and(|n| n <= DRAIN_MAX as u64);
    if expects_continue || !small {
        return false;
    }
    let read_all = async {
        loop {
            match std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
                None => return true,
                Some(Ok(_)) => {}
                Some(Err(_)) => return false,
            }
        }
    };
    tokio::select! {
        drained = read_all => drained,
        _ = tokio::time::sleep_until(deadline) => false,
    }
}

/// Keeps the request counted as in flight until hyper has taken its whole response body.
fn keep_in_flight(response: Response<Body>, in_flight: InFlight) -> Response<Body> {
    response.map(|inner| {
        Body::new(Guarded {
            inner,
            _in_flight: in_flight,
        })
    })
}

struct Guarded {
    inner: Body,
    _in_flight: InFlight,
}

impl HttpBody for Guarded {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The TCP stream, noting when bytes of a new request head arrive and whether responses
/// are going out.
struct Watched {
    stream: TcpStream,
    conn: Arc<Conn>,
}

impl Watched {
    fn note_write(&self, polled: &Poll<std::io::Result<usize>>) {
        match polled {
            Poll::Ready(Ok(n)) => self.conn.wrote(Some(*n)),
            Poll::Pending => self.conn.wrote(None),
            // The connection is failing; hyper ends it.
            Poll::Ready(Err(_)) => self.conn.wrote(Some(0)),
        }
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.conn.bytes_arrived();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.note_write(&polled);
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.note_write(&polled);
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn limits() -> ConnectionLimits {
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(5),
            keep_alive_timeout: Duration::from_secs(60),
            ..ConnectionLimits::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_connection_gets_the_head_timeout_and_an_idle_one_the_keep_alive_timeout() {
        let registry = Registry::default();
        let conn = registry.insert(1);
        let opened = Instant::now();
        assert!(
            matches!(conn.step(&limits(), None), Step::Wait(Some(at)) if at == opened + Duration::from_secs(5))
        );
        let in_flight = conn.request_started();
        assert!(matches!(conn.step(&limits(), None), Step::Wait(None)));
        tokio::time::advance(Duration::from_secs(100)).await;
        drop(in_flight);
        let idle = Instant::now();
        assert!(
            matches!(conn.step(&limits(), None), Step::Wait(Some(at)) if at == idle + Duration::from_secs(60))
        );
        tokio::time::advance(Duration::from_secs(2)).await;
        conn.bytes_arrived();
        let head = Instant::now();
        assert!(
            matches!(conn.step(&limits(), None), Step::Wait(Some(at)) if at == head + Duration::from_secs(5))
        );
        tokio::time::advance(Duration::from_secs(5)).await;
        assert!(matches!(conn.step(&limits(), None), Step::Graceful));
        assert_eq!(conn.activity().close, Some(Close::TimedOut));
    }

    #[tokio::test(start_paused = true)]
    async fn eviction_takes_a_connection_that_never_sent_a_head_before_an_idle_one() {
        let registry = Registry::default();
        let idle = registry.insert(1);
        drop(idle.request_started());
        let busy = registry.insert(2);
        let _request = busy.request_started();
        let fresh = registry.insert(3);
        assert!(registry.evict_one());
        assert_eq!(fresh.activity().close, Some(Close::Evicted));
        assert!(registry.evict_one());
        assert_eq!(idle.activity().close, Some(Close::Evicted));
        // The one with a request in flight is never taken.
        assert!(!registry.evict_one());
        assert!(!registry.has_evictable());
        assert_eq!(busy.activity().close, None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_response_going_out_at_shutdown_is_waited_for_then_the_connection_dropped() {
        let registry = Registry::default();
        let conn = registry.insert(1);
        drop(conn.request_started());
        // The socket is full: the response is still going out, so it is not evictable.
        conn.wrote(None);
        assert!(!registry.has_evictable());
        registry.close_all();
        assert!(matches!(conn.step(&limits(), None), Step::Graceful));
        let since = Instant::now();
        tokio::time::advance(Duration::from_secs(5)).await;
        assert!(matches!(
            conn.step(&limits(), Some(since)),
            Step::Wait(None)
        ));
        // Flushed: a moment for the last bytes, then it is dropped.
        conn.wrote(Some(10));
        let flushed = Instant::now();
        assert!(
            matches!(conn.step(&limits(), Some(since)), Step::Wait(Some(at)) if at == flushed + LINGER)
        );
        tokio::time::advance(LINGER).await;
        assert!(matches!(conn.step(&limits(), Some(since)), Step::Drop));
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_reader_that_takes_bytes_is_not_idle_and_one_that_stops_is() {
        let conn = Registry::default().insert(1);
        drop(conn.request_started());
        tokio::time::advance(Duration::from_secs(50)).await;
        conn.wrote(Some(1000));
        tokio::time::advance(Duration::from_secs(50)).await;
        // 100 s after its answer began, but only 50 s since it last took bytes.
        assert!(matches!(conn.step(&limits(), None), Step::Wait(Some(_))));
        tokio::time::advance(Duration::from_secs(10)).await;
        assert!(matches!(conn.step(&limits(), None), Step::Graceful));
        // Timed out: dropped at once, whatever it still had to send.
        assert!(matches!(
            conn.step(&limits(), Some(Instant::now())),
            Step::Drop
        ));
    }

    #[test]
    fn over_long_uris_and_over_large_headers_are_refused() {
        let ok = Request::get("/healthz").body(()).unwrap();
        assert!(check_head(&ok).is_none());
        let long = Request::get(format!("/api/v1/skills?q={}", "a".repeat(MAX_URI_BYTES)))
            .body(())
            .unwrap();
        assert_eq!(check_head(&long).unwrap().status, StatusCode::URI_TOO_LONG);
        let big = Request::get("/")
            .header("x-big", "b".repeat(MAX_HEADER_BYTES))
            .body(())
            .unwrap();
        assert_eq!(
            check_head(&big).unwrap().status,
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
        );
        let mut many = Request::get("/");
        for i in 0..=MAX_HEADERS {
            many = many.header(format!("x-h{i}"), "1");
        }
        assert_eq!(
            check_head(&many.body(()).unwrap()).unwrap().status,
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
        );
    }
}
