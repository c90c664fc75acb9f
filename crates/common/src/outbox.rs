//! A producer's event outbox and its delivery to the realtime log.
//!
//! A producer (messaging, identity) [`record`]s events into its own `outbox`
//! table in the same transaction as the change, so a committed change always
//! has its events and a rolled-back one never does. The [`Relay`]'s one
//! background loop then appends them to realtime in outbox order, as many
//! as are pending per `Append`, and marks them delivered (with their
//! cursor) only after realtime acknowledged them. Realtime's `Append` is
//! idempotent by event id, so a crash between the two steps re-sends
//! without duplicating, and an outage delays events without losing them.

use crate::assertion::{AssertionKey, Claims};
use crate::db::{self, DbError, PgPool};
use crate::ids;
use clickclack_proto::realtime as rt;
use clickclack_proto::realtime::realtime_service_client::RealtimeServiceClient;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Text};
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

/// An event about to be recorded.
pub struct EventDraft {
    pub event_type: &'static str,
    pub workspace_id: String,
    pub channel_id: Option<String>,
    pub seq: Option<i64>,
    pub payload: serde_json::Map<String, serde_json::Value>,
    /// Who may see it; empty means the whole workspace.
    pub audience: Vec<String>,
}

impl EventDraft {
    pub fn new(event_type: &'static str, workspace_id: &str) -> EventDraft {
        EventDraft {
            event_type,
            workspace_id: workspace_id.into(),
            channel_id: None,
            seq: None,
            payload: serde_json::Map::new(),
            audience: Vec::new(),
        }
    }

    pub fn channel(mut self, channel_id: Option<&str>) -> Self {
        self.channel_id = channel_id.map(str::to_owned);
        self
    }

    pub fn seq(mut self, seq: Option<i64>) -> Self {
        self.seq = seq;
        self
    }

    /// Limits the event to these users (DM members, a receipt's reader).
    pub fn audience(mut self, users: Vec<String>) -> Self {
        self.audience = users;
        self
    }

    /// Adds a payload field; `None` leaves it out.
    pub fn with(mut self, key: &str, value: impl Into<Option<serde_json::Value>>) -> Self {
        if let Some(value) = value.into() {
            self.payload.insert(key.into(), value);
        }
        self
    }
}

/// A JSON string value, or nothing.
pub fn text(value: Option<&str>) -> Option<serde_json::Value> {
    value.map(|v| serde_json::Value::String(v.to_owned()))
}

#[derive(QueryableByName)]
struct Recorded {
    #[diesel(sql_type = Text)]
    created_at: String,
}

/// Writes the event into the caller's `outbox` table, inside the caller's
/// transaction, and returns it as recorded.
pub fn record(conn: &mut PgConnection, draft: EventDraft) -> QueryResult<RecordedEvent> {
    let event_id = ids::new_id(ids::EVENT);
    let payload = serde_json::Value::Object(draft.payload).to_string();
    let recorded: Recorded = diesel::sql_query(
        "INSERT INTO outbox (event_id, type, workspace_id, channel_id, seq, payload, audience, created_at)
         VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, now())
         RETURNING to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS created_at",
    )
    .bind::<Text, _>(&event_id)
    .bind::<Text, _>(draft.event_type)
    .bind::<Text, _>(&draft.workspace_id)
    .bind::<Nullable<Text>, _>(&draft.channel_id)
    .bind::<Nullable<BigInt>, _>(draft.seq)
    .bind::<Text, _>(&payload)
    .bind::<Array<Text>, _>(&draft.audience)
    .get_result(conn)?;
    Ok(RecordedEvent {
        event_id,
        event_type: draft.event_type.into(),
        workspace_id: draft.workspace_id,
        channel_id: draft.channel_id,
        seq: draft.seq,
        payload,
        created_at: recorded.created_at,
        audience: draft.audience,
    })
}

/// An event as a producer recorded it: what its domain answers. It has no
/// cursor yet (realtime assigns one on delivery); the realtime wire form is
/// made from it only at the gRPC edge ([`rt::Event::from`]).
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct RecordedEvent {
    #[diesel(sql_type = Text)]
    pub event_id: String,
    #[diesel(sql_type = Text)]
    pub event_type: String,
    #[diesel(sql_type = Text)]
    pub workspace_id: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub channel_id: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub seq: Option<i64>,
    #[diesel(sql_type = Text)]
    pub payload: String,
    #[diesel(sql_type = Text)]
    pub created_at: String,
    #[diesel(sql_type = Array<Text>)]
    pub audience: Vec<String>,
}

impl From<RecordedEvent> for rt::Event {
    fn from(event: RecordedEvent) -> rt::Event {
        rt::Event {
            id: event.event_id,
            cursor: String::new(),
            r#type: event.event_type,
            workspace_id: event.workspace_id,
            channel_id: event.channel_id,
            seq: event.seq,
            created_at: event.created_at,
            payload_json: event.payload,
            audience: event.audience,
        }
    }
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
    /// A relay from the outbox in `schema` to the realtime service at
    /// `realtime_addr` (connected lazily), on a database connection of its
    /// own: behind busy writers in the service's shared pool, every delivery
    /// would wait its turn.
    pub fn open(
        database_url: &str,
        schema: &'static str,
        realtime_addr: &str,
        key: AssertionKey,
        producer: &'static str,
    ) -> Result<Arc<Relay>, crate::service::ServiceError> {
        let pool = crate::db::open_pool(database_url, schema, 1)?;
        Ok(Self::new(pool, realtime_addr, key, producer)?)
    }

    fn new(
        pool: PgPool,
        realtime_addr: &str,
        key: AssertionKey,
        producer: &'static str,
    ) -> Result<Arc<Relay>, tonic::transport::Error> {
        Ok(Arc::new(Relay {
            pool,
            realtime: RealtimeServiceClient::new(crate::grpc::lazy_channel(realtime_addr)?),
            key,
            producer,
            wake: Notify::new(),
            delivering: Mutex::new(()),
            healthy: AtomicBool::new(true),
        }))
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

    /// Publishes a live-only event (no cursor, never replayed, e.g.
    /// `bot.membership_removed`) to the sockets of `workspace_id`. Best
    /// effort by nature: a client that was not connected learns the state
    /// by reading it, so a failure is only logged.
    pub async fn publish_live(
        &self,
        workspace_id: &str,
        event_type: &str,
        payload: serde_json::Value,
    ) {
        let claims = Claims::service(self.producer, workspace_id);
        let event = rt::Event {
            r#type: event_type.to_owned(),
            workspace_id: workspace_id.to_owned(),
            payload_json: payload.to_string(),
            ..Default::default()
        };
        let request = self
            .key
            .request(&claims, rt::PublishRequest { event: Some(event) });
        if let Err(status) = self.realtime.clone().publish(request).await {
            tracing::warn!(producer = self.producer, event_type, error = %status.message(), "live event not published");
        }
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
            let rows: Vec<RecordedEvent> = db::run(&self.pool, |conn| {
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
            let events = rows.into_iter().map(rt::Event::from).collect();
            let claims = Claims::service(self.producer, "");
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

    /// Delivers what is pending now, waiting at most `within`; while
    /// realtime is known to be down it only wakes the background loop.
    /// Returns whether delivery was attempted. Either way nothing is lost:
    /// the background loop retries whatever is left.
    pub async fn flush(&self, within: Duration) -> bool {
        if !self.healthy.load(Ordering::SeqCst) {
            self.wake();
            return false;
        }
        match tokio::time::timeout(within, self.deliver()).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => {
                tracing::warn!(producer = self.producer, %error, "event delivery deferred")
            }
            Err(_) => tracing::warn!(producer = self.producer, "event delivery is slow; deferred"),
        }
        true
    }

    /// Hands just-committed events to the background loop and returns them
    /// at once, without cursors: the writer's answer never waits for
    /// realtime, and concurrent writers' events travel together in the
    /// loop's next batch (one `Append`, one commit in realtime).
    pub fn enqueue(&self, events: Vec<RecordedEvent>) -> Vec<rt::Event> {
        if !events.is_empty() {
            self.wake();
        }
        events.into_iter().map(rt::Event::from).collect()
    }
}

/// Events committed to this service's outbox but not yet in realtime's log.
pub fn backlog(conn: &mut PgConnection) -> QueryResult<i64> {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        count: i64,
    }
    diesel::sql_query("SELECT count(*) AS count FROM outbox WHERE delivered_at IS NULL")
        .get_result::<Count>(conn)
        .map(|row| row.count)
}

/// A metrics sampler for [`backlog`].
pub fn backlog_sampler(service: &'static str, pool: crate::db::PgPool) -> crate::metrics::Sampler {
    std::sync::Arc::new(move || {
        if let Ok(mut conn) = pool.get()
            && let Ok(count) = backlog(&mut conn)
        {
            crate::metrics::METRICS
                .outbox_backlog
                .with_label_values(&[service])
                .set(count);
        }
    })
}

/// Where an event-producing service (identity, messaging) keeps its tables
/// and who its relay delivers as.
pub struct ProducerSpec {
    /// The service's name in metrics and logs (`identity`).
    pub service: &'static str,
    /// Who the relay signs its appends as (`svc:identity`).
    pub caller: &'static str,
    pub schema: &'static str,
    pub migrations: diesel_migrations::EmbeddedMigrations,
}

/// An event-producing service's database side: the migrated pool its
/// requests use, and the relay that delivers its outbox to realtime.
pub struct Producer {
    pub pool: PgPool,
    pub relay: Arc<Relay>,
    service: &'static str,
}

impl Producer {
    /// Connects and migrates (blocking), and prepares the relay.
    pub fn open(
        spec: ProducerSpec,
        database_url: &str,
        pool_size: db::PoolSize,
        realtime_addr: &str,
        key: AssertionKey,
    ) -> Result<Producer, crate::service::ServiceError> {
        let pool = db::connect(database_url, spec.schema, spec.migrations, pool_size)?;
        let relay = Relay::open(database_url, spec.schema, realtime_addr, key, spec.caller)?;
        Ok(Producer {
            pool,
            relay,
            service: spec.service,
        })
    }

    /// Pool use and outbox backlog, read at each metrics scrape.
    pub fn samplers(&self) -> Vec<crate::metrics::Sampler> {
        vec![
            crate::metrics::pool_sampler(self.service, self.pool.clone()),
            backlog_sampler(self.service, self.pool.clone()),
        ]
    }
}
