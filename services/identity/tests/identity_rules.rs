//! Identity's rules, exercised over real gRPC against a real database.

use clickclack_proto::identity as pb;
use clickclack_testkit::TestStack;
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handles_are_unique_per_workspace_even_under_concurrent_creates() {
    let stack = TestStack::start().await;
    let a = stack.bootstrap("alpha").await;
    let b = stack.bootstrap("beta").await;

    let mut clients = Vec::new();
    for _ in 0..8 {
        clients.push(stack.identity().await);
    }
    let attempts = clients.into_iter().enumerate().map(|(i, mut identity)| {
        let workspace = a.workspace.id.clone();
        tokio::spawn(async move {
            identity
                .create_bot(pb::CreateBotRequest {
                    workspace,
                    display_name: format!("Racer {i}"),
                    handle: "racer".into(),
                    ..Default::default()
                })
                .await
        })
    });
    let mut created = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(_) => created += 1,
            Err(status) => assert_eq!(status.code(), Code::AlreadyExists, "{status:?}"),
        }
    }
    assert_eq!(created, 1, "exactly one bot gets the handle");

    // The same handle is free in another workspace.
    let (other, _) = stack
        .service_bot(&b.workspace.id, "racer", "bot:read")
        .await;
    assert_eq!(other.handle, "racer");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_bot_revokes_its_tokens_and_it_cannot_join_other_workspaces() {
    let stack = TestStack::start().await;
    let a = stack.bootstrap("alpha").await;
    let b = stack.bootstrap("beta").await;
    let (bot, token) = stack
        .service_bot(&a.workspace.id, "worker", "bot:read")
        .await;
    let mut identity = stack.identity().await;

    let refused = identity
        .add_member(pb::AddMemberRequest {
            workspace: b.workspace.id.clone(),
            user_id: bot.id.clone(),
            role: "member".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);

    identity
        .remove_member(pb::RemoveMemberRequest {
            workspace: "alpha".into(),
            user_id: bot.id.clone(),
        })
        .await
        .unwrap();
    let tokens = identity
        .list_bot_tokens(pb::ListBotTokensRequest {
            workspace: "alpha".into(),
            bot_user_id: bot.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .bot_tokens;
    assert!(tokens.iter().all(|t| t.revoked_at.is_some()), "{tokens:?}");
    let answer = stack.api().get("/api/me", Some(&token)).await;
    let (status, body) = (answer.status, answer.body);
    assert_eq!(status, 401);
    assert!(!body.to_string().contains(&token));

    // Re-adding the bot to its own workspace works, but old tokens stay revoked.
    let member = identity
        .add_member(pb::AddMemberRequest {
            workspace: "alpha".into(),
            user_id: bot.id.clone(),
            role: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(member.role, "bot");
    assert!(
        identity
            .authenticate(pb::AuthenticateRequest {
                token,
                ..Default::default()
            })
            .await
            .is_err()
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_and_workspaces_validate_their_input() {
    let stack = TestStack::start().await;
    let mut identity = stack.identity().await;
    let user = identity
        .create_user(pb::CreateUserRequest {
            display_name: " Ada Lovelace ".into(),
            email: "Ada@Example.com".into(),
            handle: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(user.display_name, "Ada Lovelace");
    assert_eq!(user.handle, "ada");
    assert_eq!(user.email.as_deref(), Some("ada@example.com"));

    let duplicate = identity
        .create_user(pb::CreateUserRequest {
            display_name: "Other".into(),
            email: "ada@example.com".into(),
            handle: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(duplicate.code(), Code::AlreadyExists);

    for (name, email) in [("", "x@example.com"), ("X", "not-an-email")] {
        let refused = identity
            .create_user(pb::CreateUserRequest {
                display_name: name.into(),
                email: email.into(),
                handle: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument, "{name:?} {email:?}");
    }

    let workspace = identity
        .create_workspace(pb::CreateWorkspaceRequest {
            name: "My Team".into(),
            slug: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(workspace.slug, "my-team");
    let taken = identity
        .create_workspace(pb::CreateWorkspaceRequest {
            name: "Again".into(),
            slug: "my-team".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(taken.code(), Code::AlreadyExists);
    let bad = identity
        .create_workspace(pb::CreateWorkspaceRequest {
            name: "Bad".into(),
            slug: "wsp_looks_like_an_id".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_are_parsed_at_the_edge_and_what_is_not_one_names_nothing() {
    let stack = TestStack::start().await;
    let alpha = stack.bootstrap("alpha").await;
    let mut identity = stack.identity().await;

    // A value that is not a `usr_` id names no user: the same "not found"
    // an unknown id gets, never a database error.
    let user = identity
        .get_user(pb::GetUserRequest {
            id: "nobody".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(user.code(), Code::NotFound);
    assert_eq!(user.message(), "user nobody not found");
    let token = identity
        .create_bot_token(pb::CreateBotTokenRequest {
            workspace: "alpha".into(),
            bot_user_id: "wsp_not_a_user".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(token.code(), Code::NotFound);
    assert_eq!(token.message(), "bot wsp_not_a_user not found");
    let owner = identity
        .create_bot(pb::CreateBotRequest {
            workspace: "alpha".into(),
            display_name: "Helper".into(),
            owner_user_id: Some("someone".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(owner.code(), Code::NotFound);
    assert_eq!(owner.message(), "owner someone not found");

    // A blank workspace is refused where one is required; an id or a slug
    // finds the same workspace.
    let blank = identity
        .list_members(pb::ListMembersRequest {
            workspace: "  ".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(blank.code(), Code::InvalidArgument);
    assert_eq!(blank.message(), "workspace is required");
    for key in [alpha.workspace.id.clone(), " alpha ".to_owned()] {
        let found = identity
            .get_workspace(pb::GetWorkspaceRequest { id_or_slug: key })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(found.id, alpha.workspace.id);
    }

    // A membership lookup with a workspace id that is not one is "not a
    // member", as for any workspace the user is not in.
    let membership = identity
        .get_membership(pb::GetMembershipRequest {
            workspace_id: "alpha".into(),
            user_id: alpha.owner.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(membership.code(), Code::NotFound);
    let member = identity
        .get_membership(pb::GetMembershipRequest {
            workspace_id: alpha.workspace.id.clone(),
            user_id: alpha.owner.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(member.role, "owner");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_started_on_its_own_refuses_the_development_keys() {
    let refused = clickclack_common::service::run::<clickclack_identity::Identity>(
        clickclack_identity::IdentityConfig {
            database_url: clickclack_common::db::with_database(
                clickclack_common::db::DEFAULT_DATABASE_URL,
                "unused",
            )
            .unwrap(),
            listen: "127.0.0.1:0".parse().unwrap(),
            db_pool_size: 1,
            db_idle_timeout: Default::default(),
            realtime_addr: "http://127.0.0.1:1".into(),
            keys: Default::default(),
            metrics_addr: None,
        },
        Default::default(),
    )
    .await
    .unwrap_err();
    assert!(
        refused.to_string().contains("built-in development key"),
        "{refused}"
    );
}

fn reader_ref(workspace: &str, user: &str) -> pb::ReaderRef {
    pb::ReaderRef {
        workspace_id: workspace.into(),
        user_id: user.into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_is_in_standing_while_a_bot_token_would_work_or_a_human_is_a_member() {
    let stack = TestStack::start().await;
    let a = stack.bootstrap("alpha").await;
    let b = stack.bootstrap("beta").await;
    let ws = a.workspace.id.clone();
    let ana = stack.add_human(&ws, "ana").await;
    let mut operator = stack.identity().await;
    let owned = operator
        .create_bot(pb::CreateBotRequest {
            workspace: ws.clone(),
            display_name: "Ana's helper".into(),
            handle: "helper".into(),
            owner_user_id: Some(ana.id.clone()),
            scopes: vec!["bot:read".into()],
            token_name: "t".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let owned_bot = owned.bot.unwrap();
    let (reader, _) = stack.service_bot(&ws, "reader", "bot:read").await;
    let (poster, _) = stack.service_bot(&ws, "poster", "messages:write").await;
    let mut webhooks = pb::identity_service_client::IdentityServiceClient::new(
        stack.service_peer(&stack.identity_url).await,
    );
    let ask = |readers: Vec<pb::ReaderRef>| pb::CheckReaderStandingsRequest { readers };
    let check = |list: pb::ReaderStandingList| {
        list.standings
            .into_iter()
            .map(|standing| (standing.in_standing, standing.reason))
            .collect::<Vec<_>>()
    };

    let first = webhooks
        .check_reader_standings(ask(vec![
            reader_ref(&ws, &owned_bot.id),
            reader_ref(&ws, &reader.id),
            reader_ref(&ws, &poster.id),
            reader_ref(&b.workspace.id, &reader.id),
            reader_ref(&ws, "usr_nobody"),
            reader_ref(&ws, "not-an-id"),
            reader_ref(&ws, &ana.id),
        ]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        check(first),
        vec![
            (true, String::new()),
            (true, String::new()),
            (
                false,
                "this bot has no working token that reads realtime events".into()
            ),
            (
                false,
                "this bot is no longer a member of its workspace".into()
            ),
            (false, "this user no longer exists".into()),
            (false, "no such user".into()),
            // A human reads while a member.
            (true, String::new()),
        ],
        "answers come in the order asked"
    );

    // The owner leaves; the reader's only token is revoked.
    operator
        .remove_member(pb::RemoveMemberRequest {
            workspace: ws.clone(),
            user_id: ana.id.clone(),
        })
        .await
        .unwrap();
    stack.revoke_bot_tokens(&reader.id).await;
    let after = webhooks
        .check_reader_standings(ask(vec![
            reader_ref(&ws, &owned_bot.id),
            reader_ref(&ws, &reader.id),
            reader_ref(&ws, &ana.id),
        ]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        check(after),
        vec![
            (
                false,
                "this bot's owner is no longer a member of its workspace".into()
            ),
            (
                false,
                "this bot has no working token that reads realtime events".into()
            ),
            (
                false,
                "the member who made this subscription has left the workspace".into()
            ),
        ]
    );

    // Only services ask; an operator is refused, and so is an oversized batch.
    let refused = operator
        .check_reader_standings(ask(vec![reader_ref(&ws, &reader.id)]))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    let too_many = webhooks
        .check_reader_standings(ask(vec![reader_ref(&ws, &reader.id); 1001]))
        .await
        .unwrap_err();
    assert_eq!(too_many.code(), Code::InvalidArgument, "{too_many:?}");
    stack.stop().await;
}
