//! A fresh database and a `clickclack dev` process on free ports, for one
//! benchmark run; both are removed when [`BenchStack`] is dropped.

use anyhow::{Context, bail};
use diesel::{Connection, PgConnection, RunQueryDsl, sql_types::BigInt};
use serde_json::Value;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A database created for this run, dropped afterwards.
pub struct FreshDatabase {
    admin_url: String,
    pub name: String,
    pub url: String,
}

/// `url` with its database name replaced.
fn with_database(url: &str, name: &str) -> anyhow::Result<String> {
    let (base, _) = url
        .rsplit_once('/')
        .context("the Postgres URL needs a database name")?;
    Ok(format!("{base}/{name}"))
}

impl FreshDatabase {
    /// Creates `clickclack_bench_<pid>` next to `admin_url`'s database.
    pub fn create(admin_url: &str) -> anyhow::Result<FreshDatabase> {
        let name = format!("clickclack_bench_{}", std::process::id());
        let mut admin = PgConnection::establish(admin_url).context("connect to Postgres")?;
        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut admin)?;
        diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin)?;
        Ok(FreshDatabase {
            admin_url: admin_url.to_owned(),
            url: with_database(admin_url, &name)?,
            name,
        })
    }

    /// Client connections open on this database (every service's pools and
    /// listeners; the caller's own probe excluded).
    pub fn connections(&self) -> anyhow::Result<i64> {
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = BigInt)]
            count: i64,
        }
        let mut admin = PgConnection::establish(&self.admin_url)?;
        let row: Count = diesel::sql_query(format!(
            "SELECT count(*) AS count FROM pg_stat_activity WHERE datname = '{}'",
            self.name
        ))
        .get_result(&mut admin)?;
        Ok(row.count)
    }
}

impl Drop for FreshDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&self.admin_url) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin);
        }
    }
}

/// A port nobody listens on right now.
fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// `clickclack dev` as a child process, with rate limits off.
pub struct BenchStack {
    child: Child,
    pub http_url: String,
    identity_addr: String,
    clickclack: PathBuf,
    _uploads: TempDir,
}

/// A directory removed on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl BenchStack {
    /// Starts the stack on `database_url` and waits until the gateway answers.
    pub async fn start(clickclack: &Path, database_url: &str) -> anyhow::Result<BenchStack> {
        let uploads =
            TempDir(std::env::temp_dir().join(format!("clickclack-bench-{}", std::process::id())));
        let http = free_port()?;
        let identity_addr = format!("127.0.0.1:{}", free_port()?);
        let log = std::fs::File::create(std::env::temp_dir().join("clickclack-bench-stack.log"))?;
        let child = Command::new(clickclack)
            .arg("dev")
            .args(["--database-url", database_url])
            .args(["--http-addr", &format!("127.0.0.1:{http}")])
            .args(["--identity-addr", &identity_addr])
            .args(["--messaging-addr", &format!("127.0.0.1:{}", free_port()?)])
            .args(["--realtime-addr", &format!("127.0.0.1:{}", free_port()?)])
            .args(["--webhooks-addr", &format!("127.0.0.1:{}", free_port()?)])
            // The webhooks bench subscribes 100 times in one workspace.
            .env("CLICKCLACK_WEBHOOKS_MAX_PER_WORKSPACE", "1000")
            .args(["--metrics-addr", &format!("127.0.0.1:{}", free_port()?)])
            .arg("--upload-dir")
            .arg(&uploads.0)
            // Measure the stack, not its rate limiter.
            .env("CLICKCLACK_RATE_READS", "0/s")
            .env("CLICKCLACK_RATE_WRITES", "0/s")
            .env("CLICKCLACK_RATE_SIGN_IN", "0/s")
            .env("CLICKCLACK_MAX_SOCKETS", "100000")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("start {}", clickclack.display()))?;
        let mut stack = BenchStack {
            child,
            http_url: format!("http://127.0.0.1:{http}"),
            identity_addr: format!("http://{identity_addr}"),
            clickclack: clickclack.to_owned(),
            _uploads: uploads,
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = stack.child.try_wait()? {
                bail!(
                    "clickclack dev exited with {status}; see {}",
                    std::env::temp_dir()
                        .join("clickclack-bench-stack.log")
                        .display()
                );
            }
            if let Ok(response) = client
                .get(format!("{}/readyz", stack.http_url))
                .send()
                .await
                && response.status().is_success()
            {
                return Ok(stack);
            }
            if Instant::now() > deadline {
                stack.stop();
                bail!("clickclack dev did not become ready within a minute");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Creates a bot in the `default` workspace with `bot:admin` through the
    /// admin CLI and returns its raw token.
    pub fn bot_token(&self) -> anyhow::Result<String> {
        self.bot_token_with("bench", "bot:admin")
    }

    /// A bot `handle` with `scopes` in the `default` workspace; its raw token.
    pub fn bot_token_with(&self, handle: &str, scopes: &str) -> anyhow::Result<String> {
        let output = Command::new(&self.clickclack)
            .args(["admin", "--identity-addr", &self.identity_addr])
            .args(["bot", "create", "--workspace", "default", "--name", "Bench"])
            .args([
                "--handle",
                handle,
                "--scopes",
                scopes,
                "--token-name",
                "bench",
                "--plain",
            ])
            .output()?;
        if !output.status.success() {
            bail!(
                "admin bot create failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(String::from_utf8(output.stdout)?.trim().to_owned())
    }

    /// Stops the stack with SIGTERM and waits for it.
    pub fn stop(&mut self) {
        // SAFETY: kill(2) on our own child's pid has no memory effects.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for BenchStack {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.stop();
        }
    }
}

/// `GET url` as the bot; the JSON answer of a 2xx.
pub async fn get_json(client: &reqwest::Client, url: &str, token: &str) -> anyhow::Result<Value> {
    Ok(client
        .get(url)
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?)
}

/// The bot's workspace and a set of channels to write into: `#general`
/// plus new ones up to `count`.
pub async fn channels(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    count: usize,
) -> anyhow::Result<(String, Vec<String>)> {
    let workspaces = get_json(client, &format!("{url}/api/workspaces"), token).await?;
    let workspace = workspaces["workspaces"][0]["id"]
        .as_str()
        .context("the bot sees no workspace")?
        .to_owned();
    let listed = get_json(
        client,
        &format!("{url}/api/workspaces/{workspace}/channels"),
        token,
    )
    .await?;
    let mut ids: Vec<String> = listed["channels"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|channel| channel["id"].as_str().map(str::to_owned))
        .collect();
    ids.truncate(count);
    for n in ids.len()..count {
        let created: Value = client
            .post(format!("{url}/api/workspaces/{workspace}/channels"))
            .bearer_auth(token)
            .json(&serde_json::json!({ "name": format!("bench-{n}") }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        ids.push(
            created["channel"]["id"]
                .as_str()
                .context("created channel id")?
                .to_owned(),
        );
    }
    Ok((workspace, ids))
}
