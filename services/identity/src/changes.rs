//! Fan-out of authentication changes to watching gateways.
//!
//! Domain code announces a change with `pg_notify` inside its transaction;
//! one thread per identity replica LISTENs on its own connection and hands
//! each notice to a broadcast channel that every `WatchAuthChanges` stream
//! reads. Postgres delivers notices to every listener, so a change made
//! through any replica reaches gateways connected to any other.

use crate::domain::auth::CHANGES_CHANNEL;
use clickclack_proto::identity as pb;
use diesel::{Connection, PgConnection, RunQueryDsl};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// How often the listener checks its socket for notices. Small next to the
/// 1 s revocation budget, and a check is one non-blocking read.
const POLL_INTERVAL: Duration = Duration::from_millis(20);
const RECONNECT_DELAY: Duration = Duration::from_secs(1);
/// Notices a slow watcher may fall behind by before it is told to resync.
const BUFFER: usize = 1024;

#[derive(Clone)]
pub struct AuthChanges {
    sender: broadcast::Sender<pb::AuthChange>,
}

impl AuthChanges {
    pub fn new() -> AuthChanges {
        AuthChanges {
            sender: broadcast::channel(BUFFER).0,
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<pb::AuthChange> {
        self.sender.subscribe()
    }

    /// Starts the listener thread; it stops when `shutdown` is cancelled.
    pub fn spawn_listener(&self, database_url: String, shutdown: CancellationToken) {
        let sender = self.sender.clone();
        std::thread::Builder::new()
            .name("auth-changes".into())
            .spawn(move || listen(&database_url, &sender, &shutdown))
            .expect("spawn the auth-changes listener");
    }
}

impl Default for AuthChanges {
    fn default() -> Self {
        Self::new()
    }
}

fn listen(
    database_url: &str,
    sender: &broadcast::Sender<pb::AuthChange>,
    shutdown: &CancellationToken,
) {
    while !shutdown.is_cancelled() {
        match connect(database_url) {
            Ok(mut conn) => {
                // Anything announced while we were not listening is lost:
                // watchers must drop what they cached.
                let _ = sender.send(change("resync", ""));
                if let Err(error) = forward(&mut conn, sender, shutdown) {
                    tracing::warn!(%error, "auth-change listener lost its connection");
                }
            }
            Err(error) => tracing::warn!(%error, "auth-change listener cannot connect"),
        }
        if shutdown.is_cancelled() {
            break;
        }
        std::thread::sleep(RECONNECT_DELAY);
    }
}

fn connect(database_url: &str) -> anyhow::Result<PgConnection> {
    let mut conn = PgConnection::establish(database_url)?;
    diesel::sql_query(format!("LISTEN {CHANGES_CHANNEL}")).execute(&mut conn)?;
    Ok(conn)
}

fn forward(
    conn: &mut PgConnection,
    sender: &broadcast::Sender<pb::AuthChange>,
    shutdown: &CancellationToken,
) -> diesel::QueryResult<()> {
    while !shutdown.is_cancelled() {
        for notice in conn.notifications_iter() {
            let notice = notice?;
            let (kind, subject) = notice.payload.split_once(':').unwrap_or(("resync", ""));
            // No receivers is fine: no gateway is watching right now.
            let _ = sender.send(change(kind, subject));
        }
        std::thread::sleep(POLL_INTERVAL);
    }
    Ok(())
}

pub fn change(kind: &str, subject_id: &str) -> pb::AuthChange {
    pb::AuthChange {
        kind: kind.into(),
        subject_id: subject_id.into(),
    }
}
