//! What a reader of the event log may see, checked against a model.
//!
//! The rule (API.md §8): pull and WebSocket replay return exactly the events
//! of the requested workspace, with a cursor strictly after `after_cursor`,
//! visible to the caller (public, or private to the caller: DM members, the
//! reader of a receipt), ascending, at most `limit`; `tail_cursor` is the
//! newest such cursor. Live delivery follows the same rule.
//!
//! The model test generates random histories (two workspaces, public
//! channels, DMs, replies, reactions, read receipts, edits, a member who
//! leaves and comes back; humans in one or both workspaces; service and
//! user-owned bots), then compares pull, paging, WebSocket replay and live
//! delivery with a plain in-memory filter. The filter decides visibility
//! from what the test itself did (who is in which DM, who read what), not
//! from the audience the server stored. The ground truth of which events
//! exist is realtime's table, read directly. The named tests below replay
//! the defects that this rule once missed.

use clickclack_proto::identity as pb;
use clickclack_testkit::http::Method;
use clickclack_testkit::ws::{Socket, open_socket, tail_cursor};
use clickclack_testkit::{LoggedEvent, TestStack};
use futures_util::StreamExt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

const WAIT: Duration = Duration::from_secs(10);

async fn call(
    stack: &TestStack,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let answer = stack
        .api()
        .call(method, path, Some(token), body.as_ref())
        .await;
    (answer.status, answer.body)
}

async fn post_ok(stack: &TestStack, path: &str, token: &str, body: Value) -> Value {
    let (status, answer) = call(stack, Method::POST, path, token, Some(body)).await;
    assert!(
        (200..300).contains(&status),
        "POST {path}: {status} {answer}"
    );
    answer
}

/// `GET /api/realtime/events` → (status, event cursors, tail_cursor).
async fn pull(
    stack: &TestStack,
    token: &str,
    workspace: &str,
    after: &str,
    limit: Option<u32>,
) -> (u16, Vec<String>, Option<String>) {
    let mut path = format!(
        "/api/realtime/events?workspace_id={workspace}&after_cursor={after}&include_tail=true"
    );
    if let Some(limit) = limit {
        path.push_str(&format!("&limit={limit}"));
    }
    let (status, body) = call(stack, Method::GET, &path, token, None).await;
    if status != 200 {
        return (status, Vec::new(), None);
    }
    let cursors = body["events"]
        .as_array()
        .unwrap_or_else(|| panic!("no events in {body}"))
        .iter()
        .map(|e| e["cursor"].as_str().expect("a cursor").to_owned())
        .collect();
    (
        status,
        cursors,
        body["tail_cursor"].as_str().map(str::to_owned),
    )
}

/// The next durable event frame's cursor (ephemeral frames are skipped).
async fn next_cursor(socket: &mut Socket, deadline: Instant) -> String {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, socket.next()).await {
            Err(_) => panic!("no event frame in time"),
            Ok(Some(Ok(Message::Text(text)))) => {
                let event: Value = serde_json::from_str(&text).expect("a JSON frame");
                let cursor = event["cursor"].as_str().expect("a cursor").to_owned();
                if !cursor.is_empty() {
                    return cursor;
                }
            }
            Ok(Some(Ok(Message::Close(frame)))) => panic!("socket closed: {frame:?}"),
            Ok(Some(Ok(_))) => {}
            Ok(other) => panic!("socket ended: {other:?}"),
        }
    }
}

/// Reads frames until the event with cursor `fence` arrives; returns the
/// cursors that came before it.
async fn read_until(socket: &mut Socket, fence: &str) -> Vec<String> {
    let deadline = Instant::now() + WAIT;
    let mut got = Vec::new();
    loop {
        let cursor = next_cursor(socket, deadline).await;
        if cursor == fence {
            return got;
        }
        assert!(
            cursor.as_str() < fence,
            "event {cursor} arrived before the fence {fence}"
        );
        got.push(cursor);
    }
}

/// Someone who reads the log: a bot (bound to one workspace) or a human.
#[derive(Clone)]
struct Caller {
    name: String,
    user_id: String,
    token: String,
    /// A bot's workspace; `None` for humans.
    bot_of: Option<String>,
}

/// What the test did, and so who may see what.
#[derive(Default)]
struct Model {
    /// Current members of each workspace.
    members: HashMap<String, BTreeSet<String>>,
    dm_members: HashMap<String, BTreeSet<String>>,
    /// Top-level messages: (workspace, id, author, DM).
    roots: Vec<(String, String, String, Option<String>)>,
    deleted: HashSet<String>,
    channels: HashMap<String, Vec<String>>,
    dms: HashMap<String, Vec<String>>,
    /// Ids of events the API said it emitted.
    emitted: Vec<String>,
}

impl Model {
    fn is_member(&self, caller: &Caller, workspace: &str) -> bool {
        caller
            .bot_of
            .as_deref()
            .is_none_or(|home| home == workspace)
            && self.members[workspace].contains(&caller.user_id)
    }

    /// The reference filter: may `user` see this event? Decided from the
    /// model alone, never from the audience the server stored.
    fn visible(&self, event: &LoggedEvent, user: &str) -> bool {
        let payload = event.payload();
        if matches!(event.event_type.as_str(), "channel.read" | "dm.read") {
            return payload["user_id"] == user;
        }
        match payload["direct_conversation_id"].as_str() {
            Some(dm) => self
                .dm_members
                .get(dm)
                .unwrap_or_else(|| panic!("an event names DM {dm} the model does not know"))
                .contains(user),
            None => true,
        }
    }

    /// Exactly what pull or replay must return.
    fn expected<'a>(
        &self,
        log: &'a [LoggedEvent],
        caller: &Caller,
        workspace: &str,
        after: &str,
    ) -> Vec<&'a str> {
        log.iter()
            .filter(|e| e.workspace_id == workspace)
            .filter(|e| e.cursor.as_str() > after)
            .filter(|e| self.visible(e, &caller.user_id))
            .map(|e| e.cursor.as_str())
            .collect()
    }

    fn record_event(&mut self, answer: &Value) {
        for key in ["event", "events"] {
            match &answer[key] {
                Value::Object(event) => {
                    if let Some(id) = event.get("id").and_then(Value::as_str) {
                        self.emitted.push(id.to_owned());
                    }
                }
                Value::Array(events) => self.emitted.extend(
                    events
                        .iter()
                        .filter_map(|e| e["id"].as_str().map(str::to_owned)),
                ),
                _ => {}
            }
        }
    }
}

/// Two workspaces and the people and bots in them.
struct World {
    stack: TestStack,
    workspaces: [String; 2],
    /// Each workspace's owner: always a member, posts the fences.
    owners: [Caller; 2],
    callers: Vec<Caller>,
    /// A human who leaves workspace 0 and comes back.
    churner: Caller,
    model: Model,
}

async fn world() -> World {
    let stack = TestStack::start().await;
    let a = stack.bootstrap("alpha").await;
    let b = stack.bootstrap("beta").await;
    let workspaces = [a.workspace.id.clone(), b.workspace.id.clone()];
    let mut model = Model::default();
    let human = |name: &str, user: pb::User, token: String| Caller {
        name: name.into(),
        user_id: user.id,
        token,
        bot_of: None,
    };
    let owner_a = {
        let (user, token) = stack.sign_in(a.owner.email.as_deref().unwrap()).await;
        human("owner-a", user, token)
    };
    let owner_b = {
        let (user, token) = stack.sign_in(b.owner.email.as_deref().unwrap()).await;
        human("owner-b", user, token)
    };
    let (alice_user, alice) = stack
        .member_session(&workspaces[0], "alice", "member")
        .await;
    stack
        .identity()
        .await
        .add_member(pb::AddMemberRequest {
            workspace: workspaces[1].clone(),
            user_id: alice_user.id.clone(),
            role: "member".into(),
        })
        .await
        .expect("alice joins beta");
    let (bob_user, bob) = stack.member_session(&workspaces[0], "bob", "member").await;
    let (carol_user, carol) = stack
        .member_session(&workspaces[1], "carol", "member")
        .await;
    let (dave_user, dave) = stack.member_session(&workspaces[0], "dave", "member").await;
    let bot = |name: &str, user: pb::User, token: String, workspace: &str| Caller {
        name: name.into(),
        user_id: user.id,
        token,
        bot_of: Some(workspace.into()),
    };
    let (a1_user, a1) = stack.service_bot(&workspaces[0], "a1", "bot:write").await;
    let owned = stack
        .identity()
        .await
        .create_bot(pb::CreateBotRequest {
            workspace: workspaces[0].clone(),
            display_name: "Bob's bot".into(),
            handle: "bobs-bot".into(),
            owner_user_id: Some(bob_user.id.clone()),
            scopes: vec!["bot:write".into()],
            ..Default::default()
        })
        .await
        .expect("create a user-owned bot")
        .into_inner();
    let (b1_user, b1) = stack.service_bot(&workspaces[1], "b1", "bot:write").await;

    let callers = vec![
        owner_a.clone(),
        owner_b.clone(),
        human("alice", alice_user, alice),
        human("bob", bob_user, bob),
        human("carol", carol_user, carol),
        human("dave", dave_user.clone(), dave.clone()),
        bot("a1", a1_user, a1, &workspaces[0]),
        bot("bobs-bot", owned.bot.unwrap(), owned.token, &workspaces[0]),
        bot("b1", b1_user, b1, &workspaces[1]),
    ];
    for workspace in &workspaces {
        let members = stack
            .identity()
            .await
            .list_members(pb::ListMembersRequest {
                workspace: workspace.clone(),
            })
            .await
            .expect("list members")
            .into_inner()
            .members;
        model.members.insert(
            workspace.clone(),
            members
                .into_iter()
                .map(|m| m.user.expect("user").id)
                .collect(),
        );
        model.dms.insert(workspace.clone(), Vec::new());
    }
    model
        .channels
        .insert(workspaces[0].clone(), vec![a.general.id.clone()]);
    model
        .channels
        .insert(workspaces[1].clone(), vec![b.general.id.clone()]);
    let created = post_ok(
        &stack,
        &format!("/api/workspaces/{}/channels", workspaces[0]),
        &owner_a.token,
        json!({ "name": "random" }),
    )
    .await;
    model
        .channels
        .get_mut(&workspaces[0])
        .unwrap()
        .push(created["channel"]["id"].as_str().unwrap().to_owned());
    World {
        stack,
        workspaces,
        owners: [owner_a, owner_b],
        callers,
        churner: human("dave", dave_user, dave),
        model,
    }
}

impl World {
    fn owner_of(&self, workspace: &str) -> &Caller {
        if workspace == self.workspaces[0] {
            &self.owners[0]
        } else {
            &self.owners[1]
        }
    }

    /// A random caller who is a member of `workspace` now.
    fn member_of(&self, rng: &mut StdRng, workspace: &str) -> Caller {
        let eligible: Vec<&Caller> = self
            .callers
            .iter()
            .filter(|c| self.model.is_member(c, workspace))
            .collect();
        eligible[rng.random_range(0..eligible.len())].clone()
    }

    /// Posts a public message as the workspace's owner and returns its
    /// event's cursor: every member's socket receives it.
    async fn fence(&mut self, workspace: &str) -> String {
        let owner = self.owner_of(workspace).clone();
        let channel = self.model.channels[workspace][0].clone();
        let answer = post_ok(
            &self.stack,
            &format!("/api/channels/{channel}/messages"),
            &owner.token,
            json!({ "body": "fence" }),
        )
        .await;
        self.model.roots.push((
            workspace.into(),
            answer["message"]["id"].as_str().unwrap().into(),
            owner.user_id.clone(),
            None,
        ));
        let cursor = self.stack.cursor_of(&owner.token, &answer).await;
        assert!(cursor.starts_with("cur_"), "{answer}");
        cursor
    }

    /// One random action through the API (or identity, for membership).
    async fn act(&mut self, rng: &mut StdRng) {
        let workspace = self.workspaces[rng.random_range(0..2)].clone();
        let actor = self.member_of(rng, &workspace);
        let stack = &self.stack;
        match rng.random_range(0..100) {
            // A public message.
            0..30 => {
                let channels = &self.model.channels[&workspace];
                let channel = channels[rng.random_range(0..channels.len())].clone();
                let answer = post_ok(
                    stack,
                    &format!("/api/channels/{channel}/messages"),
                    &actor.token,
                    json!({ "body": "hello" }),
                )
                .await;
                self.model.record_event(&answer);
                self.model.roots.push((
                    workspace,
                    answer["message"]["id"].as_str().unwrap().into(),
                    actor.user_id,
                    None,
                ));
            }
            // A DM: find-or-create with one or two others, then a message.
            30..50 => {
                let others: Vec<String> = (0..rng.random_range(1..=2))
                    .map(|_| self.member_of(rng, &workspace).user_id)
                    .filter(|id| *id != actor.user_id)
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                if others.is_empty() {
                    return;
                }
                let opened = post_ok(
                    stack,
                    "/api/dms",
                    &actor.token,
                    json!({ "workspace_id": workspace, "member_ids": others }),
                )
                .await;
                let dm = opened["conversation"]["id"].as_str().unwrap().to_owned();
                let mut members: BTreeSet<String> = others.into_iter().collect();
                members.insert(actor.user_id.clone());
                let known = self.model.dm_members.insert(dm.clone(), members.clone());
                assert!(known.is_none_or(|k| k == members), "a DM keeps its members");
                if !self.model.dms[&workspace].contains(&dm) {
                    self.model.dms.get_mut(&workspace).unwrap().push(dm.clone());
                }
                let answer = post_ok(
                    stack,
                    &format!("/api/dms/{dm}/messages"),
                    &actor.token,
                    json!({ "body": "psst" }),
                )
                .await;
                self.model.record_event(&answer);
                self.model.roots.push((
                    workspace,
                    answer["message"]["id"].as_str().unwrap().into(),
                    actor.user_id,
                    Some(dm),
                ));
            }
            // A reply or a reaction to a message the actor can see.
            50..75 => {
                let seen: Vec<&(String, String, String, Option<String>)> = self
                    .model
                    .roots
                    .iter()
                    .filter(|(w, id, _, dm)| {
                        *w == workspace
                            && !self.model.deleted.contains(id)
                            && dm
                                .as_ref()
                                .is_none_or(|dm| self.model.dm_members[dm].contains(&actor.user_id))
                    })
                    .collect();
                if seen.is_empty() {
                    return;
                }
                let root = seen[rng.random_range(0..seen.len())].1.clone();
                let answer = if rng.random_bool(0.5) {
                    post_ok(
                        stack,
                        &format!("/api/messages/{root}/thread/replies"),
                        &actor.token,
                        json!({ "body": "a reply" }),
                    )
                    .await
                } else {
                    let emoji = ["👍", "🎉", "👀"][rng.random_range(0..3)];
                    post_ok(
                        stack,
                        &format!("/api/messages/{root}/reactions"),
                        &actor.token,
                        json!({ "emoji": emoji }),
                    )
                    .await
                };
                self.model.record_event(&answer);
            }
            // A read receipt, private to the reader.
            75..88 => {
                let dms: Vec<&String> = self.model.dms[&workspace]
                    .iter()
                    .filter(|dm| self.model.dm_members[*dm].contains(&actor.user_id))
                    .collect();
                let path = if !dms.is_empty() && rng.random_bool(0.5) {
                    format!("/api/dms/{}/read", dms[rng.random_range(0..dms.len())])
                } else {
                    let channels = &self.model.channels[&workspace];
                    format!(
                        "/api/channels/{}/read",
                        channels[rng.random_range(0..channels.len())]
                    )
                };
                let answer = post_ok(stack, &path, &actor.token, json!({ "seq": 1 })).await;
                self.model.record_event(&answer);
            }
            // Edit or delete one of the actor's own messages.
            88..95 => {
                let own: Vec<String> = self
                    .model
                    .roots
                    .iter()
                    .filter(|(w, id, author, _)| {
                        *w == workspace
                            && *author == actor.user_id
                            && !self.model.deleted.contains(id)
                    })
                    .map(|(_, id, _, _)| id.clone())
                    .collect();
                if own.is_empty() {
                    return;
                }
                let id = own[rng.random_range(0..own.len())].clone();
                let (method, body) = if rng.random_bool(0.7) {
                    (Method::PATCH, Some(json!({ "body": "edited" })))
                } else {
                    self.model.deleted.insert(id.clone());
                    (Method::DELETE, None)
                };
                let (status, answer) = call(
                    stack,
                    method,
                    &format!("/api/messages/{id}"),
                    &actor.token,
                    body,
                )
                .await;
                assert_eq!(status, 200, "{answer}");
                self.model.record_event(&answer);
            }
            // The churner leaves workspace 0, or comes back.
            _ => {
                let home = self.workspaces[0].clone();
                let user = self.churner.user_id.clone();
                let mut identity = stack.identity().await;
                if self.model.members[&home].contains(&user) {
                    identity
                        .remove_member(pb::RemoveMemberRequest {
                            workspace: home.clone(),
                            user_id: user.clone(),
                        })
                        .await
                        .expect("remove the churner");
                    self.model.members.get_mut(&home).unwrap().remove(&user);
                } else {
                    identity
                        .add_member(pb::AddMemberRequest {
                            workspace: home.clone(),
                            user_id: user.clone(),
                            role: "member".into(),
                        })
                        .await
                        .expect("add the churner back");
                    self.model.members.get_mut(&home).unwrap().insert(user);
                }
            }
        }
    }

    /// The log, once every event the API reported is in it.
    async fn settled_log(&self) -> Vec<LoggedEvent> {
        let deadline = Instant::now() + WAIT;
        loop {
            let log = self.stack.logged_events().await;
            let ids: HashSet<&str> = log.iter().map(|e| e.id.as_str()).collect();
            let missing = self
                .model
                .emitted
                .iter()
                .filter(|id| !ids.contains(id.as_str()))
                .count();
            if missing == 0 {
                return log;
            }
            assert!(
                Instant::now() < deadline,
                "{missing} events never reached the log"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// How many random checks one history made, for the summary line.
#[derive(Default, Debug)]
struct Checked {
    pulls: usize,
    pages: usize,
    refusals: usize,
    replays: usize,
    live_sockets: usize,
    live_events: usize,
}

async fn check_history(seed: u64, actions: usize, queries: usize, replays: usize) -> Checked {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut world = world().await;
    let mut checked = Checked::default();
    let context = |what: &str| format!("seed {seed}: {what}");

    // Live sockets for callers whose membership never changes, from their
    // tail: they must receive exactly the visible events from then on.
    let mut live = Vec::new();
    for caller in world.callers.clone() {
        if caller.user_id == world.churner.user_id {
            continue;
        }
        for workspace in world.workspaces.clone() {
            if !world.model.is_member(&caller, &workspace) {
                continue;
            }
            let start = tail_cursor(&world.stack.http_url, &caller.token, &workspace).await;
            let query = format!("workspace_id={workspace}&after_cursor={start}");
            let socket = open_socket(&world.stack.http_url, &query, &caller.token).await;
            live.push((caller.clone(), workspace, start, socket));
        }
    }

    for _ in 0..actions {
        world.act(&mut rng).await;
    }
    let log = world.settled_log().await;
    assert!(
        !world.model.emitted.is_empty(),
        "{}",
        context("the history emitted events")
    );

    // Pull: one page, then every page to the end.
    for _ in 0..queries {
        let caller = world.callers[rng.random_range(0..world.callers.len())].clone();
        let workspace = world.workspaces[rng.random_range(0..2)].clone();
        let after = match rng.random_range(0..4) {
            0 => String::new(),
            1 => log.last().unwrap().cursor.clone(),
            _ => log[rng.random_range(0..log.len())].cursor.clone(),
        };
        let limit = [None, Some(1), Some(3), Some(5), Some(20), Some(500)][rng.random_range(0..6)];
        let (status, got, tail) =
            pull(&world.stack, &caller.token, &workspace, &after, limit).await;
        if !world.model.is_member(&caller, &workspace) {
            assert_eq!(
                status,
                403,
                "{}",
                context(&format!("{} outside {workspace}", caller.name))
            );
            checked.refusals += 1;
            continue;
        }
        assert_eq!(status, 200, "{}", context(&caller.name));
        let all = world.model.expected(&log, &caller, &workspace, &after);
        let page_size = limit.unwrap_or(200) as usize;
        let expected: Vec<&str> = all.iter().take(page_size).copied().collect();
        assert_eq!(
            got,
            expected,
            "{}",
            context(&format!(
                "{} pulls {workspace} after {after:?} limit {limit:?}",
                caller.name
            ))
        );
        let newest = world
            .model
            .expected(&log, &caller, &workspace, "")
            .last()
            .copied();
        assert_eq!(
            tail.as_deref(),
            Some(newest.unwrap_or("")),
            "{}",
            context(&format!("{}'s tail_cursor in {workspace}", caller.name))
        );
        checked.pulls += 1;

        // Paging to an empty page ends, repeats nothing and misses nothing.
        let mut cursor = after.clone();
        let mut paged: Vec<String> = Vec::new();
        let mut pages = 0;
        loop {
            let (_, page, _) = pull(&world.stack, &caller.token, &workspace, &cursor, limit).await;
            pages += 1;
            assert!(
                pages <= all.len() / page_size + 2,
                "{}",
                context("paging ends")
            );
            let Some(last) = page.last().cloned() else {
                break;
            };
            assert!(
                page.iter().all(|c| *c > cursor),
                "{}",
                context("a page never repeats a cursor of the previous page")
            );
            paged.extend(page);
            cursor = last;
        }
        assert_eq!(paged, all, "{}", context("pages add up to the whole"));
        checked.pages += pages;
    }

    // WebSocket replay from a random cursor (or none), fenced by a public
    // post that must come next.
    for _ in 0..replays {
        let workspace = world.workspaces[rng.random_range(0..2)].clone();
        let caller = world.member_of(&mut rng, &workspace);
        let log = world.stack.logged_events().await;
        let after = if rng.random_bool(0.3) {
            String::new()
        } else {
            log[rng.random_range(0..log.len())].cursor.clone()
        };
        let expected: Vec<String> = world
            .model
            .expected(&log, &caller, &workspace, &after)
            .into_iter()
            .map(str::to_owned)
            .collect();
        let query = if after.is_empty() {
            format!("workspace_id={workspace}")
        } else {
            format!("workspace_id={workspace}&after_cursor={after}")
        };
        let mut socket = open_socket(&world.stack.http_url, &query, &caller.token).await;
        let fence = world.fence(&workspace).await;
        let got = read_until(&mut socket, &fence).await;
        assert_eq!(
            got,
            expected,
            "{}",
            context(&format!(
                "{} replays {workspace} after {after:?}",
                caller.name
            ))
        );
        let _ = socket.close(None).await;
        checked.replays += 1;
    }

    // Live delivery: everything each socket received since its start.
    let fences = [
        world.fence(&world.workspaces[0].clone()).await,
        world.fence(&world.workspaces[1].clone()).await,
    ];
    let log = world.stack.logged_events().await;
    for (caller, workspace, start, mut socket) in live {
        let fence = if workspace == world.workspaces[0] {
            &fences[0]
        } else {
            &fences[1]
        };
        let got = read_until(&mut socket, fence).await;
        let expected: Vec<&str> = world
            .model
            .expected(&log, &caller, &workspace, &start)
            .into_iter()
            .filter(|c| *c < fence.as_str())
            .collect();
        assert_eq!(
            got,
            expected,
            "{}",
            context(&format!("{} live in {workspace}", caller.name))
        );
        checked.live_sockets += 1;
        checked.live_events += got.len();
    }
    world.stack.stop().await;
    checked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_replay_and_live_delivery_match_the_model() {
    // Two fixed histories, and a new one each run (its seed is printed;
    // CLICKCLACK_MODEL_SEED replays one).
    let seeds: Vec<u64> = match std::env::var("CLICKCLACK_MODEL_SEED") {
        Ok(seed) => vec![seed.parse().expect("CLICKCLACK_MODEL_SEED is a number")],
        Err(_) => vec![1, 2, rand::rng().random()],
    };
    for seed in seeds {
        let started = Instant::now();
        let checked = check_history(seed, 150, 60, 10).await;
        eprintln!(
            "model history seed {seed}: {checked:?} in {:?}",
            started.elapsed()
        );
        assert!(checked.pulls > 0 && checked.refusals > 0 && checked.live_events > 0);
    }
}

// ---- Named regressions --------------------------------------------------

/// A workspace where `reader` has private events: DMs and read receipts.
async fn private_history(stack: &TestStack, workspace: &str, reader: &str, channel: &str) {
    let other = stack.add_human(workspace, "someone").await;
    let dm = post_ok(
        stack,
        "/api/dms",
        reader,
        json!({ "workspace_id": workspace, "member_ids": [other.id] }),
    )
    .await;
    let dm = dm["conversation"]["id"].as_str().unwrap().to_owned();
    for n in 0..6 {
        post_ok(
            stack,
            &format!("/api/dms/{dm}/messages"),
            reader,
            json!({ "body": format!("dm {n}") }),
        )
        .await;
        post_ok(
            stack,
            &format!("/api/dms/{dm}/read"),
            reader,
            json!({ "seq": n }),
        )
        .await;
        post_ok(
            stack,
            &format!("/api/channels/{channel}/read"),
            reader,
            json!({ "seq": 0 }),
        )
        .await;
        post_ok(
            stack,
            &format!("/api/channels/{channel}/messages"),
            reader,
            json!({ "body": format!("public {n}") }),
        )
        .await;
    }
    // Tests read the tail next: every event above must be in the log.
    stack.events_settled().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulling_after_the_tail_returns_nothing_even_with_private_events() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.as_str();
    let (_, bot) = stack.service_bot(ws, "bot", "bot:write").await;
    private_history(&stack, ws, &bot, &boot.general.id).await;

    let (_, all, tail) = pull(&stack, &bot, ws, "", Some(500)).await;
    let tail = tail.unwrap();
    assert_eq!(
        all.last(),
        Some(&tail),
        "the tail is the newest visible event"
    );
    let (status, after_tail, _) = pull(&stack, &bot, ws, &tail, None).await;
    assert_eq!(status, 200);
    assert_eq!(after_tail, Vec::<String>::new(), "nothing follows the tail");
    // Every private event of the caller is there once, in order.
    let log = stack.logged_events().await;
    let private = log.iter().filter(|e| !e.audience.is_empty()).count();
    assert!(private >= 18, "the history has private events ({private})");
    let mut sorted = all.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, all, "ascending, no repeats");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_with_a_small_limit_ends_and_never_repeats_a_cursor() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.as_str();
    let (_, bot) = stack.service_bot(ws, "bot", "bot:write").await;
    private_history(&stack, ws, &bot, &boot.general.id).await;

    let (_, all, _) = pull(&stack, &bot, ws, "", Some(500)).await;
    let mut seen = HashSet::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let (_, page, _) = pull(&stack, &bot, ws, &cursor, Some(5)).await;
        pages += 1;
        assert!(pages <= all.len() / 5 + 2, "a backlog drain ends");
        let Some(last) = page.last().cloned() else {
            break;
        };
        for cursor in page {
            assert!(seen.insert(cursor.clone()), "{cursor} came twice");
        }
        cursor = last;
    }
    assert_eq!(seen.len(), all.len());
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_human_in_two_workspaces_reads_only_the_one_asked_for() {
    let stack = TestStack::start().await;
    let a = stack.bootstrap("alpha").await;
    let b = stack.bootstrap("beta").await;
    let (human, session) = stack.member_session(&a.workspace.id, "ada", "member").await;
    stack
        .identity()
        .await
        .add_member(pb::AddMemberRequest {
            workspace: b.workspace.id.clone(),
            user_id: human.id.clone(),
            role: "member".into(),
        })
        .await
        .unwrap();
    private_history(&stack, &a.workspace.id, &session, &a.general.id).await;

    let (status, in_b, tail) = pull(&stack, &session, &b.workspace.id, "", Some(500)).await;
    assert_eq!(status, 200);
    let log = stack.logged_events().await;
    let of_b: HashSet<&str> = log
        .iter()
        .filter(|e| e.workspace_id == b.workspace.id)
        .map(|e| e.cursor.as_str())
        .collect();
    assert!(!in_b.is_empty());
    assert!(
        in_b.iter().all(|c| of_b.contains(c.as_str())),
        "only beta's events when asking for beta"
    );
    let tail = tail.unwrap();
    assert!(
        of_b.contains(tail.as_str()),
        "beta's tail is one of beta's events"
    );
    assert_eq!(in_b.last(), Some(&tail));
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resuming_a_socket_does_not_replay_private_events_again() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.as_str();
    let (_, bot) = stack.service_bot(ws, "bot", "bot:write").await;
    private_history(&stack, ws, &bot, &boot.general.id).await;
    let mut tail = tail_cursor(&stack.http_url, &bot, ws).await;

    for _ in 0..3 {
        let mut socket = open_socket(
            &stack.http_url,
            &format!("workspace_id={ws}&after_cursor={tail}"),
            &bot,
        )
        .await;
        let fence = post_ok(
            &stack,
            &format!("/api/channels/{}/messages", boot.general.id),
            &bot,
            json!({ "body": "fence" }),
        )
        .await;
        let fence = stack.cursor_of(&bot, &fence).await;
        assert_eq!(read_until(&mut socket, &fence).await, Vec::<String>::new());
        tail = fence;
    }
    stack.stop().await;
}
