//! The gateway's one view of the live event log.
//!
//! Each gateway process holds a single `Follow` stream from realtime and
//! fans it out in memory to its own sockets: an event is decoded and
//! rendered to its JSON frame once, however many sockets receive it, and an
//! idle socket costs a broadcast receiver instead of a gRPC stream.
//! Visibility is applied per socket ([`visible_to`]), the same rule realtime
//! applies to pulls and backfills.
//!
//! No event is lost between a socket's replay and its live events: a socket
//! subscribes here first and then asks realtime for its backfill, whose
//! `covered_cursor` says up to where the log was read; live events at or
//! below it are skipped, later ones all arrive here (the stream started
//! before the socket subscribed, see [`LiveFeed::is_following`]). When the
//! stream breaks, sockets are told ([`Live::Lost`]) and close with 1013 so
//! their clients resume from their cursors.

use axum::extract::ws::Utf8Bytes;
use clickclack_common::assertion::Claims;
use clickclack_common::cursor;
use clickclack_common::retry::Reconnect;
use clickclack_proto::realtime as rt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

/// Items a socket may trail the feed by before it re-reads the log.
const FEED_CAPACITY: usize = 8192;

/// One event as every socket of this gateway sees it.
pub struct LiveEvent {
    /// Its log position; `None` for ephemeral and live-only events.
    pub position: Option<i64>,
    pub event: rt::Event,
    /// The event rendered as its WebSocket text frame.
    pub frame: Utf8Bytes,
}

#[derive(Clone)]
pub enum Live {
    Event(Arc<LiveEvent>),
    /// The stream from realtime broke: sockets close with 1013.
    Lost,
}

pub struct LiveFeed {
    sender: broadcast::Sender<Live>,
    following: watch::Sender<bool>,
}

pub use clickclack_common::visibility::visible_to;

impl LiveFeed {
    pub fn new() -> Arc<LiveFeed> {
        let (sender, _) = broadcast::channel(FEED_CAPACITY);
        Arc::new(LiveFeed {
            sender,
            following: watch::Sender::new(false),
        })
    }

    /// Subscribe before [`LiveFeed::is_following`] and before reading any
    /// backfill, so nothing falls between.
    pub fn subscribe(&self) -> broadcast::Receiver<Live> {
        self.sender.subscribe()
    }

    /// True while the stream from realtime is established. A socket that
    /// subscribed while this was true receives every event committed after
    /// that moment (or a [`Live::Lost`]).
    pub fn is_following(&self) -> bool {
        *self.following.borrow()
    }

    /// [`LiveFeed::is_following`], waiting up to `within` for the stream
    /// to (re)connect: a gateway that just started, or is reconnecting,
    /// keeps new sockets waiting briefly instead of refusing them.
    pub async fn wait_following(&self, within: Duration) -> bool {
        let mut following = self.following.subscribe();
        matches!(
            tokio::time::timeout(within, following.wait_for(|on| *on)).await,
            Ok(Ok(_))
        )
    }

    fn set_following(&self) {
        self.following.send_replace(true);
    }

    fn lost(&self) {
        // Cleared before telling, so a socket subscribing after the notice
        // sees the flag instead.
        if self.following.send_replace(false) {
            let _ = self.sender.send(Live::Lost);
        }
    }

    fn publish(&self, event: rt::Event, render: &impl Fn(&rt::Event) -> String) -> Option<String> {
        let position = (!event.cursor.is_empty())
            .then(|| cursor::decode(&event.cursor))
            .flatten();
        let frame = Utf8Bytes::from(render(&event));
        let resume = position.map(|_| event.cursor.clone());
        // No receivers is fine: no socket is open on this gateway.
        let _ = self.sender.send(Live::Event(Arc::new(LiveEvent {
            position,
            event,
            frame,
        })));
        resume
    }
}

/// Follows realtime's log until `shutdown`, reconnecting with a short
/// backoff and resuming after the last durable event it saw.
pub fn follow(
    feed: Arc<LiveFeed>,
    realtime: clickclack_proto::realtime::realtime_service_client::RealtimeServiceClient<
        clickclack_common::grpc::Peer,
    >,
    key: clickclack_common::assertion::AssertionKey,
    shutdown: CancellationToken,
) {
    tokio::spawn(async move {
        let render = |event: &rt::Event| crate::render::event(event).to_string();
        let mut after_cursor = String::new();
        let mut retry = Reconnect::new(Duration::from_millis(50));
        while !shutdown.is_cancelled() {
            let request = key.request(
                &Claims::gateway(),
                rt::FollowRequest {
                    after_cursor: after_cursor.clone(),
                },
            );
            let opened = realtime.clone().follow(request).await;
            if let Err(status) = &opened
                && status.code() == tonic::Code::FailedPrecondition
            {
                // The log no longer has our cursor (a restored or reset
                // database): start from its tail; the sockets were closed
                // when the stream broke and resume from their own cursors.
                after_cursor.clear();
            }
            if let Ok(response) = opened {
                feed.set_following();
                retry.reset();
                let mut stream = response.into_inner();
                loop {
                    let next = tokio::select! {
                        next = stream.message() => next,
                        _ = shutdown.cancelled() => return,
                    };
                    match next {
                        Ok(Some(event)) => {
                            if let Some(cursor) = feed.publish(event, &render) {
                                after_cursor = cursor;
                            }
                        }
                        Ok(None) | Err(_) => break,
                    }
                }
                tracing::warn!("realtime follow stream ended; reconnecting");
            }
            feed.lost();
            if !retry.wait(&shutdown).await {
                return;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(workspace: &str, audience: &[&str]) -> rt::Event {
        rt::Event {
            workspace_id: workspace.into(),
            audience: audience.iter().map(|id| id.to_string()).collect(),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn a_lost_stream_is_announced_once_and_clears_following() {
        let feed = LiveFeed::new();
        let mut receiver = feed.subscribe();
        feed.set_following();
        assert!(feed.wait_following(Duration::from_millis(10)).await);
        feed.lost();
        feed.lost();
        assert!(!feed.is_following());
        assert!(matches!(receiver.recv().await, Ok(Live::Lost)));
        assert!(receiver.try_recv().is_err(), "announced once");
        assert!(!feed.wait_following(Duration::from_millis(10)).await);
    }

    #[tokio::test]
    async fn events_are_rendered_once_with_their_position() {
        let feed = LiveFeed::new();
        let mut receiver = feed.subscribe();
        let mut durable = event("wsp_a", &[]);
        durable.cursor = cursor::encode(7);
        let resume = feed.publish(durable, &|_| "{\"frame\":1}".to_owned());
        assert_eq!(resume, Some(cursor::encode(7)));
        let Ok(Live::Event(live)) = receiver.recv().await else {
            panic!("expected an event")
        };
        assert_eq!(live.position, Some(7));
        assert_eq!(live.frame.as_str(), "{\"frame\":1}");
        assert_eq!(feed.publish(event("wsp_a", &[]), &|_| String::new()), None);
    }
}
