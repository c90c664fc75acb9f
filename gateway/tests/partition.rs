//! A real network partition between a gateway and the services: the gateway
//! runs as its own process in its own network namespace, joined to the host
//! (where the services listen) by a veth pair, and the link is cut with
//! iptables (packets dropped, no reset), as a failing switch or a stuck
//! node would. Needs root, `ip` (iproute2) and `iptables`; `.ci/run`
//! installs them. Without them this test fails and says why.

use clickclack_proto::identity as pb;
use clickclack_testkit::TestStack;
use std::net::{IpAddr, Ipv4Addr};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TEST_KEY: &str = "partition-test-internal-key-0123456789abcdef";

fn run(args: &[&str]) {
    let output = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {args:?} ({e}); this test needs root, iproute2 and iptables")
        });
    assert!(
        output.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A network namespace with one veth link to the host; removed on drop.
struct Namespace {
    name: String,
    host_link: String,
    host_ip: Ipv4Addr,
    inner_ip: Ipv4Addr,
}

impl Namespace {
    fn create() -> Namespace {
        let id = std::process::id() % 50_000;
        let subnet = (id % 250) as u8;
        let ns = Namespace {
            name: format!("ccpart{id}"),
            host_link: format!("ccph{id}"),
            host_ip: Ipv4Addr::new(10, 203, subnet, 1),
            inner_ip: Ipv4Addr::new(10, 203, subnet, 2),
        };
        let inner_link = format!("ccpn{id}");
        // Leftovers of an earlier, killed run.
        let _ = Command::new("ip").args(["netns", "del", &ns.name]).output();
        let _ = Command::new("ip")
            .args(["link", "del", &ns.host_link])
            .output();
        run(&["ip", "netns", "add", &ns.name]);
        run(&[
            "ip",
            "link",
            "add",
            &ns.host_link,
            "type",
            "veth",
            "peer",
            "name",
            &inner_link,
        ]);
        run(&["ip", "link", "set", &inner_link, "netns", &ns.name]);
        run(&[
            "ip",
            "addr",
            "add",
            &format!("{}/30", ns.host_ip),
            "dev",
            &ns.host_link,
        ]);
        run(&["ip", "link", "set", &ns.host_link, "up"]);
        ns.exec(&[
            "ip",
            "addr",
            "add",
            &format!("{}/30", ns.inner_ip),
            "dev",
            &inner_link,
        ]);
        ns.exec(&["ip", "link", "set", &inner_link, "up"]);
        ns.exec(&["ip", "link", "set", "lo", "up"]);
        ns
    }

    fn exec(&self, args: &[&str]) {
        let mut full = vec!["ip", "netns", "exec", &self.name];
        full.extend_from_slice(args);
        run(&full);
    }

    /// Drops every packet between the namespace and `port` on the host, in
    /// both directions (`-A` adds, `-D` removes).
    fn cut(&self, action: &str, port: u16) {
        let host = self.host_ip.to_string();
        let port = port.to_string();
        self.exec(&[
            "iptables", action, "OUTPUT", "-p", "tcp", "-d", &host, "--dport", &port, "-j", "DROP",
        ]);
        self.exec(&[
            "iptables", action, "INPUT", "-p", "tcp", "-s", &host, "--sport", &port, "-j", "DROP",
        ]);
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
        let _ = Command::new("ip")
            .args(["link", "del", &self.host_link])
            .output();
    }
}

struct Gateway(Child);

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn me(http: &reqwest::Client, base: &str, token: &str) -> (u16, Duration) {
    let started = Instant::now();
    let status = match http
        .get(format!("{base}/api/me"))
        .bearer_auth(token)
        .send()
        .await
    {
        Ok(response) => response.status().as_u16(),
        Err(_) => 0,
    };
    (status, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_off_gateway_stops_serving_a_revoked_token_and_recovers_after_the_heal() {
    let ns = Namespace::create();
    let stack = TestStack::start_exposed(IpAddr::V4(ns.host_ip), TEST_KEY).await;
    let boot = stack.bootstrap("acme").await;
    let port_of = |url: &str| url.rsplit(':').next().unwrap().parse::<u16>().unwrap();
    let identity_port = port_of(&stack.identity_url);
    let gateway_url = format!("http://{}:18080", ns.inner_ip);
    let gateway = Gateway(
        Command::new("ip")
            .args([
                "netns",
                "exec",
                &ns.name,
                env!("CARGO_BIN_EXE_clickclack-gateway"),
            ])
            .env("CLICKCLACK_HTTP_ADDR", format!("{}:18080", ns.inner_ip))
            .env("CLICKCLACK_IDENTITY_ADDR", &stack.identity_url)
            .env("CLICKCLACK_MESSAGING_ADDR", &stack.messaging_url)
            .env("CLICKCLACK_REALTIME_ADDR", &stack.realtime_url)
            .env("CLICKCLACK_INTERNAL_KEY", TEST_KEY)
            .env("CLICKCLACK_RATE_READS", "0/s")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("start the gateway in its namespace"),
    );
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let (_, token) = stack
        .service_bot(&boot.workspace.id, "bot", "bot:read")
        .await;
    let (_, fresh) = stack
        .service_bot(&boot.workspace.id, "fresh", "bot:read")
        .await;
    let started = Instant::now();
    while me(&http, &gateway_url, &token).await.0 != 200 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the gateway came up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Warm its cache and let it hold a lease.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(me(&http, &gateway_url, &token).await.0, 200);

    // Cut the gateway off from identity, then revoke the token.
    ns.cut("-A", identity_port);
    let cut = Instant::now();
    let tokens = stack
        .identity()
        .await
        .list_bot_tokens(pb::ListBotTokensRequest {
            bot_user_id: stack
                .api()
                .get("/api/me", Some(&token))
                .await
                .expect(200, "the bot, through the stack's own gateway")["user"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .bot_tokens;
    stack
        .identity()
        .await
        .revoke_bot_token(pb::RevokeBotTokenRequest {
            token_id: tokens[0].id.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    eprintln!("revoke answered {:?} after the cut", cut.elapsed());

    // From 2 s after the cut on, the revoked token is never served, and
    // every answer comes quickly (no 15 s hangs).
    let mut slowest = Duration::ZERO;
    let mut statuses = Vec::new();
    while cut.elapsed() < Duration::from_secs(5) {
        let sent = cut.elapsed();
        let (status, took) = me(&http, &gateway_url, &token).await;
        slowest = slowest.max(took);
        if sent >= Duration::from_secs(2) {
            assert_ne!(
                status, 200,
                "the revoked token was served {sent:?} after the cut"
            );
            statuses.push(status);
        }
        let (fresh_status, fresh_took) = me(&http, &gateway_url, &fresh).await;
        slowest = slowest.max(fresh_took);
        if sent >= Duration::from_secs(2) {
            assert_eq!(fresh_status, 503, "cut off from identity: 503, not a hang");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!statuses.is_empty());
    assert!(
        slowest < Duration::from_millis(2500),
        "answers during the cut took up to {slowest:?}"
    );

    // Heal: within 2 s the gateway reaches identity again.
    ns.cut("-D", identity_port);
    let healed = Instant::now();
    loop {
        let (revoked, _) = me(&http, &gateway_url, &token).await;
        let (valid, _) = me(&http, &gateway_url, &fresh).await;
        if revoked == 401 && valid == 200 {
            break;
        }
        assert!(
            healed.elapsed() < Duration::from_secs(2),
            "recovered within 2 s of the heal (revoked {revoked}, valid {valid})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("recovered {:?} after the heal", healed.elapsed());
    drop(gateway);
    stack.stop().await;
}
