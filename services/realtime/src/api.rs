//! gRPC handlers of the realtime service.

use crate::domain;
use crate::hub::{Hub, Live};
use clickclack_common::assertion::{ActingUser, acting_user, caller};
use clickclack_common::db::{self, PgPool};
use clickclack_common::metrics::METRICS;
use clickclack_proto::realtime as rt;
use clickclack_proto::realtime::realtime_service_server::RealtimeService;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

/// Rows read per backfill query.
const BACKFILL_BATCH: i64 = 500;
/// Frames buffered per subscriber before it counts as slow.
const SUBSCRIBER_BUFFER: usize = 256;

pub struct RealtimeApi {
    pool: PgPool,
    hub: Arc<Hub>,
    shutdown: CancellationToken,
}

impl RealtimeApi {
    pub fn new(pool: PgPool, hub: Arc<Hub>, shutdown: CancellationToken) -> Self {
        RealtimeApi {
            pool,
            hub,
            shutdown,
        }
    }
}

type Reply<T> = Result<Response<T>, Status>;
type EventStream = Pin<Box<dyn Stream<Item = Result<rt::Event, Status>> + Send>>;

#[tonic::async_trait]
impl RealtimeService for RealtimeApi {
    async fn append(&self, request: Request<rt::AppendRequest>) -> Reply<rt::AppendResponse> {
        let claims = caller(&request)?;
        domain::require_producer(&claims)?;
        let incoming = request.into_inner().events;
        let events = db::run(&self.pool, move |conn| domain::append(conn, incoming)).await?;
        METRICS.events_appended.inc_by(events.len() as u64);
        Ok(Response::new(rt::AppendResponse { events }))
    }

    async fn list(&self, request: Request<rt::ListRequest>) -> Reply<rt::EventList> {
        let claims = acting_user(&request)?;
        let req = request.into_inner();
        let limit = match req.limit {
            0 => domain::DEFAULT_LIST,
            n if n <= domain::MAX_LIST => n,
            _ => return Err(Status::invalid_argument("limit must be between 1 and 500")),
        } as i64;
        let list = db::run(&self.pool, move |conn| {
            domain::list(conn, &claims, &req.after_cursor, limit, req.include_tail)
        })
        .await?;
        Ok(Response::new(list))
    }

    type SubscribeStream = EventStream;

    async fn subscribe(
        &self,
        request: Request<rt::SubscribeRequest>,
    ) -> Reply<Self::SubscribeStream> {
        let claims = acting_user(&request)?;
        let after_cursor = request.into_inner().after_cursor;
        // Subscribe before reading the backlog, so nothing falls between.
        let live = self.hub.subscribe();
        let start_claims = claims.clone();
        let start = db::run(&self.pool, move |conn| {
            domain::subscription_start(conn, &start_claims, &after_cursor)
        })
        .await?;
        Ok(Response::new(self.stream_from(live, Some(claims), start)))
    }

    type FollowStream = EventStream;

    async fn follow(&self, request: Request<rt::FollowRequest>) -> Reply<Self::FollowStream> {
        let after_cursor = request.into_inner().after_cursor;
        let live = self.hub.subscribe();
        let start = db::run(&self.pool, move |conn| {
            domain::follow_start(conn, &after_cursor)
        })
        .await?;
        Ok(Response::new(self.stream_from(live, None, start)))
    }

    async fn backfill(&self, request: Request<rt::BackfillRequest>) -> Reply<rt::BackfillPage> {
        let claims = acting_user(&request)?;
        let req = request.into_inner();
        let page = db::run(&self.pool, move |conn| {
            domain::backfill_page(conn, &claims, &req.after_cursor, req.resume)
        })
        .await?;
        Ok(Response::new(page))
    }

    async fn publish(&self, request: Request<rt::PublishRequest>) -> Reply<rt::Event> {
        let claims = caller(&request)?;
        let event = domain::ephemeral(&claims, request.into_inner().event)?;
        let published = db::run(&self.pool, move |conn| domain::publish(conn, event)).await?;
        Ok(Response::new(published))
    }
}

impl RealtimeApi {
    /// Starts a subscriber after `start` and returns its stream.
    fn stream_from(
        &self,
        live: broadcast::Receiver<Live>,
        viewer: Option<ActingUser>,
        start: i64,
    ) -> EventStream {
        let (sender, receiver) = mpsc::channel(SUBSCRIBER_BUFFER);
        let subscriber = Subscriber {
            pool: self.pool.clone(),
            viewer,
            sender,
            last: start,
        };
        tokio::spawn(subscriber.run(live, self.shutdown.clone()));
        Box::pin(ReceiverStream::new(receiver))
    }
}

/// One subscription: backfill from the database, then live events, never
/// sending a position twice and never skipping one.
struct Subscriber {
    pool: PgPool,
    /// Whose visibility applies; `None` for a gateway's follow, which
    /// receives everything and filters per socket.
    viewer: Option<ActingUser>,
    sender: mpsc::Sender<Result<rt::Event, Status>>,
    /// The highest log position already handled (sent or not visible).
    last: i64,
}

impl Subscriber {
    async fn run(mut self, mut live: broadcast::Receiver<Live>, shutdown: CancellationToken) {
        if self.catch_up().await.is_err() {
            return;
        }
        loop {
            let next = tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.sender.closed() => return,
                next = live.recv() => next,
            };
            let outcome = match next {
                // The hub broadcasts every position in order, so after the
                // backfill only a lag can open a gap; positions at or below
                // `last` were already sent by the backfill.
                Ok(Live::Durable(position, event)) => {
                    if position <= self.last {
                        continue;
                    }
                    self.last = position;
                    self.send_if_visible(&event).await
                }
                Ok(Live::Ephemeral(event)) => self.send_if_visible(&event).await,
                // Fell behind the broadcast: the database has everything.
                Err(broadcast::error::RecvError::Lagged(_)) => self.catch_up().await,
                Err(broadcast::error::RecvError::Closed) => return,
            };
            if outcome.is_err() {
                return;
            }
        }
    }

    async fn send_if_visible(&self, event: &rt::Event) -> Result<(), ()> {
        let visible = self
            .viewer
            .as_ref()
            .is_none_or(|viewer| domain::event_visible_to(event, viewer));
        if visible {
            self.sender.send(Ok(event.clone())).await.map_err(|_| ())?;
            METRICS.events_delivered.inc();
            Ok(())
        } else {
            Ok(())
        }
    }

    /// Sends every visible event after `last` from the database.
    async fn catch_up(&mut self) -> Result<(), ()> {
        loop {
            let (viewer, after) = (self.viewer.clone(), self.last);
            let rows = db::run(&self.pool, move |conn| {
                domain::replay_after(conn, viewer.as_ref(), after, BACKFILL_BATCH)
            })
            .await;
            let rows = match rows {
                Ok(rows) => rows,
                Err(error) => {
                    let _ = self.sender.send(Err(error.into())).await;
                    return Err(());
                }
            };
            let full = rows.len() as i64 == BACKFILL_BATCH;
            for row in rows {
                self.last = row.position;
                self.sender
                    .send(Ok(domain::to_pb(row)))
                    .await
                    .map_err(|_| ())?;
                METRICS.events_delivered.inc();
            }
            if !full {
                return Ok(());
            }
        }
    }
}
