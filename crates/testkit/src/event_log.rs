//! Direct access to realtime's durable log for tests: the ground truth a
//! test compares the API against, and a producer's `Append` for filling the
//! log quickly.

use crate::TestStack;
use clickclack_common::assertion::{AssertionKey, Claims, DEV_INTERNAL_KEY};
use clickclack_proto::realtime as rt;
use clickclack_proto::realtime::realtime_service_client::RealtimeServiceClient;
use diesel::sql_types::{Array, Text};
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};

/// One stored event, as the database holds it.
#[derive(Debug, Clone, QueryableByName)]
pub struct LoggedEvent {
    #[diesel(sql_type = Text)]
    pub cursor: String,
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub event_type: String,
    #[diesel(sql_type = Text)]
    pub workspace_id: String,
    #[diesel(sql_type = Text)]
    payload_text: String,
    #[diesel(sql_type = Array<Text>)]
    pub audience: Vec<String>,
}

impl LoggedEvent {
    pub fn payload(&self) -> serde_json::Value {
        serde_json::from_str(&self.payload_text).expect("stored payloads are JSON")
    }
}

impl TestStack {
    /// Every event in realtime's log, oldest first, read straight from the
    /// database (not through any API).
    pub async fn logged_events(&self) -> Vec<LoggedEvent> {
        let url = self.db.url.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = PgConnection::establish(&url).expect("connect to the test database");
            diesel::sql_query(
                "SELECT 'cur_' || lpad(position::text, 20, '0') AS cursor, event_id AS id,
                        type AS event_type, workspace_id, payload::text AS payload_text, audience
                 FROM realtime.events ORDER BY position",
            )
            .load(&mut conn)
            .expect("read the event log")
        })
        .await
        .expect("read task")
    }

    /// Waits (up to 10 s) until every event the services have committed is
    /// in realtime's log: writes answer before their outbox relay delivers
    /// their events, so a test that reads the log's tail settles first.
    pub async fn events_settled(&self) {
        #[derive(diesel::QueryableByName)]
        struct Pending {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            pending: i64,
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let url = self.db.url.clone();
            let pending = tokio::task::spawn_blocking(move || {
                let mut conn = PgConnection::establish(&url).expect("connect to the test database");
                diesel::sql_query(
                    "SELECT (SELECT count(*) FROM messaging.outbox WHERE delivered_at IS NULL)
                          + (SELECT count(*) FROM identity.outbox WHERE delivered_at IS NULL) AS pending",
                )
                .get_result::<Pending>(&mut conn)
                .expect("count undelivered events")
                .pending
            })
            .await
            .expect("count task");
            if pending == 0 {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{pending} events never reached the log"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Appends events to the log as a producing service would (idempotent by
    /// id); returns them with their cursors.
    pub async fn append_events(&self, events: Vec<rt::Event>) -> Vec<rt::Event> {
        let key = AssertionKey::from_secret(DEV_INTERNAL_KEY).expect("dev key");
        let claims = Claims::service("svc:test", "");
        let mut realtime = RealtimeServiceClient::connect(self.realtime_url.clone())
            .await
            .expect("connect to realtime");
        realtime
            .append(key.request(&claims, rt::AppendRequest { events }))
            .await
            .expect("append")
            .into_inner()
            .events
    }
}
