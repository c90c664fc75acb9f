//! The feeder: follows realtime's whole log (as gateways do) and queues
//! each durable event for every live subscription that wants it and whose
//! bot may see it: the socket's visibility rule (`common::visibility`), a
//! subscription's event types and channels, and the bot's standing with
//! identity. Where it has read to is stored with what it queued, in one
//! transaction, so a restart goes on from there: nothing is skipped, and
//! an event offered twice is queued once.
//!
//! A subscription gets the events logged from its creation on. Ephemeral
//! events (typing, presence) are never delivered.

use crate::domain::matching;
use crate::error::WebhooksError;
use crate::standing::{ReaderKey, Standings};
use crate::store::feed;
use crate::store::queue::{self, NewDelivery};
use crate::store::subscriptions::{self, SubscriptionRow};
use chrono::{DateTime, Utc};
use clickclack_common::db::{self, PgPool};
use clickclack_common::grpc::Peer;
use clickclack_common::retry::Reconnect;
use clickclack_common::{cursor, visibility, wire};
use clickclack_proto::realtime as rt;
use clickclack_proto::realtime::realtime_service_client::RealtimeServiceClient;
use diesel::Connection;
use futures_util::FutureExt;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// At most this many events are queued in one transaction.
const BATCH: usize = 500;

#[derive(Clone)]
pub struct Feeder {
    pool: PgPool,
    /// Signed as this service (`Claims::service`).
    realtime: RealtimeServiceClient<Peer>,
    standings: Standings,
    /// Told when something was queued, so this replica's worker sends at once.
    wake: Option<Arc<Notify>>,
}

impl Feeder {
    pub fn new(
        pool: PgPool,
        realtime: RealtimeServiceClient<Peer>,
        standings: Standings,
    ) -> Feeder {
        Feeder {
            pool,
            realtime,
            standings,
            wake: None,
        }
    }

    /// The same feeder, notifying `wake` after queueing.
    pub fn waking(mut self, wake: Arc<Notify>) -> Feeder {
        self.wake = Some(wake);
        self
    }

    /// Follows the log until `shutdown`, reconnecting (from the stored
    /// place) whenever the stream or a batch fails.
    pub async fn run(&self, shutdown: CancellationToken) {
        let mut retry = Reconnect::new(Duration::from_millis(100));
        while !shutdown.is_cancelled() {
            match self.follow_once(&shutdown, &mut retry).await {
                Ok(()) => return,
                Err(error) => tracing::warn!(%error, "webhook feeder: following again"),
            }
            if !retry.wait(&shutdown).await {
                return;
            }
        }
    }

    /// One stream from realtime, read in batches until it breaks (Err) or
    /// `shutdown` (Ok).
    async fn follow_once(
        &self,
        shutdown: &CancellationToken,
        retry: &mut Reconnect,
    ) -> Result<(), WebhooksError> {
        let pool = &self.pool;
        let after_cursor = db::run(pool, |conn| Ok::<_, WebhooksError>(feed::cursor(conn)?))
            .await?
            .unwrap_or_default();
        let request = rt::FollowRequest {
            after_cursor: after_cursor.clone(),
        };
        let opened = self.realtime.clone().follow(request).await;
        if let Err(status) = &opened
            && status.code() == tonic::Code::FailedPrecondition
        {
            // The log no longer holds our place (a restored or reset
            // database). Waiting would never bring it back: start again at
            // the tail, and say loudly that what lay between is not sent.
            tracing::error!(
                cursor = %after_cursor,
                "webhook feeder: realtime's log no longer has the stored place; \
                 following from its tail, events in between are not delivered"
            );
            db::run(pool, |conn| Ok::<_, WebhooksError>(feed::forget(conn)?)).await?;
        }
        let mut stream = opened?.into_inner();
        retry.reset();
        loop {
            let first = tokio::select! {
                next = stream.message() => next?,
                _ = shutdown.cancelled() => return Ok(()),
            };
            let Some(first) = first else {
                return Err(tonic::Status::unavailable("realtime ended the follow stream").into());
            };
            let mut batch = vec![first];
            // Whatever has already arrived joins the batch.
            while batch.len() < BATCH {
                match stream.message().now_or_never() {
                    Some(Ok(Some(event))) => batch.push(event),
                    Some(Err(status)) => return Err(status.into()),
                    Some(Ok(None)) | None => break,
                }
            }
            self.take(batch).await?;
        }
    }

    /// Queues one batch of events (in log order) for the subscriptions that
    /// want them and moves the stored place past them, in one transaction.
    /// Answers how many deliveries were queued.
    pub async fn take(&self, events: Vec<rt::Event>) -> Result<usize, WebhooksError> {
        let durable: Vec<Logged> = events
            .into_iter()
            .filter_map(|event| {
                Some(Logged {
                    position: cursor::decode(&event.cursor)?,
                    at: DateTime::parse_from_rfc3339(&event.created_at)
                        .map(|at| at.with_timezone(&Utc))
                        .ok(),
                    json: OnceLock::new(),
                    event,
                })
            })
            .collect();
        let Some(last) = durable.last() else {
            return Ok(0);
        };
        let (last_position, last_cursor) = (last.position, last.event.cursor.clone());
        let workspaces: Vec<String> = durable
            .iter()
            .map(|logged| logged.event.workspace_id.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let live = db::run(&self.pool, move |conn| {
            Ok::<_, WebhooksError>(subscriptions::live_in(conn, &workspaces)?)
        })
        .await?;
        let mut wanted = Vec::new();
        for logged in &durable {
            for subscription in &live {
                if wants(subscription, logged) {
                    wanted.push((subscription, logged));
                }
            }
        }
        let readers: BTreeSet<ReaderKey> = wanted.iter().map(|(row, _)| row.reader()).collect();
        let standings = if readers.is_empty() {
            Default::default()
        } else {
            self.standings.check(readers).await?
        };
        let rows: Vec<NewDelivery> = wanted
            .into_iter()
            .filter(|(row, _)| standings.get(&row.reader()).is_some_and(Result::is_ok))
            .map(|(row, logged)| NewDelivery {
                subscription_id: row.id.clone(),
                event_id: logged.event.id.clone(),
                position: logged.position,
                // Rendered once per event, however many subscriptions get it.
                body: matching::body(&row.id, logged.json()),
            })
            .collect();
        let queued = db::run(&self.pool, move |conn| {
            conn.transaction(|conn| {
                let queued = queue::enqueue(conn, &rows)?;
                feed::advance(conn, &last_cursor, last_position)?;
                Ok::<_, diesel::result::Error>(queued)
            })
            .map_err(WebhooksError::from)
        })
        .await?;
        if queued > 0
            && let Some(wake) = &self.wake
        {
            wake.notify_one();
        }
        Ok(queued)
    }
}

/// A durable event of a batch, with what every subscription reads of it.
struct Logged {
    position: i64,
    /// When it was logged (`None`: unreadable, so older than anything).
    at: Option<DateTime<Utc>>,
    event: rt::Event,
    /// Its JSON as sockets see it, rendered on first use.
    json: OnceLock<Value>,
}

impl Logged {
    fn json(&self) -> &Value {
        self.json.get_or_init(|| wire::event(&self.event))
    }
}

/// Whether `subscription` gets `logged`: logged since it was created, of a
/// type and channel it asked for, and visible to its reader.
fn wants(subscription: &SubscriptionRow, logged: &Logged) -> bool {
    let event = &logged.event;
    logged.at.is_some_and(|at| at >= subscription.created_at)
        && matching::wanted(
            &subscription.event_types,
            &subscription.channel_ids,
            &event.r#type,
            event.channel_id.as_deref(),
        )
        && visibility::visible_to(event, &subscription.workspace_id, subscription.reader_id())
}
