//! Fan-out of authentication changes to watching gateways, and the wait that
//! makes a change read-your-writes.
//!
//! Domain code announces a change inside its transaction: it takes the next
//! change number (in commit order) and queues a `pg_notify`. One thread per
//! identity replica LISTENs on its own connection and hands each notice to a
//! broadcast channel that every `WatchAuthChanges` stream reads. Postgres
//! delivers notices to every listener, so a change made through any replica
//! reaches gateways connected to any other.
//!
//! Gateways report back the newest change they applied, and renew a short
//! lease on the same stream; both are kept in `auth_watchers`, shared by all
//! replicas. A change RPC answers only once every watcher holding a live
//! lease has applied it ([`AuthChanges::await_applied`]). A gateway that
//! cannot be reached stops serving cached principals when its lease ends,
//! which is also when the wait stops counting it, so an answered revocation
//! is never served from a stale cache, on any gateway.

use crate::domain::auth::CHANGES_CHANNEL;
use crate::error::IdentityError;
use crate::store;
use clickclack_common::db::{self, PgPool};
use clickclack_common::notify::{self, Notice, NoticeHandler};
use clickclack_proto::identity as pb;
use diesel::PgConnection;
use diesel::connection::SimpleConnection;
use std::time::{Duration, Instant};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, mpsc, watch};
use tokio_util::sync::CancellationToken;

/// How often the listener checks its socket for notices: one non-blocking
/// read, and it bounds how late a notice reaches the gateways.
const POLL_INTERVAL: Duration = Duration::from_millis(2);
/// Notices a slow watcher may fall behind by before it is told to resync.
const BUFFER: usize = 1024;
/// How long a gateway may serve cached principals after asking for a lease.
/// Gateways renew well before it ends; one cut off from identity stops
/// using its cache this long after its last successful renewal.
pub const LEASE: Duration = Duration::from_millis(1500);
/// How often a waiting change looks at the watchers' reports.
const WAIT_POLL: Duration = Duration::from_millis(2);
/// A lease answer waits this long at most for the local listener to catch
/// up with the newest change, so the gateway need not drop its whole cache.
const CATCH_UP_WAIT: Duration = Duration::from_millis(50);

#[derive(Clone)]
pub struct AuthChanges {
    sender: broadcast::Sender<pb::AuthChange>,
    /// The newest change number this replica's listener has passed on.
    seen: watch::Sender<i64>,
}

impl AuthChanges {
    pub fn new() -> AuthChanges {
        AuthChanges {
            sender: broadcast::channel(BUFFER).0,
            seen: watch::channel(0).0,
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<pb::AuthChange> {
        self.sender.subscribe()
    }

    /// The newest change number passed on to watchers so far.
    pub fn seen(&self) -> i64 {
        *self.seen.borrow()
    }

    /// Waits (briefly) until the listener has passed on change `seq`.
    pub async fn caught_up_with(&self, seq: i64) -> bool {
        let mut seen = self.seen.subscribe();
        tokio::time::timeout(CATCH_UP_WAIT, seen.wait_for(|latest| *latest >= seq))
            .await
            .is_ok_and(|outcome| outcome.is_ok())
    }

    /// Starts the listener thread; it stops when `shutdown` is cancelled.
    pub fn spawn_listener(&self, database_url: String, shutdown: CancellationToken) {
        notify::spawn_listener(
            "auth-changes",
            database_url,
            &[CHANGES_CHANNEL],
            POLL_INTERVAL,
            self.clone(),
            shutdown,
        );
    }

    /// Answers once every gateway holding a live lease has applied every
    /// change committed so far, or when `LEASE` (plus a margin) has passed:
    /// by then a gateway that never answered has stopped using its cache.
    /// Call it after a change's transaction committed.
    pub async fn await_applied(&self, pool: &PgPool) -> Result<(), IdentityError> {
        let head = db::run(pool, |conn| {
            Ok::<_, IdentityError>(store::changes::head(conn)?)
        })
        .await?;
        let deadline = Instant::now() + LEASE + Duration::from_millis(250);
        loop {
            let behind = db::run(pool, move |conn| {
                Ok::<_, IdentityError>(store::changes::behind(conn, head)?)
            })
            .await?;
            if behind == 0 {
                return Ok(());
            }
            if Instant::now() >= deadline {
                tracing::warn!(
                    gateways = behind,
                    change = head,
                    "gateways did not confirm a credential change; their leases have ended"
                );
                return Ok(());
            }
            tokio::time::sleep(WAIT_POLL).await;
        }
    }

    fn pass_on(&self, notice: pb::AuthChange) {
        let seq = notice.seq;
        // No receivers is fine: no gateway is watching right now.
        let _ = self.sender.send(notice);
        self.seen.send_modify(|seen| *seen = (*seen).max(seq));
    }
}

impl NoticeHandler for AuthChanges {
    fn connected(&mut self, conn: &mut PgConnection) -> Result<(), db::DbError> {
        conn.batch_execute(&format!("SET search_path TO {}", crate::SCHEMA))?;
        // Anything announced while we were not listening is lost: watchers
        // must drop what they cached, which covers every change up to the
        // head read after LISTEN.
        let head = store::changes::head(conn)?;
        self.pass_on(change("resync", "", head));
        Ok(())
    }

    fn notice(&mut self, notice: Notice<'_>) {
        self.pass_on(parse_notice(notice.payload));
    }
}

impl Default for AuthChanges {
    fn default() -> Self {
        Self::new()
    }
}

/// Serves one gateway's `WatchAuthChanges` stream until either side goes
/// away: "hello", then every change, and a "lease" answer to each lease
/// request. The gateway's reports are recorded for [`AuthChanges::await_applied`].
pub async fn serve_watcher(
    changes: AuthChanges,
    pool: PgPool,
    mut reports: tonic::Streaming<pb::WatcherReport>,
    sender: mpsc::Sender<Result<pb::AuthChange, tonic::Status>>,
) {
    let mut notices = changes.subscribe();
    // Subscribed first: nothing passed on after this number is missed.
    if sender
        .send(Ok(change("hello", "", changes.seen())))
        .await
        .is_err()
    {
        return;
    }
    let _ = db::run(&pool, |conn| {
        Ok::<_, IdentityError>(store::changes::sweep(conn)?)
    })
    .await;
    loop {
        tokio::select! {
            notice = notices.recv() => {
                let notice = match notice {
                    Ok(notice) => notice,
                    // The watcher fell behind: it must drop everything.
                    Err(RecvError::Lagged(_)) => change("resync", "", changes.seen()),
                    Err(RecvError::Closed) => return,
                };
                if sender.send(Ok(notice)).await.is_err() {
                    return;
                }
            }
            report = reports.message() => {
                let Ok(Some(report)) = report else { return };
                if !valid_watcher_id(&report.watcher_id) {
                    let _ = sender.send(Err(tonic::Status::invalid_argument("watcher_id must be 1-64 URL-safe characters"))).await;
                    return;
                }
                let lease = report.lease_request.then_some(LEASE);
                let recorded = db::run(&pool, move |conn| {
                    Ok::<_, IdentityError>(store::changes::report(
                        conn,
                        &report.watcher_id,
                        report.applied_seq,
                        lease,
                    )?)
                })
                .await;
                let head = match recorded {
                    Ok(head) => head,
                    // No lease without a record of it; the gateway asks again.
                    Err(error) => {
                        tracing::warn!(%error, "cannot record a watcher's report");
                        continue;
                    }
                };
                if lease.is_none() {
                    continue;
                }
                // Pass on every change up to `head` before the lease, so the
                // gateway has them applied when it renews. If the listener is
                // behind, the gateway sees `head` ahead of what it applied and
                // drops its whole cache instead.
                changes.caught_up_with(head).await;
                while let Ok(notice) = notices.try_recv() {
                    if sender.send(Ok(notice)).await.is_err() {
                        return;
                    }
                }
                let mut answer = change("lease", "", head);
                answer.lease_ms = LEASE.as_millis() as u32;
                if sender.send(Ok(answer)).await.is_err() {
                    return;
                }
            }
            _ = sender.closed() => return,
        }
    }
}

/// Watcher ids are chosen by gateways: short, URL-safe, not empty.
fn valid_watcher_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A NOTIFY payload is `kind:subject:seq`; anything else means "resync".
fn parse_notice(payload: &str) -> pb::AuthChange {
    let parsed = payload.rsplit_once(':').and_then(|(rest, seq)| {
        let (kind, subject) = rest.split_once(':')?;
        Some(change(kind, subject, seq.parse().ok()?))
    });
    parsed.unwrap_or_else(|| change("resync", "", 0))
}

pub fn change(kind: &str, subject_id: &str, seq: i64) -> pb::AuthChange {
    pb::AuthChange {
        kind: kind.into(),
        subject_id: subject_id.into(),
        seq,
        lease_ms: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_carry_kind_subject_and_number() {
        let parsed = parse_notice("token:btok_01abc:42");
        assert_eq!(
            (parsed.kind.as_str(), parsed.subject_id.as_str(), parsed.seq),
            ("token", "btok_01abc", 42)
        );
        for garbage in ["", "token", "token:btok_1", "token:btok_1:x"] {
            assert_eq!(parse_notice(garbage).kind, "resync", "{garbage:?}");
        }
    }
}
