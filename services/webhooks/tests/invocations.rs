//! Slash-command invocations on a fresh Postgres database: a response
//! token's five uses and its lifetime, acknowledgements that count only
//! within the ack window, and the log's retention.

use chrono::{TimeDelta, Utc};
use clickclack_common::db;
use clickclack_testkit::TestDatabase;
use clickclack_webhooks::store::invocations::{self, InvocationRow, MAX_RESPONSES, Redeemed};
use clickclack_webhooks::store::slash_commands::{self, SlashCommandRow};
use clickclack_webhooks::{MIGRATIONS, SCHEMA};
use diesel::PgConnection;
use std::time::Duration;

const ACK_WITHIN: Duration = Duration::from_secs(3);

fn command(conn: &mut PgConnection, id: &str) {
    slash_commands::insert(conn, &endpoint(id, "usr_bot", slash_commands::KIND_COMMAND))
        .unwrap()
        .expect("a new command");
}

/// A command row, or (kind `actions`, no name) an interactivity endpoint.
fn endpoint(id: &str, bot: &str, kind: &str) -> SlashCommandRow {
    SlashCommandRow {
        id: id.into(),
        workspace_id: "wsp_a".into(),
        bot_user_id: bot.into(),
        command: if kind == slash_commands::KIND_COMMAND {
            format!("/{id}")
        } else {
            String::new()
        },
        description: String::new(),
        delivery: "socket".into(),
        callback_url: String::new(),
        sealed_secret: vec![0; 40],
        previous_sealed_secret: None,
        previous_secret_until: None,
        created_by: None,
        created_at: Utc::now(),
        revoked_at: None,
        kind: kind.into(),
    }
}

/// An invocation of `command_id` made `age` ago, answering follow-ups for
/// `lifetime` after that.
fn invoked(
    conn: &mut PgConnection,
    id: &str,
    command_id: &str,
    token: &[u8],
    age: TimeDelta,
    lifetime: TimeDelta,
) {
    let created_at = Utc::now() - age;
    let row = InvocationRow {
        id: id.into(),
        command_id: command_id.into(),
        workspace_id: "wsp_a".into(),
        channel_id: Some("chn_1".into()),
        direct_conversation_id: None,
        thread_root_id: None,
        user_id: "usr_ana".into(),
        text: String::new(),
        response_token_hash: token.to_vec(),
        responses_until: created_at + lifetime,
        responses_used: 0,
        acked_at: None,
        response_status: None,
        response_body: String::new(),
        error: None,
        created_at,
        completed_at: None,
        message_id: None,
        action_id: None,
    };
    invocations::insert(conn, &row).unwrap();
}

fn redeem(conn: &mut PgConnection, token: &[u8], says_something: bool) -> &'static str {
    match invocations::redeem(conn, token, says_something, ACK_WITHIN).unwrap() {
        Redeemed::Answers(_) => "answers",
        Redeemed::Spent => "spent",
        Redeemed::Unknown => "unknown",
    }
}

#[tokio::test]
async fn a_token_answers_five_responses_while_it_lives_and_acknowledges_only_in_time() {
    let database = TestDatabase::create().await;
    let pool = db::connect(&database.url, SCHEMA, MIGRATIONS, 2).expect("migrate");
    let mut conn = pool.get().unwrap();
    command(&mut conn, "cmd_a");
    invoked(
        &mut conn,
        "sci_fresh",
        "cmd_a",
        b"fresh",
        TimeDelta::zero(),
        TimeDelta::minutes(15),
    );

    // Empty acknowledgements do not count; five that say something do.
    assert_eq!(redeem(&mut conn, b"fresh", false), "answers");
    assert_eq!(redeem(&mut conn, b"fresh", false), "answers");
    for _ in 0..MAX_RESPONSES {
        assert_eq!(redeem(&mut conn, b"fresh", true), "answers");
    }
    assert_eq!(redeem(&mut conn, b"fresh", true), "spent");
    let Some((row, _)) = invocations::find(&mut conn, "sci_fresh").unwrap() else {
        panic!("the invocation");
    };
    assert_eq!(row.responses_used, MAX_RESPONSES);
    assert!(row.acked_at.is_some(), "acknowledged within the window");

    // Ten seconds old: a response still goes, but it is no longer an ack.
    invoked(
        &mut conn,
        "sci_late",
        "cmd_a",
        b"late",
        TimeDelta::seconds(10),
        TimeDelta::minutes(15),
    );
    assert_eq!(redeem(&mut conn, b"late", true), "answers");
    let (row, _) = invocations::find(&mut conn, "sci_late").unwrap().unwrap();
    assert!(row.acked_at.is_none(), "too late to acknowledge");

    // Past its lifetime; never handed out; its command revoked.
    invoked(
        &mut conn,
        "sci_old",
        "cmd_a",
        b"old",
        TimeDelta::minutes(16),
        TimeDelta::minutes(15),
    );
    assert_eq!(redeem(&mut conn, b"old", false), "spent");
    assert_eq!(redeem(&mut conn, b"never", true), "unknown");
    command(&mut conn, "cmd_b");
    invoked(
        &mut conn,
        "sci_b",
        "cmd_b",
        b"revoked",
        TimeDelta::zero(),
        TimeDelta::minutes(15),
    );
    slash_commands::revoke(&mut conn, "cmd_b").unwrap();
    assert_eq!(redeem(&mut conn, b"revoked", true), "unknown");

    // A socket invocation given up on fails, unless it was acknowledged.
    let failed = invocations::give_up(&mut conn, "sci_late", "no ack").unwrap();
    assert_eq!(failed.error.as_deref(), Some("no ack"));
    let kept = invocations::give_up(&mut conn, "sci_fresh", "no ack").unwrap();
    assert_eq!(kept.error, None, "an acknowledged one only completes");
    assert!(kept.completed_at.is_some());

    // The log forgets what is older than its retention.
    invoked(
        &mut conn,
        "sci_ancient",
        "cmd_a",
        b"ancient",
        TimeDelta::days(8),
        TimeDelta::minutes(15),
    );
    let purged = invocations::purge_before(&mut conn, Utc::now() - TimeDelta::days(7)).unwrap();
    assert_eq!(purged, 1);
    assert!(
        invocations::find(&mut conn, "sci_ancient")
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_bot_has_one_live_interactivity_endpoint_and_they_are_not_commands() {
    let database = TestDatabase::create().await;
    let pool = db::connect(&database.url, SCHEMA, MIGRATIONS, 2).expect("migrate");
    let mut conn = pool.get().unwrap();
    command(&mut conn, "cmd_a");
    // Two bots' endpoints share the empty name without clashing.
    for (id, bot) in [("itx_1", "usr_bot"), ("itx_2", "usr_other")] {
        slash_commands::insert(&mut conn, &endpoint(id, bot, slash_commands::KIND_ACTIONS))
            .unwrap()
            .expect("an endpoint per bot");
    }
    // A second live one for the same bot is refused; replacing revokes.
    assert!(
        slash_commands::insert(
            &mut conn,
            &endpoint("itx_3", "usr_bot", slash_commands::KIND_ACTIONS)
        )
        .unwrap()
        .is_none()
    );
    let replaced = slash_commands::replace_interactivity(
        &mut conn,
        &endpoint("itx_4", "usr_bot", slash_commands::KIND_ACTIONS),
    )
    .unwrap();
    assert_eq!(replaced.id, "itx_4");
    let live = slash_commands::live_interactivity(&mut conn, "wsp_a", "usr_bot").unwrap();
    assert_eq!(live.map(|row| row.id).as_deref(), Some("itx_4"));
    let old = slash_commands::find(&mut conn, "itx_1").unwrap().unwrap();
    assert!(old.revoked_at.is_some(), "the replaced endpoint is revoked");
    // Endpoints are not in the workspace's command list.
    let listed: Vec<String> = slash_commands::live_in(&mut conn, "wsp_a")
        .unwrap()
        .into_iter()
        .map(|row| row.id)
        .collect();
    assert_eq!(listed, ["cmd_a"]);
}
