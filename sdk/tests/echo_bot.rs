//! The SDK against the real stack: the echo bot answers each message once,
//! in its thread, across gateway restarts and bot restarts, and never
//! answers itself.

use clickclack_proto::identity as pb;
use clickclack_sdk::{
    Bot, BotHandle, Client, Error, Event, MemoryCursorStore, Message, echo, event_types,
};
use clickclack_testkit::{TestStack, capture_logs};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

const WAIT: Duration = Duration::from_secs(20);

/// A workspace with a `general` channel, the echo bot's token and a human
/// member who posts.
struct World {
    stack: TestStack,
    workspace_id: String,
    channel_id: String,
    bot_id: String,
    bot_token: String,
    bot: Client,
    poster: Client,
    /// The poster's credential, to reach other replicas as the same person.
    poster_token: String,
}

async fn world(slug: &str) -> World {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap(slug).await;
    let workspace_id = boot.workspace.id.clone();
    let (bot_user, bot_token) = stack.service_bot(&workspace_id, "echo", "bot:write").await;
    let bot = Client::new(&stack.http_url, bot_token.clone()).unwrap();
    let poster_token = poster_token(&stack, &workspace_id).await;
    let poster = Client::new(&stack.http_url, poster_token.clone()).unwrap();
    World {
        workspace_id,
        channel_id: boot.general.id.clone(),
        bot_id: bot_user.id,
        bot_token,
        bot,
        poster,
        poster_token,
        stack,
    }
}

/// The bearer token of the human who talks to the bot: a plain member
/// signed in through the magic-link flow (an `sst_` session token).
async fn poster_token(stack: &TestStack, workspace_id: &str) -> String {
    let (_, token) = stack.member_session(workspace_id, "poster", "member").await;
    token
}

/// A running echo bot, recording every event its handler was given.
struct RunningBot {
    handle: BotHandle,
    task: JoinHandle<Result<(), Error>>,
    store: MemoryCursorStore,
    seen: Arc<Mutex<Vec<Event>>>,
}

fn start_bot(client: &Client, store: MemoryCursorStore) -> RunningBot {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let recorded = seen.clone();
    let bot = Bot::builder(client.clone())
        .cursor_store(store.clone())
        // Small delays: the tests restart things and should not wait long.
        .reconnect_backoff(Duration::from_millis(50), Duration::from_millis(500))
        .handler(move |context, event| {
            recorded.lock().unwrap().push(event.clone());
            echo::reply_in_thread(context, event)
        })
        .build()
        .unwrap();
    let handle = bot.handle();
    RunningBot {
        handle,
        task: tokio::spawn(bot.run()),
        store,
        seen,
    }
}

impl RunningBot {
    async fn connected(&self) {
        let mut status = self.handle.watch_status();
        tokio::time::timeout(WAIT, status.wait_for(|s| s.connected))
            .await
            .expect("the bot connects")
            .unwrap();
    }

    async fn stop(self) {
        self.handle.shutdown();
        let outcome = tokio::time::timeout(WAIT, self.task)
            .await
            .expect("the bot stops promptly")
            .expect("the bot task does not panic");
        outcome.expect("a requested shutdown is Ok");
    }

    /// How often the handler was given `message.created` /
    /// `thread.reply_created` for each message id.
    fn deliveries(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for event in self.seen.lock().unwrap().iter() {
            if event.is_new_message() {
                *counts
                    .entry(event.message_id().unwrap().to_owned())
                    .or_default() += 1;
            }
        }
        counts
    }

    fn durable_event_ids(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|e| !e.is_ephemeral())
            .map(|e| e.id.clone())
            .collect()
    }
}

/// Polls `check` until it yields a value, failing after [`WAIT`].
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until every root in `roots` has at least one reply and the bot has
/// caught up; see [`settled_counts`].
async fn settled(
    world: &World,
    bot: &RunningBot,
    roots: &[&Message],
) -> HashMap<String, Vec<Message>> {
    let expected: Vec<(&Message, usize)> = roots.iter().map(|root| (*root, 1)).collect();
    settled_counts(world, bot, &expected).await
}

/// Waits until each root has at least its expected number of replies (so
/// the events the test caused have been handled) and the bot's cursor is
/// the tail of the log visible to it (so nothing it could still do is
/// pending). Returns each root's replies, for exact assertions.
async fn settled_counts(
    world: &World,
    bot: &RunningBot,
    expected: &[(&Message, usize)],
) -> HashMap<String, Vec<Message>> {
    eventually("the bot to answer and catch up", || async {
        let mut replies = HashMap::new();
        for (root, count) in expected {
            let thread = world.bot.thread(&root.id).await.unwrap();
            if thread.replies.len() < *count {
                return None;
            }
            replies.insert(root.id.clone(), thread.replies);
        }
        let tail = world
            .bot
            .events(&world.workspace_id, None, Some(1), true)
            .await
            .unwrap()
            .tail_cursor
            .unwrap();
        (bot.store.get() == Some(tail)).then_some(replies)
    })
    .await
}

async fn say(client: &Client, channel_id: &str, text: &str) -> Message {
    client
        .post_message(channel_id, text, None)
        .await
        .unwrap()
        .message
}

/// `replies` is exactly one echo of `source` by the bot.
fn assert_one_echo(world: &World, source: &Message, replies: &[Message]) {
    assert_eq!(
        replies.len(),
        1,
        "exactly one reply to {:?}: {replies:#?}",
        source.body
    );
    let reply = &replies[0];
    assert_eq!(reply.body, format!("echo: {}", source.body));
    assert_eq!(reply.author_id, world.bot_id);
    assert_eq!(reply.thread_root_id, source.root_id());
    assert_eq!(
        reply.nonce.as_deref(),
        Some(echo::nonce_for(&source.id).as_str())
    );
}

fn assert_no_duplicates(ids: &[String]) {
    let mut sorted = ids.to_vec();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        sorted.len(),
        ids.len(),
        "an event was handled twice: {ids:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_a_new_message_in_its_thread_exactly_once_and_skips_history() {
    let world = world("echo-once").await;
    let history = say(&world.poster, &world.channel_id, "said before the bot").await;

    let bot = start_bot(&world.bot, MemoryCursorStore::new());
    bot.connected().await;
    assert!(bot.store.get().is_some(), "the tail cursor was stored");

    let hello = say(&world.poster, &world.channel_id, "hello bot").await;
    let replies = settled(&world, &bot, &[&hello]).await;
    assert_one_echo(&world, &hello, &replies[&hello.id]);

    // A reply in the thread is echoed in the same thread: the thread then
    // holds the first echo, the follow-up and its echo.
    let follow_up = world
        .poster
        .reply_in_thread(&hello.id, "and a follow-up", None)
        .await
        .unwrap()
        .message;
    let replies = settled_counts(&world, &bot, &[(&hello, 3)]).await;
    assert_eq!(replies[&hello.id].len(), 3, "{:#?}", replies[&hello.id]);
    let echoes: Vec<&Message> = replies[&hello.id]
        .iter()
        .filter(|m| m.author_id == world.bot_id)
        .collect();
    assert_eq!(echoes.len(), 2, "{:#?}", replies[&hello.id]);
    assert_eq!(echoes[1].body, "echo: and a follow-up");
    assert_eq!(
        echoes[1].nonce.as_deref(),
        Some(echo::nonce_for(&follow_up.id).as_str())
    );

    assert!(
        world
            .bot
            .thread(&history.id)
            .await
            .unwrap()
            .replies
            .is_empty(),
        "history is not answered"
    );
    let deliveries = bot.deliveries();
    assert_eq!(deliveries.get(&history.id), None);
    assert_eq!(deliveries[&hello.id], 1);
    assert_eq!(deliveries[&follow_up.id], 1);
    assert_no_duplicates(&bot.durable_event_ids());
    assert_eq!(bot.handle.status().failed, 0);
    bot.stop().await;
    world.stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_a_gateway_restart_without_missing_or_repeating() {
    // Every log line of the run (reconnect warnings included) is checked
    // for the tokens at the end.
    let logs = capture_logs();
    let mut world = world("echo-restart").await;
    let bot = start_bot(&world.bot, MemoryCursorStore::new());
    bot.connected().await;

    let before = say(&world.poster, &world.channel_id, "before the restart").await;
    settled(&world, &bot, &[&before]).await;

    // The gateway goes away; the bot's socket is cut and it keeps retrying.
    world.stack.stop_gateway().await;
    let mut status = bot.handle.watch_status();
    tokio::time::timeout(WAIT, status.wait_for(|s| !s.connected))
        .await
        .expect("the bot notices the gateway is gone")
        .unwrap();

    // Meanwhile people keep talking through another replica.
    let replica = world.stack.start_replica().await;
    let poster_via_replica = Client::new(&replica.http_url(), world.poster_token.clone()).unwrap();
    let during = [
        say(&poster_via_replica, &world.channel_id, "while down 1").await,
        say(&poster_via_replica, &world.channel_id, "while down 2").await,
    ];

    world.stack.start_gateway().await;
    tokio::time::timeout(WAIT, status.wait_for(|s| s.connected && s.connections >= 2))
        .await
        .expect("the bot reconnects to the restarted gateway")
        .unwrap();
    let after = say(&world.poster, &world.channel_id, "after the restart").await;

    let all = [&before, &during[0], &during[1], &after];
    let replies = settled(&world, &bot, &all).await;
    for source in all {
        assert_one_echo(&world, source, &replies[&source.id]);
    }
    let deliveries = bot.deliveries();
    for source in all {
        assert_eq!(deliveries[&source.id], 1, "{:?} handled once", source.body);
    }
    assert_no_duplicates(&bot.durable_event_ids());

    bot.stop().await;
    replica.stop().await;
    world.stack.stop().await;
    let logged = logs.contents();
    assert!(
        logged.contains("realtime connection lost"),
        "the outage was logged"
    );
    for token in [&world.bot_token, &world.poster_token] {
        assert!(!logged.contains(token.as_str()), "a token was logged");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_answers_itself() {
    let world = world("echo-self").await;
    let bot = start_bot(&world.bot, MemoryCursorStore::new());
    bot.connected().await;

    // The bot's own top-level message, and then someone else's.
    let own = say(&world.bot, &world.channel_id, "the bot speaks").await;
    let other = say(&world.poster, &world.channel_id, "someone else").await;

    // Settled: the bot handled the whole log, its own echo events included.
    let replies = settled(&world, &bot, &[&other]).await;
    assert_one_echo(&world, &other, &replies[&other.id]);
    assert!(
        world.bot.thread(&own.id).await.unwrap().replies.is_empty(),
        "no echo of the bot's own message"
    );
    // Its own messages and replies never reached the handler.
    let own_events: Vec<Event> = bot
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.is_new_message() && e.author_id() == Some(world.bot_id.as_str()))
        .cloned()
        .collect();
    assert!(own_events.is_empty(), "{own_events:#?}");
    assert_eq!(bot.deliveries().len(), 1, "{:?}", bot.deliveries());
    bot.stop().await;
    world.stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_bot_resumes_from_its_cursor() {
    let world = world("echo-resume").await;
    let store = MemoryCursorStore::new();
    let bot = start_bot(&world.bot, store.clone());
    bot.connected().await;
    let first = say(&world.poster, &world.channel_id, "first").await;
    settled(&world, &bot, &[&first]).await;
    bot.stop().await;

    // Posted while no bot runs: the next run back-fills them from its cursor.
    let missed = [
        say(&world.poster, &world.channel_id, "missed 1").await,
        say(&world.poster, &world.channel_id, "missed 2").await,
    ];
    let bot = start_bot(&world.bot, store);
    let all = [&first, &missed[0], &missed[1]];
    let replies = settled(&world, &bot, &all).await;
    for source in all {
        assert_one_echo(&world, source, &replies[&source.id]);
    }
    let deliveries = bot.deliveries();
    assert_eq!(deliveries.get(&first.id), None, "not handed over again");
    assert_eq!(deliveries[&missed[0].id], 1);
    assert_eq!(deliveries[&missed[1].id], 1);
    bot.stop().await;
    world.stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivered_event_does_not_post_a_second_echo() {
    let world = world("echo-nonce").await;
    let hello = say(&world.poster, &world.channel_id, "say it once").await;
    // A post answers before its event is in the log (the relay delivers it
    // right after): wait for it there.
    let deadline = Instant::now() + WAIT;
    let created = loop {
        let history = world
            .bot
            .events(&world.workspace_id, None, None, false)
            .await
            .unwrap();
        let found = history
            .events
            .into_iter()
            .find(|e| e.kind == event_types::MESSAGE_CREATED && e.message_id() == Some(&hello.id));
        if let Some(event) = found {
            break event;
        }
        assert!(
            Instant::now() < deadline,
            "the message.created event never reached the log"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };

    // Hand the same event to the handler twice, as a crash between handling
    // and saving the cursor would.
    let me = world.bot.me().await.unwrap();
    let bot = Bot::builder(world.bot.clone())
        .cursor_store(MemoryCursorStore::new())
        .handler(echo::reply_in_thread)
        .build()
        .unwrap();
    let context = clickclack_sdk::Context {
        client: world.bot.clone(),
        me,
        workspace_id: world.workspace_id.clone(),
        handle: bot.handle(),
    };
    echo::reply_in_thread(context.clone(), created.clone())
        .await
        .unwrap();
    echo::reply_in_thread(context, created).await.unwrap();
    let thread = world.bot.thread(&hello.id).await.unwrap();
    assert_one_echo(&world, &hello, &thread.replies);
    world.stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_the_bot_stops_the_runner_with_a_clear_error() {
    let world = world("echo-removed").await;
    let bot = start_bot(&world.bot, MemoryCursorStore::new());
    bot.connected().await;

    world
        .stack
        .identity()
        .await
        .remove_member(pb::RemoveMemberRequest {
            workspace: world.workspace_id.clone(),
            user_id: world.bot_id.clone(),
        })
        .await
        .unwrap();
    let outcome = tokio::time::timeout(WAIT, bot.task)
        .await
        .expect("the runner stops by itself")
        .unwrap();
    let error = outcome.expect_err("losing access is an error");
    assert!(error.is_access_denied(), "{error:?}");
    world.stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_reports_api_errors_and_pages() {
    let world = world("sdk-client").await;
    let me = world.bot.me().await.unwrap();
    assert_eq!(me.id, world.bot_id);
    assert!(me.is_bot());
    let workspaces = world.bot.workspaces().await.unwrap();
    assert_eq!(workspaces.len(), 1);
    assert_eq!(workspaces[0].id, world.workspace_id);
    let channels = world.bot.channels(&world.workspace_id).await.unwrap();
    assert!(channels.iter().any(|c| c.id == world.channel_id));

    let first = world
        .poster
        .post_message(&world.channel_id, "one", Some("nonce-1"))
        .await
        .unwrap();
    assert!(first.created);
    assert_eq!(first.events.len(), 1);
    let again = world
        .poster
        .post_message(&world.channel_id, "one", Some("nonce-1"))
        .await
        .unwrap();
    assert!(!again.created, "a nonce replay is not a new post");
    assert_eq!(again.message.id, first.message.id);
    assert!(again.events.is_empty());
    say(&world.poster, &world.channel_id, "two").await;

    let seq = first.message.channel_seq.unwrap();
    let page = world
        .bot
        .list_messages(
            &world.channel_id,
            &clickclack_sdk::MessageQuery::after(seq - 1).limit(1),
        )
        .await
        .unwrap();
    assert_eq!(page.messages.len(), 1);
    assert_eq!(page.messages[0].id, first.message.id);
    assert!(page.has_newer);
    assert_eq!(
        world.bot.get_message(&first.message.id).await.unwrap().body,
        "one"
    );

    let missing = world.bot.get_message("msg_doesnotexist").await.unwrap_err();
    match &missing {
        Error::Api {
            status, message, ..
        } => {
            assert_eq!(*status, 404);
            assert!(!message.is_empty());
        }
        other => panic!("expected an API error, got {other:?}"),
    }
    let bad = Client::new(&world.stack.http_url, "ccb_not-a-real-token")
        .unwrap()
        .me()
        .await
        .unwrap_err();
    assert_eq!(bad.status(), Some(401));
    assert!(!bad.to_string().contains("ccb_not-a-real-token"));
    world.stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cursor_the_server_does_not_know_restarts_from_the_tail() {
    let world = world("echo-lost-cursor").await;
    let history = say(&world.poster, &world.channel_id, "old news").await;
    let bot = start_bot(
        &world.bot,
        MemoryCursorStore::with_cursor("cur_99999999999999999999"),
    );
    bot.connected().await;
    let hello = say(&world.poster, &world.channel_id, "fresh").await;
    let replies = settled(&world, &bot, &[&hello]).await;
    assert_one_echo(&world, &hello, &replies[&hello.id]);
    assert!(
        world
            .bot
            .thread(&history.id)
            .await
            .unwrap()
            .replies
            .is_empty(),
        "starting over from the tail does not answer history"
    );
    bot.stop().await;
    world.stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_handler_is_retried_then_the_event_is_skipped() {
    let world = world("echo-poison").await;
    let attempts: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let counted = attempts.clone();
    let store = MemoryCursorStore::new();
    let bot = Bot::builder(world.bot.clone())
        .cursor_store(store.clone())
        .handler_retries(3, Duration::from_millis(10), Duration::from_millis(50))
        .handler(move |context, event| {
            let counted = counted.clone();
            async move {
                let Some(id) = event.message_id().filter(|_| event.is_new_message()) else {
                    return Ok(());
                };
                *counted.lock().unwrap().entry(id.to_owned()).or_default() += 1;
                let message = context.client.get_message(id).await?;
                if message.body == "poison" {
                    return Err("this message always fails".into());
                }
                echo::reply_in_thread(context, event).await
            }
        })
        .build()
        .unwrap();
    let handle = bot.handle();
    let task = tokio::spawn(bot.run());
    let running = RunningBot {
        handle,
        task,
        store,
        seen: Arc::default(),
    };
    running.connected().await;

    let poison = say(&world.poster, &world.channel_id, "poison").await;
    let good = say(&world.poster, &world.channel_id, "good").await;
    let replies = settled(&world, &running, &[&good]).await;
    assert_one_echo(&world, &good, &replies[&good.id]);
    let attempts = attempts.lock().unwrap().clone();
    assert_eq!(attempts[&poison.id], 3, "three attempts, then skipped");
    assert_eq!(attempts[&good.id], 1);
    assert!(
        world
            .bot
            .thread(&poison.id)
            .await
            .unwrap()
            .replies
            .is_empty()
    );
    let status = running.handle.status();
    assert_eq!(status.failed, 1);
    running.stop().await;
    world.stack.stop().await;
}
