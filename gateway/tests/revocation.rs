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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_token_is_refused_on_every_gateway_when_its_grace_ends() {
    let stack = TestStack::start().await;
    let replica = stack.start_replica().await;
    let gateways = [stack.http_url.clone(), replica.http_url()];
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.clone();
    let bot = install(&stack, &ws, 0, Path::AdminRotate).await;
    for gateway in &gateways {
        assert_eq!(me(&stack, gateway, &bot.token).await.0, 200);
    }
    let rotated = stack
        .identity()
        .await
        .rotate_bot_token(pb::RotateBotTokenRequest {
            token_id: bot.token_id.clone(),
            grace_seconds: 1,
            ..Default::default()
        })
        .await
        .expect("rotate")
        .into_inner();
    let ends = chrono::DateTime::parse_from_rfc3339(
        &rotated
            .replaced
            .expect("replaced")
            .revoked_at
            .expect("an end"),
    )
    .unwrap();
    // Still good during the grace period, on both.
    for gateway in &gateways {
        assert_eq!(me(&stack, gateway, &bot.token).await.0, 200);
    }
    let left = (ends.with_timezone(&chrono::Utc) - chrono::Utc::now())
        .to_std()
        .unwrap_or_default();
    tokio::time::sleep(left + Duration::from_millis(5)).await;
    for gateway in &gateways {
        assert_eq!(me(&stack, gateway, &bot.token).await.0, 401);
        assert_eq!(me(&stack, gateway, &rotated.token).await.0, 200);
    }
    replica.stop().await;
    stack.stop().await;
}
