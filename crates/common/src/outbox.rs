//! Delivery of a service's event outbox to the realtime log.
//!
//! A producer writes events into its `outbox` table in the same transaction
//! as the change. The [`Relay`] then appends them to realtime in outbox
//! order and marks them delivered (with their cursor) only after realtime
//! acknowledged them. Realtime's `Append` is idempotent by event id, so a
//! crash between the two steps re-sends without duplicating, and an outage
//! delays events without losing them.

use crate::assertion::{AssertionKey, Claims};
use crate::db::{self, DbError, PgPool};
use clickclack_proto::realtime as rt;
use clickclack_proto::realtime::realtime_service_client::RealtimeServiceClient;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Text};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::{Mutex, Notify};
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

/// Rows sent per Append call.
const BATCH: i64 = 500;
/// How often pending rows are retried when nothing wakes the relay.
const RETRY_INTERVAL: Duration = Duration::from_secs(1);

#[derive(QueryableByName)]
struct PendingRow {
    #[diesel(sql_type = Text)]
    event_id: String,
    #[diesel(sql_type = Text)]
    event_type: String,
    #[diesel(sql_type = Text)]
    workspace_id: String,
    #[diesel(sql_type = Nullable<Text>)]
    channel_id: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    seq: Option<i64>,
    #[diesel(sql_type = Text)]
    payload: String,
    #[diesel(sql_type = Text)]
    created_at: String,
    #[diesel(sql_type = Array<Text>)]
    audience: Vec<String>,
}

#[derive(QueryableByName)]
struct Delivered {
    #[diesel(sql_type = Text)]
    event_id: String,
    #[diesel(sql_type = Text)]
    cursor: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("realtime refused the events: {0}")]
    Realtime(#[from] tonic::Status),
}

impl From<diesel::result::Error> for RelayError {
    fn from(error: diesel::result::Error) -> Self {
        RelayError::Db(DbError::Query(error))
    }
}

pub struct Relay {
    pool: PgPool,
    realtime: RealtimeServiceClient<Channel>,
    key: AssertionKey,
    producer: &'static str,
    wake: Notify,
    // One delivery at a time keeps outbox order.
    delivering: Mutex<()>,
    /// False after a failed delivery, until one succeeds: while realtime is
    /// down, writers do not wait for it.
    healthy: AtomicBool,
}

impl Relay {
    pub fn new(
        pool: PgPool,
        realtime: Channel,
        key: AssertionKey,
        producer: &'static str,
    ) -> Arc<Relay> {
        Arc::new(Relay {
            pool,
            realtime: RealtimeServiceClient::new(realtime),
            key,
            producer,
            wake: Notify::new(),
            delivering: Mutex::new(()),
            healthy: AtomicBool::new(true),
        })
    }

    /// Delivers in the background until `shutdown`: right after [`Relay::wake`],
    /// and every second for anything still pending.
    pub fn spawn(self: &Arc<Self>, shutdown: CancellationToken) {
        let relay = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(error) = relay.deliver().await {
                    tracing::warn!(producer = relay.producer, %error, "event delivery failed; will retry");
                }
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = relay.wake.notified() => {}
                    _ = tokio::time::sleep(RETRY_INTERVAL) => {}
                }
            }
        });
    }

    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Appends every pending row, oldest first. Returns how many were sent.
    pub async fn deliver(&self) -> Result<usize, RelayError> {
        let _turn = self.delivering.lock().await;
        let outcome = self.deliver_pending().await;
        self.healthy.store(outcome.is_ok(), Ordering::SeqCst);
        outcome
    }

    async fn deliver_pending(&self) -> Result<usize, RelayError> {
        let mut sent = 0;
        loop {
            let rows: Vec<PendingRow> = db::run(&self.pool, |conn| {
                Ok::<_, RelayError>(
                    diesel::sql_query(
                        "SELECT event_id, type AS event_type, workspace_id, channel_id, seq,
                                payload::text AS payload,
                                to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS created_at,
                                audience
                         FROM outbox WHERE delivered_at IS NULL ORDER BY position LIMIT $1",
                    )
                    .bind::<BigInt, _>(BATCH)
                    .load(conn)?,
                )
            })
            .await?;
            if rows.is_empty() {
                return Ok(sent);
            }
            let count = rows.len();
            let events = rows
                .into_iter()
                .map(|row| rt::Event {
                    id: row.event_id,
                    cursor: String::new(),
                    r#type: row.event_type,
                    workspace_id: row.workspace_id,
                    channel_id: row.channel_id,
                    seq: row.seq,
                    created_at: row.created_at,
                    payload_json: row.payload,
                    audience: row.audience,
                })
                .collect();
            let claims = Claims::new(self.producer, "service", "", "service", &BTreeSet::new());
            let appended = self
                .realtime
                .clone()
                .append(self.key.request(&claims, rt::AppendRequest { events }))
                .await?
                .into_inner()
                .events;
            let (ids, cursors): (Vec<String>, Vec<String>) =
                appended.into_iter().map(|e| (e.id, e.cursor)).unzip();
            db::run(&self.pool, move |conn| {
                diesel::sql_query(
                    "UPDATE outbox SET delivered_at = now(), cursor = delivered.cursor
                     FROM unnest($1::text[], $2::text[]) AS delivered(event_id, cursor)
                     WHERE outbox.event_id = delivered.event_id",
                )
                .bind::<Array<Text>, _>(ids)
                .bind::<Array<Text>, _>(cursors)
                .execute(conn)
                .map_err(RelayError::from)
            })
            .await?;
            sent += count;
        }
    }

    /// The cursors realtime gave these events, for those delivered.
    pub async fn cursors(
        &self,
        event_ids: Vec<String>,
    ) -> Result<HashMap<String, String>, RelayError> {
        let rows: Vec<Delivered> = db::run(&self.pool, move |conn| {
            diesel::sql_query(
                "SELECT event_id, cursor FROM outbox WHERE event_id = ANY($1) AND cursor IS NOT NULL",
            )
            .bind::<Array<Text>, _>(event_ids)
            .load(conn)
            .map_err(RelayError::from)
        })
        .await?;
        Ok(rows
            .into_iter()
            .map(|row| (row.event_id, row.cursor))
            .collect())
    }

    /// Delivers now (waiting at most `within`) and fills in the cursors of
    /// `events`. Events realtime could not take yet keep an empty cursor and
    /// are delivered later by the background loop.
    pub async fn publish(&self, mut events: Vec<rt::Event>, within: Duration) -> Vec<rt::Event> {
        if events.is_empty() {
            return events;
        }
        if !self.healthy.load(Ordering::SeqCst) {
            self.wake();
            return events;
        }
        match tokio::time::timeout(within, self.deliver()).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => {
                tracing::warn!(producer = self.producer, %error, "event delivery deferred")
            }
            Err(_) => tracing::warn!(producer = self.producer, "event delivery is slow; deferred"),
        }
        let ids = events.iter().map(|e| e.id.clone()).collect();
        if let Ok(cursors) = self.cursors(ids).await {
            for event in &mut events {
                if let Some(cursor) = cursors.get(&event.id) {
                    event.cursor = cursor.clone();
                }
            }
        }
        events
    }
}
