//! Postgres `LISTEN` on a connection of its own, on a thread of its own
//! (diesel's connections are blocking). Identity listens for credential
//! changes, realtime for appends and ephemeral events; both need the same
//! loop: connect, LISTEN, say so, poll for notices, reconnect after errors
//! on the shared retry policy, stop on shutdown.

use crate::db::DbError;
use crate::retry::Reconnect;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// One notice: its channel and payload.
pub struct Notice<'a> {
    pub channel: &'a str,
    pub payload: &'a str,
}

/// What a listener does besides listening.
pub trait NoticeHandler: Send + 'static {
    /// Runs after every (re)connect, once LISTEN is in place: notices sent
    /// while no connection listened are lost, so catch up here. An error
    /// drops the connection and retries.
    fn connected(&mut self, conn: &mut PgConnection) -> Result<(), DbError>;

    /// Runs for every notice, in the order Postgres delivered them.
    fn notice(&mut self, notice: Notice<'_>);
}

/// Where the first reconnect starts; the shared policy doubles it.
const FIRST_RECONNECT: Duration = Duration::from_millis(250);

/// Starts a thread named `name` that LISTENs on `channels` until
/// `shutdown`, checking the socket every `poll` (one non-blocking read; it
/// bounds how late a notice is seen).
pub fn spawn_listener(
    name: &str,
    database_url: String,
    channels: &'static [&'static str],
    poll: Duration,
    mut handler: impl NoticeHandler,
    shutdown: CancellationToken,
) {
    let thread = name.to_owned();
    std::thread::Builder::new()
        .name(thread.clone())
        .spawn(move || {
            let mut retry = Reconnect::new(FIRST_RECONNECT);
            while !shutdown.is_cancelled() {
                let outcome = listen(&database_url, channels, poll, &mut handler, &shutdown, &mut retry);
                if let Err(error) = outcome {
                    tracing::warn!(listener = thread, %error, "database listener lost its connection; reconnecting");
                }
                if !retry.wait_blocking(&shutdown) {
                    break;
                }
            }
        })
        .expect("start a database listener thread");
}

fn listen(
    database_url: &str,
    channels: &[&str],
    poll: Duration,
    handler: &mut impl NoticeHandler,
    shutdown: &CancellationToken,
    retry: &mut Reconnect,
) -> Result<(), DbError> {
    let mut conn = PgConnection::establish(database_url)?;
    let statements: String = channels.iter().map(|c| format!("LISTEN {c};")).collect();
    conn.batch_execute(&statements)?;
    handler.connected(&mut conn)?;
    retry.reset();
    while !shutdown.is_cancelled() {
        for notification in conn.notifications_iter() {
            let notification = notification?;
            handler.notice(Notice {
                channel: &notification.channel,
                payload: &notification.payload,
            });
        }
        std::thread::sleep(poll);
    }
    Ok(())
}
