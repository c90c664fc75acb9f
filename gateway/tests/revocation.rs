//! Credential changes are read-your-writes (API.md §1, docs/architecture.md): once a
//! revoke, rotation, bot removal or owner removal has been answered, the
//! very next request with that token is refused, on every gateway, even
//! when both gateways had the token cached a moment before.

use clickclack_proto::identity as pb;
use clickclack_testkit::{Api, TestStack};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const ROUNDS: usize = 50;

/// `GET /api/me` on the gateway at `gateway`.
async fn me(stack: &TestStack, gateway: &str, token: &str) -> (u16, Value) {
    let answer = Api::new(gateway, stack.http.clone())
        .get("/api/me", Some(token))
        .await;
    (answer.status, answer.body)
}

/// The status of a WebSocket upgrade that is refused before the handshake.
async fn upgrade_status(gateway: &str, workspace: &str, token: &str) -> u16 {
    use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest};
    let url = format!(
        "{}/api/realtime/ws?workspace_id={workspace}",
        gateway.replacen("http", "ws", 1)
    );
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Authorization", format!("Bearer {token}").parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("the upgrade was accepted"),
    }
}

/// Every way an operator or an owner ends a bot token's access.
#[derive(Debug, Clone, Copy)]
enum Path {
    /// `clickclack admin bot token revoke` (identity `RevokeBotToken`).
    AdminRevoke,
    /// `clickclack admin bot token rotate --grace 0`.
    AdminRotate,
    /// `clickclack admin member remove` of a user-owned bot's owner.
    AdminRemoveOwner,
    /// `clickclack admin bot remove`.
    AdminRemoveBot,
    /// `POST /api/bot-tokens/{id}/revoke`.
    RestRevoke,
    /// `DELETE /api/workspaces/{id}/bots/{bot}/membership`.
    RestRemoveBot,
}

struct Bot {
    id: String,
    token: String,
    token_id: String,
    owner: Option<pb::User>,
}

async fn install(stack: &TestStack, workspace: &str, round: usize, path: Path) -> Bot {
    let owner = match path {
        Path::AdminRemoveOwner => Some(stack.add_human(workspace, &format!("owner{round}")).await),
        _ => None,
    };
    let created = stack
        .identity()
        .await
        .create_bot(pb::CreateBotRequest {
            workspace: workspace.into(),
            display_name: format!("Bot {round}"),
            handle: format!("bot-{round}"),
            owner_user_id: owner.as_ref().map(|o| o.id.clone()),
            scopes: vec!["bot:read".into()],
            ..Default::default()
        })
        .await
        .expect("create bot")
        .into_inner();
    Bot {
        id: created.bot.expect("bot").id,
        token_id: created.bot_token.expect("token").id,
        token: created.token,
        owner,
    }
}

/// Ends the bot's access through `path`; returns how long the call took.
async fn end_access(
    stack: &TestStack,
    workspace: &str,
    session: &str,
    bot: &Bot,
    path: Path,
) -> Duration {
    let mut identity = stack.identity().await;
    let started = Instant::now();
    match path {
        Path::AdminRevoke => {
            identity
                .revoke_bot_token(pb::RevokeBotTokenRequest {
                    token_id: bot.token_id.clone(),
                    ..Default::default()
                })
                .await
                .expect("revoke");
        }
        Path::AdminRotate => {
            identity
                .rotate_bot_token(pb::RotateBotTokenRequest {
                    token_id: bot.token_id.clone(),
                    grace_seconds: 0,
                    ..Default::default()
                })
                .await
                .expect("rotate");
        }
        Path::AdminRemoveOwner => {
            identity
                .remove_member(pb::RemoveMemberRequest {
                    workspace: workspace.into(),
                    user_id: bot.owner.as_ref().expect("an owner").id.clone(),
                })
                .await
                .expect("remove the owner");
        }
        Path::AdminRemoveBot => {
            identity
                .remove_bot(pb::RemoveBotRequest {
                    workspace: workspace.into(),
                    bot_user_id: bot.id.clone(),
                    actor_user_id: None,
                })
                .await
                .expect("remove the bot");
        }
        Path::RestRevoke | Path::RestRemoveBot => {
            let api = stack.api();
            let answer = match path {
                Path::RestRevoke => {
                    api.post(
                        &format!("/api/bot-tokens/{}/revoke", bot.token_id),
                        Some(session),
                        json!({}),
                    )
                    .await
                }
                _ => {
                    api.delete(
                        &format!("/api/workspaces/{workspace}/bots/{}/membership", bot.id),
                        Some(session),
                    )
                    .await
                }
            };
            answer.expect_success(&format!("{path:?}"));
        }
    }
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answered_revocation_is_refused_at_once_on_every_gateway() {
    let stack = TestStack::start().await;
    let replica = stack.start_replica().await;
    let gateways = [stack.http_url.clone(), replica.http_url()];
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.clone();
    let (_, session) = stack.sign_in(boot.owner.email.as_deref().unwrap()).await;
    let paths = [
        Path::AdminRevoke,
        Path::AdminRotate,
        Path::AdminRemoveOwner,
        Path::AdminRemoveBot,
        Path::RestRevoke,
        Path::RestRemoveBot,
    ];
    for (n, path) in paths.into_iter().enumerate() {
        let mut took = Vec::new();
        for round in 0..ROUNDS {
            let bot = install(&stack, &ws, n * ROUNDS + round, path).await;
            // Both gateways have the token cached now.
            for gateway in &gateways {
                for _ in 0..2 {
                    assert_eq!(me(&stack, gateway, &bot.token).await.0, 200);
                }
            }
            took.push(end_access(&stack, &ws, &session, &bot, path).await);
            for gateway in &gateways {
                let (status, body) = me(&stack, gateway, &bot.token).await;
                assert_eq!(
                    status, 401,
                    "{path:?} round {round}: the next request on {gateway} is refused: {body}"
                );
                if let Path::AdminRemoveOwner = path {
                    assert!(
                        body["error"].as_str().unwrap().contains("owner"),
                        "the error says why: {body}"
                    );
                    if round == 0 {
                        assert_eq!(upgrade_status(gateway, &ws, &bot.token).await, 401);
                    }
                }
            }
        }
        took.sort();
        eprintln!(
            "{path:?}: call answered in p50 {:?}, max {:?} over {ROUNDS} rounds",
            took[ROUNDS / 2],
            took[ROUNDS - 1]
        );
    }
    replica.stop().await;
    stack.stop().await;
}

/// How a rotation is asked for.
#[derive(Debug, Clone, Copy)]
enum Rotation {
    /// `POST /api/bot-tokens/{id}/rotate {grace_seconds}`.
    Rest,
    /// `clickclack admin bot token rotate --grace` (identity `RotateBotToken`,
    /// the call the CLI makes).
    Admin,
}

const GRACE_SECONDS: u32 = 2;
/// How late past the grace's end the old token may still be answered.
const EDGE: chrono::TimeDelta = chrono::TimeDelta::milliseconds(100);

/// Rotates with a grace of [`GRACE_SECONDS`]; answers the new token and
/// when the old one stops working.
async fn rotate(
    stack: &TestStack,
    session: &str,
    bot: &Bot,
    how: Rotation,
) -> (String, chrono::DateTime<chrono::Utc>) {
    let (token, ends) = match how {
        Rotation::Rest => {
            let answer = stack
                .api()
                .post(
                    &format!("/api/bot-tokens/{}/rotate", bot.token_id),
                    Some(session),
                    json!({ "grace_seconds": GRACE_SECONDS }),
                )
                .await
                .expect(201, "rotate over REST");
            (
                answer["bot_token"]["token"].as_str().unwrap().to_owned(),
                answer["replaced"]["revoked_at"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            )
        }
        Rotation::Admin => {
            let rotated = stack
                .identity()
                .await
                .rotate_bot_token(pb::RotateBotTokenRequest {
                    token_id: bot.token_id.clone(),
                    grace_seconds: GRACE_SECONDS,
                    ..Default::default()
                })
                .await
                .expect("rotate")
                .into_inner();
            (rotated.token, rotated.replaced.unwrap().revoked_at.unwrap())
        }
    };
    let ends = chrono::DateTime::parse_from_rfc3339(&ends)
        .unwrap()
        .to_utc();
    (token, ends)
}

/// A rotation's grace ends on time on every gateway, however the rotation
/// was asked for and whatever each gateway had cached: the old token is
/// answered 200 until the end and 401 ("revoked") from 100 ms after it on,
/// and an open socket holding it is closed 1008 by then. Twenty rounds, so
/// a race between the change notice and a re-cached answer shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_token_is_refused_on_every_gateway_when_its_grace_ends() {
    // The production TTL: much longer than the grace, as where it was seen.
    let stack = TestStack::start_with_auth_cache_ms(30_000).await;
    let replica = stack.start_replica().await;
    let gateways = [stack.http_url.clone(), replica.http_url()];
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.clone();
    let (_, session) = stack.sign_in(boot.owner.email.as_deref().unwrap()).await;
    let mut worst_last_200 = chrono::TimeDelta::MIN;
    let mut worst_close = chrono::TimeDelta::MIN;
    for round in 0..20 {
        let how = if round % 2 == 0 {
            Rotation::Rest
        } else {
            Rotation::Admin
        };
        let bot = install(&stack, &ws, round, Path::AdminRotate).await;
        // Cached on both gateways before the rotation, and a socket open on
        // each.
        for gateway in &gateways {
            for _ in 0..2 {
                assert_eq!(me(&stack, gateway, &bot.token).await.0, 200);
            }
        }
        let mut sockets = Vec::new();
        for gateway in &gateways {
            let socket = clickclack_testkit::ws::open_socket(
                gateway,
                &format!("workspace_id={ws}"),
                &bot.token,
            )
            .await;
            sockets.push(socket);
        }
        let (new_token, ends) = rotate(&stack, &session, &bot, how).await;
        let watchers: Vec<_> = sockets
            .into_iter()
            .map(|mut socket| {
                tokio::spawn(async move {
                    let closed = clickclack_testkit::ws::next_close(
                        &mut socket,
                        Duration::from_secs(u64::from(GRACE_SECONDS) + 5),
                    )
                    .await;
                    (closed, chrono::Utc::now())
                })
            })
            .collect();
        // Used again at once on both (cached anew, with the grace's end).
        for gateway in &gateways {
            assert_eq!(me(&stack, gateway, &bot.token).await.0, 200, "{how:?}");
        }
        // Every 50 ms on both gateways until well past the end.
        let mut polls = tokio::time::interval(Duration::from_millis(50));
        loop {
            polls.tick().await;
            let sent = chrono::Utc::now();
            if sent > ends + EDGE * 4 {
                break;
            }
            for gateway in &gateways {
                let (status, body) = me(&stack, gateway, &bot.token).await;
                let answered = chrono::Utc::now();
                if status == 200 {
                    worst_last_200 = worst_last_200.max(sent - ends);
                    assert!(
                        sent <= ends + EDGE,
                        "{how:?} round {round}: {gateway} answered 200 to a request sent {} ms after the grace ended",
                        (sent - ends).num_milliseconds()
                    );
                } else {
                    assert_eq!(status, 401, "{body}");
                    assert!(
                        body["error"].as_str().unwrap().contains("revoked"),
                        "the error says why: {body}"
                    );
                    assert!(
                        answered >= ends,
                        "{how:?} round {round}: refused {} ms before the grace ended",
                        (ends - answered).num_milliseconds()
                    );
                }
            }
        }
        for watcher in watchers {
            let ((code, reason), closed_at) = watcher.await.unwrap();
            assert_eq!(code, 1008, "{reason}");
            assert!(reason.starts_with("bot token revoked"), "{reason}");
            worst_close = worst_close.max(closed_at - ends);
            assert!(
                closed_at <= ends + EDGE && closed_at >= ends,
                "{how:?} round {round}: the socket closed {} ms from the grace's end",
                (closed_at - ends).num_milliseconds()
            );
        }
        for gateway in &gateways {
            assert_eq!(me(&stack, gateway, &new_token).await.0, 200);
        }
    }
    eprintln!(
        "over 20 rounds: last 200 sent {} ms after the end at worst, sockets closed {} ms after it at worst",
        worst_last_200.num_milliseconds(),
        worst_close.num_milliseconds()
    );
    replica.stop().await;
    stack.stop().await;
}
