//! The SDK over TLS: the real stack behind a TLS-terminating proxy that
//! speaks nothing but TLS, with a certificate from a CA made here. With that
//! CA trusted the SDK talks https and wss; without it, it fails with a clear
//! certificate error.

use clickclack_sdk::{Bot, BotHandle, Client, Error, Event, MemoryCursorStore, echo};
use clickclack_testkit::{TestStack, capture_logs};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

const WAIT: Duration = Duration::from_secs(20);

/// A test CA and a server certificate it issued for `localhost` and
/// `127.0.0.1`.
struct Pki {
    ca_pem: String,
    server: Arc<ServerConfig>,
}

fn pki() -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "ClickClack test CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();

    let server_key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params.signed_by(&server_key, &*ca).unwrap();

    let chain: Vec<CertificateDer<'static>> = vec![cert.der().clone()];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let server = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    Pki {
        ca_pem: ca.pem(),
        server: Arc::new(server),
    }
}

/// Terminates TLS on a local port and forwards the plaintext to the
/// gateway. It speaks only TLS: a connection that does not complete a
/// handshake is dropped. The first bytes of every connection (the request
/// line) are recorded, to show which requests came over TLS.
struct TlsProxy {
    /// `https://localhost:PORT`
    url: String,
    port: u16,
    handshakes: Arc<AtomicUsize>,
    first_lines: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl TlsProxy {
    async fn start(upstream: SocketAddr, config: Arc<ServerConfig>) -> TlsProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let acceptor = TlsAcceptor::from(config);
        let handshakes = Arc::new(AtomicUsize::new(0));
        let first_lines = Arc::new(Mutex::new(Vec::new()));
        let (counted, recorded) = (handshakes.clone(), first_lines.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let (acceptor, counted, recorded) =
                    (acceptor.clone(), counted.clone(), recorded.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    counted.fetch_add(1, Ordering::SeqCst);
                    let mut first = vec![0u8; 16 * 1024];
                    let read = match tls.read(&mut first).await {
                        Ok(0) | Err(_) => return,
                        Ok(read) => read,
                    };
                    let text = String::from_utf8_lossy(&first[..read]);
                    let line = text.lines().next().unwrap_or_default().to_owned();
                    recorded.lock().unwrap().push(line);
                    let Ok(mut gateway) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    if gateway.write_all(&first[..read]).await.is_err() {
                        return;
                    }
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut gateway).await;
                });
            }
        });
        TlsProxy {
            url: format!("https://localhost:{port}"),
            port,
            handshakes,
            first_lines,
            task,
        }
    }

    fn first_lines(&self) -> Vec<String> {
        self.first_lines.lock().unwrap().clone()
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The stack, a workspace, a bot token and a member's token, and the proxy
/// in front of the gateway.
struct World {
    stack: TestStack,
    pki: Pki,
    proxy: TlsProxy,
    channel_id: String,
    bot_id: String,
    bot_token: String,
    poster_token: String,
}

async fn world(slug: &str) -> World {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap(slug).await;
    let workspace_id = boot.workspace.id.clone();
    let (bot, bot_token) = stack.service_bot(&workspace_id, "echo", "bot:write").await;
    let (_, poster_token) = stack
        .member_session(&workspace_id, "poster", "member")
        .await;
    let gateway = url::Url::parse(&stack.http_url).unwrap();
    let upstream = SocketAddr::new(
        gateway.host_str().unwrap().parse().unwrap(),
        gateway.port().unwrap(),
    );
    let pki = pki();
    let proxy = TlsProxy::start(upstream, pki.server.clone()).await;
    World {
        stack,
        pki,
        proxy,
        channel_id: boot.general.id.clone(),
        bot_id: bot.id,
        bot_token,
        poster_token,
    }
}

fn start_bot(
    client: Client,
    seen: Arc<Mutex<Vec<Event>>>,
) -> (BotHandle, JoinHandle<Result<(), Error>>) {
    let bot = Bot::builder(client)
        .cursor_store(MemoryCursorStore::new())
        .reconnect_backoff(Duration::from_millis(50), Duration::from_millis(500))
        .handler(move |context, event| {
            seen.lock().unwrap().push(event.clone());
            echo::reply_in_thread(context, event)
        })
        .build()
        .unwrap();
    let handle = bot.handle();
    (handle, tokio::spawn(bot.run()))
}

async fn stop_bot(handle: BotHandle, task: JoinHandle<Result<(), Error>>) {
    handle.shutdown();
    tokio::time::timeout(WAIT, task)
        .await
        .expect("the bot stops promptly")
        .expect("the bot task does not panic")
        .expect("a requested shutdown is Ok");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_and_wss_work_with_the_extra_ca() {
    let world = world("tls-ok").await;
    let ca_file = std::env::temp_dir().join(format!("clickclack-test-ca-{}.pem", world.proxy.port));
    std::fs::write(&ca_file, &world.pki.ca_pem).unwrap();

    // The bot trusts the CA from a file (as CLICKCLACK_CA_CERT gives it),
    // the poster from PEM text.
    let bot = Client::builder(&world.proxy.url, world.bot_token.clone())
        .extra_root_ca_file(&ca_file)
        .build()
        .unwrap();
    let poster = Client::builder(&world.proxy.url, world.poster_token.clone())
        .extra_root_ca_pem(world.pki.ca_pem.clone())
        .build()
        .unwrap();

    let me = bot.me().await.expect("GET /api/me over https");
    assert_eq!(me.id, world.bot_id);

    let seen = Arc::new(Mutex::new(Vec::new()));
    let (handle, task) = start_bot(bot.clone(), seen.clone());
    let mut status = handle.watch_status();
    tokio::time::timeout(WAIT, status.wait_for(|s| s.connected))
        .await
        .expect("the bot connects over wss")
        .unwrap();

    // A message posted over https reaches the bot live over wss, and its
    // answer (posted over https) lands in the thread.
    let hello = poster
        .post_message(&world.channel_id, "hello over tls", None)
        .await
        .expect("post over https")
        .message;
    let delivered = eventually("the live event", || async {
        seen.lock()
            .unwrap()
            .iter()
            .find(|event| event.is_new_message() && event.message_id() == Some(hello.id.as_str()))
            .cloned()
    })
    .await;
    assert!(!delivered.is_ephemeral());
    let replies = eventually("the echo", || async {
        let thread = poster.thread(&hello.id).await.unwrap();
        (!thread.replies.is_empty()).then_some(thread.replies)
    })
    .await;
    assert_eq!(replies[0].body, "echo: hello over tls");
    assert_eq!(replies[0].author_id, world.bot_id);
    assert_eq!(
        handle.status().connections,
        1,
        "no reconnects: {:?}",
        handle.status()
    );
    stop_bot(handle, task).await;

    // Both the API calls and the WebSocket went through the TLS proxy.
    let lines = world.proxy.first_lines();
    assert!(
        lines.iter().any(|line| line.starts_with("GET /api/me ")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with("GET /api/realtime/ws?")),
        "the WebSocket upgrade came over TLS: {lines:?}"
    );
    assert!(world.proxy.handshakes.load(Ordering::SeqCst) >= 2);

    // The proxy speaks nothing but TLS: plain http to it gets no answer.
    let plain = Client::new(
        &format!("http://localhost:{}", world.proxy.port),
        world.bot_token.clone(),
    )
    .unwrap();
    let error = plain.me().await.expect_err("plain http to a TLS port");
    assert!(matches!(error, Error::Http(_)), "{error:?}");

    let _ = std::fs::remove_file(&ca_file);
    world.stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_ca_the_certificate_is_refused() {
    let logs = capture_logs();
    let world = world("tls-untrusted").await;

    // HTTP: a clear certificate error, not a retry loop or a panic.
    let client = Client::new(&world.proxy.url, world.bot_token.clone()).unwrap();
    let error = client.me().await.expect_err("an untrusted certificate");
    let Error::Tls { host, source } = &error else {
        panic!("expected Error::Tls, got {error:?}");
    };
    assert_eq!(host, "localhost");
    assert!(
        matches!(source, rustls::Error::InvalidCertificate(_)),
        "{source:?}"
    );
    let shown = error.to_string();
    assert!(shown.contains("certificate"), "{shown}");
    assert!(shown.contains("CLICKCLACK_CA_CERT"), "{shown}");
    assert!(!error.is_transient());

    // A bot with that client stops at once with the same error.
    let (handle, task) = start_bot(client, Arc::new(Mutex::new(Vec::new())));
    let outcome = tokio::time::timeout(WAIT, task)
        .await
        .expect("the bot gives up promptly")
        .expect("the bot task does not panic");
    assert!(matches!(outcome, Err(Error::Tls { .. })), "{outcome:?}");
    assert_eq!(handle.status().connections, 0);

    // The WebSocket verifies too: HTTP through a reqwest client that
    // trusts the CA, but no extra CA for the SDK, so wss is refused.
    let trusting = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(world.pki.ca_pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    let client =
        Client::with_http_client(&world.proxy.url, world.bot_token.clone(), trusting).unwrap();
    client.me().await.expect("HTTP trusts the CA");
    let (handle, task) = start_bot(client, Arc::new(Mutex::new(Vec::new())));
    eventually("a refused wss handshake", || async {
        logs.contents()
            .lines()
            .any(|line| {
                line.contains("realtime connection lost")
                    && line.contains("TLS handshake with localhost failed")
                    && line.contains("UnknownIssuer")
            })
            .then_some(())
    })
    .await;
    assert_eq!(handle.status().connections, 0, "wss never opened");
    stop_bot(handle, task).await;
    assert!(
        !world
            .proxy
            .first_lines()
            .iter()
            .any(|line| line.contains("/api/realtime/ws")),
        "no WebSocket upgrade got through"
    );

    world.stack.stop().await;
}
