//! Early answers keep the connection usable.
//!
//! Many answers come before a request's body is read: a 429 from the rate
//! limiter, a 400 from the input filter, a 413, a 401 on an upload. Left
//! alone, hyper then closes the HTTP/1.1 connection after the answer (it
//! cannot find the next request behind unread body bytes), and it does so
//! without `Connection: close`: a client that reuses the connection (every
//! pool does) loses its next request to a broken pipe.
//!
//! So the body is watched, and whatever the handler left unread is read and
//! dropped before the answer goes out, up to [`DrainLimit`] bytes and
//! [`DRAIN_TIME`]. Beyond either, the answer says `Connection: close`, so
//! the client opens a new connection instead of writing into a closing one.
//! HTTP/2 needs none of this: hyper resets the one stream, never the
//! connection.

use crate::state::AppState;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, Version, header};
use axum::middleware::Next;
use axum::response::Response;
use futures_util::StreamExt;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

/// The longest a leftover body is read for before the connection is given
/// up instead.
pub const DRAIN_TIME: Duration = Duration::from_secs(5);
/// Leftovers at least this large are always read: a request a little over
/// a route's limit (a 2 MiB JSON body) should not cost the connection.
const MIN_DRAIN_BYTES: u64 = 8 * 1024 * 1024;

/// How much of a leftover body is read rather than giving up the
/// connection: the largest body any route accepts, and at least 8 MiB.
pub fn drain_limit(state: &AppState) -> u64 {
    (state.upload_max_bytes + 64 * 1024).max(MIN_DRAIN_BYTES)
}

pub async fn keep_connection_usable(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if request.version() != Version::HTTP_11 && request.version() != Version::HTTP_10 {
        return next.run(request).await;
    }
    let expects_continue = request
        .headers()
        .get(header::EXPECT)
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let (parts, body) = request.into_parts();
    if body.is_end_stream() {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let watched = Arc::new(Watched {
        body: Mutex::new(Some(body)),
        polled: AtomicBool::new(false),
        finished: AtomicBool::new(false),
    });
    let request = Request::from_parts(parts, Body::new(Reader(watched.clone())));
    let mut response = next.run(request).await;
    if watched.finished.load(Ordering::SeqCst)
        || response.status() == StatusCode::SWITCHING_PROTOCOLS
    {
        return response;
    }
    let leftover = watched.body.lock().expect("body lock").take();
    let Some(leftover) = leftover else {
        return response;
    };
    // A client waiting for `100 Continue` has sent nothing yet: reading now
    // would ask it for a body nobody wants. Say the connection ends instead.
    let waiting_for_continue = expects_continue && !watched.polled.load(Ordering::SeqCst);
    let drained = !waiting_for_continue && drain(leftover, drain_limit(&state)).await;
    if !drained {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Reads and drops `body` to its end; false when it is larger than
/// `limit`, slower than [`DRAIN_TIME`], or broken.
async fn drain(body: Body, limit: u64) -> bool {
    if body.size_hint().lower() > limit {
        return false;
    }
    let mut stream = body.into_data_stream();
    let read_all = async {
        let mut read = 0_u64;
        while let Some(chunk) = stream.next().await {
            let Ok(chunk) = chunk else { return false };
            read += chunk.len() as u64;
            if read > limit {
                return false;
            }
        }
        true
    };
    tokio::time::timeout(DRAIN_TIME, read_all)
        .await
        .unwrap_or(false)
}

/// The request body, shared between the handler (through [`Reader`]) and
/// this layer, which takes back whatever is left once the answer is ready.
struct Watched {
    body: Mutex<Option<Body>>,
    polled: AtomicBool,
    finished: AtomicBool,
}

/// What the handler reads the body through.
struct Reader(Arc<Watched>);

impl HttpBody for Reader {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let watched = &self.0;
        watched.polled.store(true, Ordering::SeqCst);
        let mut slot = watched.body.lock().expect("body lock");
        let Some(body) = slot.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = Pin::new(body).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) {
            watched.finished.store(true, Ordering::SeqCst);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        let slot = self.0.body.lock().expect("body lock");
        slot.as_ref().is_none_or(HttpBody::is_end_stream)
    }

    fn size_hint(&self) -> http_body::SizeHint {
        let slot = self.0.body.lock().expect("body lock");
        slot.as_ref().map(HttpBody::size_hint).unwrap_or_default()
    }
}
