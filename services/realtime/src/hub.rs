//! Live fan-out inside one realtime replica.
//!
//! A listener thread waits for the `NOTIFY` every append sends at commit
//! (from any replica); the hub then reads the new rows once, in position
//! order, and broadcasts them to this replica's subscribers. Ephemeral
//! events travel between replicas as `NOTIFY` payloads on their own channel
//! and are broadcast the same way, but never stored. A subscriber that falls
//! behind the broadcast re-reads from the database, so nothing is skipped.

use crate::domain::to_pb;
use crate::store::events::{self, EPHEMERAL_CHANNEL, NOTIFY_CHANNEL};
use clickclack_common::db::{self, PgPool};
use clickclack_common::notify::{self, Notice, NoticeHandler};
use clickclack_proto::realtime as rt;
use diesel::PgConnection;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use tokio::sync::{Notify, broadcast};
use tokio_util::sync::CancellationToken;

/// Events a subscriber may trail the hub by before it re-reads the database.
const BROADCAST_CAPACITY: usize = 4096;
/// Rows read per hub pass.
const HUB_BATCH: i64 = 1000;
/// Read the log even without a notification this often (covers a lost one).
const SAFETY_TICK: Duration = Duration::from_millis(500);
/// How often the listener thread checks its socket.
const LISTEN_POLL: Duration = Duration::from_millis(5);

/// What subscribers receive live.
#[derive(Debug, Clone)]
pub enum Live {
    /// A durable event and its log position.
    Durable(i64, Arc<rt::Event>),
    Ephemeral(Arc<rt::Event>),
}

pub struct Hub {
    sender: broadcast::Sender<Live>,
    /// Highest position broadcast so far.
    broadcast_up_to: AtomicI64,
}

impl Hub {
    /// Starts the listener thread and the hub task.
    pub fn start(
        pool: PgPool,
        database_url: String,
        shutdown: CancellationToken,
    ) -> Result<Arc<Hub>, db::DbError> {
        let start = {
            let mut conn = pool.get()?;
            events::head(&mut conn)?
        };
        let (sender, _) = broadcast::channel(BROADCAST_CAPACITY);
        let hub = Arc::new(Hub {
            sender,
            broadcast_up_to: AtomicI64::new(start),
        });
        let wake = Arc::new(Notify::new());
        notify::spawn_listener(
            "realtime-listen",
            database_url,
            &[NOTIFY_CHANNEL, EPHEMERAL_CHANNEL],
            LISTEN_POLL,
            HubListener {
                hub: hub.clone(),
                wake: wake.clone(),
            },
            shutdown.clone(),
        );
        let task_hub = hub.clone();
        tokio::spawn(async move {
            loop {
                if let Err(error) = task_hub.pump(&pool).await {
                    tracing::warn!(%error, "realtime hub could not read the log");
                }
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep(SAFETY_TICK) => {}
                }
            }
        });
        Ok(hub)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Live> {
        self.sender.subscribe()
    }

    /// Broadcasts every event appended since the last pass, in order.
    async fn pump(&self, pool: &PgPool) -> Result<(), db::DbError> {
        loop {
            let after = self.broadcast_up_to.load(Ordering::SeqCst);
            let rows = db::run(pool, move |conn| {
                Ok::<_, db::DbError>(events::all_after(conn, after, HUB_BATCH)?)
            })
            .await?;
            let Some(last) = rows.last().map(|row| row.position) else {
                return Ok(());
            };
            let full = rows.len() as i64 == HUB_BATCH;
            for row in rows {
                let position = row.position;
                // No receivers is fine: nobody is listening on this replica.
                let _ = self
                    .sender
                    .send(Live::Durable(position, Arc::new(to_pb(row))));
            }
            self.broadcast_up_to.store(last, Ordering::SeqCst);
            if !full {
                return Ok(());
            }
        }
    }

    fn broadcast_ephemeral(&self, payload: &str) {
        match serde_json::from_str::<EphemeralWire>(payload) {
            Ok(wire) => {
                let _ = self.sender.send(Live::Ephemeral(Arc::new(wire.into())));
            }
            Err(error) => tracing::warn!(%error, "dropping a malformed ephemeral notification"),
        }
    }
}

/// An ephemeral event as it travels in a NOTIFY payload.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct EphemeralWire {
    pub id: String,
    pub r#type: String,
    pub workspace_id: String,
    pub channel_id: Option<String>,
    pub created_at: String,
    pub payload_json: String,
    pub audience: Vec<String>,
}

impl From<EphemeralWire> for rt::Event {
    fn from(wire: EphemeralWire) -> Self {
        rt::Event {
            id: wire.id,
            cursor: String::new(),
            r#type: wire.r#type,
            workspace_id: wire.workspace_id,
            channel_id: wire.channel_id,
            seq: None,
            created_at: wire.created_at,
            payload_json: wire.payload_json,
            audience: wire.audience,
        }
    }
}

/// What the hub's dedicated LISTEN connection does: wake the hub for
/// appends (the hub's safety tick covers any gap while it reconnects) and
/// broadcast ephemeral events.
struct HubListener {
    hub: Arc<Hub>,
    wake: Arc<Notify>,
}

impl NoticeHandler for HubListener {
    fn connected(&mut self, _conn: &mut PgConnection) -> Result<(), db::DbError> {
        // Anything appended while we were connecting is read by the next pass.
        self.wake.notify_one();
        Ok(())
    }

    fn notice(&mut self, notice: Notice<'_>) {
        if notice.channel == EPHEMERAL_CHANNEL {
            self.hub.broadcast_ephemeral(notice.payload);
        } else {
            self.wake.notify_one();
        }
    }
}
