//! The accept loop: HTTP/1.1 connections, each bounded in how many there are
//! and in how long a client may take, so that slow or numerous clients
//! cannot make everyone else wait (slowloris) or exhaust file descriptors.
//!
//! - At most `max_connections` are served at once, and `max_connections_per_address`
//!   from one address. A connection beyond either is answered at once (once
//!   its request's headers are in), 503 or 429 with `Retry-After`, and
//!   closed: never queued.
//! - A request's headers must arrive within `header_read_timeout`; on a
//!   kept-alive connection the same timer runs between requests, so an idle
//!   connection does not hold its place for ever.
//! - A request's body must arrive within `body_read_timeout` of its headers.
//! - On shutdown, no new connection is accepted; requests in flight finish.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, Response, header};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::AbortHandle;
use tower::Service;

use crate::ApiError;
use crate::config::ConnectionLimits;

/// Connections being refused at once (each is read briefly, then answered).
const REFUSALS_AT_ONCE: usize = 64;

/// How long a refused connection may take to send its request's headers.
const REFUSAL_HEADER_TIMEOUT: Duration = Duration::from_secs(1);

pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let refusals = Arc::new(Refusals::default());
    let by_address = Arc::new(Mutex::new(HashMap::<IpAddr, usize>::new()));
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_failed(error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            refusals.refuse(
                stream,
                &ApiError::TooManyConnections {
                    limit: limits.max_connections,
                },
            );
            continue;
        };
        let Some(from_address) = AddressSlot::take(
            &by_address,
            client_of(peer.ip()),
            limits.max_connections_per_address,
        ) else {
            refusals.refuse(
                stream,
                &ApiError::TooManyConnectionsFromAddress {
                    limit: limits.max_connections_per_address,
                },
            );
            continue;
        };
        let connection = builder.serve_connection(
            TokioIo::new(stream),
            app_service(app.clone(), peer, limits.body_read_timeout),
        );
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(client = %peer, "connection ended: {error}");
            }
            drop((permit, from_address));
        });
    }
    // Stop accepting: a client now gets "connection refused" rather than a
    // connection nobody will serve.
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// The application as hyper calls it: with the client's address (as
/// `ConnectInfo`, which access control and the audit log read) and a body
/// that must arrive in time.
fn app_service(
    app: Router,
    peer: SocketAddr,
    body_read_timeout: Duration,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = Response<Body>,
    Error = std::convert::Infallible,
    Future = impl Future<Output = Result<Response<Body>, std::convert::Infallible>> + Send,
> + Clone {
    hyper::service::service_fn(move |request: Request<Incoming>| {
        let mut request = request.map(|body| Body::new(DeadlineBody::new(body, body_read_timeout)));
        request.extensions_mut().insert(ConnectInfo(peer));
        app.clone().call(request)
    })
}

/// Axum's own handling of accept errors: those of one connection are
/// ignored; others (out of file descriptors) are logged, then the loop
/// waits a second for some to be released rather than spin.
async fn accept_failed(error: std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!("accept error: {error}");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// The connections being answered because they are over a limit.
#[derive(Default)]
struct Refusals {
    /// Oldest first, so that the oldest can make room for a new one.
    waiting: Mutex<VecDeque<(u64, AbortHandle)>>,
    next: AtomicU64,
}

impl Refusals {
    /// Answers a connection over a limit with `refusal` and closes it. Its
    /// request's headers are read first (a client such as hyper takes an
    /// answer before its request for an error), for at most a second. At
    /// most [`REFUSALS_AT_ONCE`] wait for their headers: a new one closes the
    /// oldest, so that clients that send nothing cannot keep the others from
    /// being told, nor use up the file descriptors.
    fn refuse(self: &Arc<Self>, stream: TcpStream, refusal: &ApiError) {
        log_refusal(refusal);
        let response = Arc::new(refusal_response(refusal));
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let refusals = self.clone();
        // Locked until the task is listed, so that it cannot unlist itself first.
        let mut waiting = self
            .waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if waiting.len() >= REFUSALS_AT_ONCE
            && let Some((_, oldest)) = waiting.pop_front()
        {
            oldest.abort();
        }
        let task = tokio::spawn(async move {
            let service = hyper::service::service_fn(move |_request: Request<Incoming>| {
                let (parts, body) = response.as_ref();
                let mut answer = Response::new(Body::from(body.clone()));
                *answer.status_mut() = parts.status;
                *answer.headers_mut() = parts.headers.clone();
                async move { Ok::<_, std::convert::Infallible>(answer) }
            });
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(REFUSAL_HEADER_TIMEOUT)
                .keep_alive(false)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            refusals
                .waiting
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .retain(|(waiting, _)| *waiting != id);
        });
        waiting.push_back((id, task.abort_handle()));
    }
}

/// Logs refusals at most once every ten seconds, with how many there were:
/// a flood of connections must not become a flood of log lines.
fn log_refusal(refusal: &ApiError) {
    static LAST: Mutex<Option<(std::time::Instant, u64)>> = Mutex::new(None);
    let mut last = LAST
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let now = std::time::Instant::now();
    match last.as_mut() {
        Some((since, count)) if now.duration_since(*since) < Duration::from_secs(10) => {
            *count += 1;
        }
        _ => {
            let before = last.map_or(0, |(_, count)| count);
            tracing::warn!(
                "refused a connection: {refusal} ({before} more refused since the last such line)"
            );
            *last = Some((now, 0));
        }
    }
}

/// The answer to a refused connection: its problem document (written here,
/// not by the middleware: the request never reaches the application) and
/// `Retry-After`; hyper adds `Connection: close`.
fn refusal_response(refusal: &ApiError) -> (axum::http::response::Parts, String) {
    let mut body = refusal.body("", "", "");
    if let Some(fields) = body.as_object_mut() {
        fields.remove("instance");
    }
    let (mut parts, ()) = Response::new(()).into_parts();
    parts.status = refusal.status();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=utf-8"),
    );
    parts
        .headers
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    parts
        .headers
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    parts.headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    (parts, body.to_string())
}

/// Whom a connection is counted against: its IPv4 address (also when it
/// comes as an IPv4-mapped IPv6 one), or its IPv6 /64, which one host
/// usually has whole.
fn client_of(address: IpAddr) -> IpAddr {
    match address.to_canonical() {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(prefix.into())
        }
        v4 => v4,
    }
}

/// One connection counted against its address; uncounted when dropped.
struct AddressSlot {
    counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
    address: IpAddr,
}

impl AddressSlot {
    fn take(
        counts: &Arc<Mutex<HashMap<IpAddr, usize>>>,
        address: IpAddr,
        limit: usize,
    ) -> Option<Self> {
        let mut map = counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = map.entry(address).or_insert(0);
        if *count >= limit {
            return None;
        }
        *count += 1;
        Some(Self {
            counts: counts.clone(),
            address,
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut map = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = map.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                map.remove(&self.address);
            }
        }
    }
}

/// A request body that fails with [`BodyTimedOut`] when it has not all
/// arrived by its deadline. The deadline is set when the headers arrive.
struct DeadlineBody {
    inner: Incoming,
    deadline: Pin<Box<tokio::time::Sleep>>,
    limit: Duration,
}

impl DeadlineBody {
    fn new(inner: Incoming, limit: Duration) -> Self {
        Self {
            inner,
            deadline: Box::pin(tokio::time::sleep(limit)),
            limit,
        }
    }
}

/// The error a body read ends with when the client sent it too slowly.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {limit:?}")]
pub struct BodyTimedOut {
    pub limit: Duration,
}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|result| result.map_err(Into::into)));
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            let limit = self.limit;
            return Poll::Ready(Some(Err(Box::new(BodyTimedOut { limit }))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Whether a failed body read failed because the body came too slowly (the
/// error is wrapped by each layer it went through).
pub fn is_body_timeout(error: &(dyn std::error::Error + 'static)) -> Option<Duration> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(timed_out) = error.downcast_ref::<BodyTimedOut>() {
            return Some(timed_out.limit);
        }
        current = error.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_host_is_counted_by_its_64_and_a_mapped_ipv4_as_ipv4() {
        let one: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let same_host: IpAddr = "2001:db8:1:2:bbbb::7".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_of(one), client_of(same_host));
        assert_ne!(client_of(one), client_of(other));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(client_of(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn an_address_holds_at_most_its_limit_and_gets_its_places_back() {
        let counts = Arc::new(Mutex::new(HashMap::new()));
        let address: IpAddr = "192.0.2.7".parse().unwrap();
        let first = AddressSlot::take(&counts, address, 2).expect("one");
        let second = AddressSlot::take(&counts, address, 2).expect("two");
        assert!(AddressSlot::take(&counts, address, 2).is_none());
        drop((first, second));
        assert!(counts.lock().unwrap().is_empty(), "no entry left behind");
        assert!(AddressSlot::take(&counts, address, 2).is_some());
    }
}
