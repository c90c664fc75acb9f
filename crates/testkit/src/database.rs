use clickclack_common::db;
use diesel::{Connection, PgConnection, RunQueryDsl};
use testcontainers_modules::postgres::Postgres;
use testcontainers_modules::testcontainers::ContainerAsync;
use testcontainers_modules::testcontainers::runners::AsyncRunner;
use tokio::sync::OnceCell;

/// A database that exists for one test and is dropped when this is dropped.
pub struct TestDatabase {
    /// Connection URL of the fresh database.
    pub url: String,
    name: String,
    maintenance_url: String,
}

/// The Postgres server for this test process: the configured one, or a
/// container started once and kept for the life of the process.
async fn server_url() -> String {
    static SERVER: OnceCell<String> = OnceCell::const_new();
    SERVER.get_or_init(find_server).await.clone()
}

async fn find_server() -> String {
    let configured = std::env::var("CLICKCLACK_TEST_DATABASE_URL")
        .unwrap_or_else(|_| db::DEFAULT_DATABASE_URL.into());
    let maintenance =
        db::with_database(&configured, "postgres").expect("CLICKCLACK_TEST_DATABASE_URL is a URL");
    let probe = maintenance.clone();
    let reachable =
        tokio::task::spawn_blocking(move || PgConnection::establish(&probe).map(|_| ()))
            .await
            .expect("probe task");
    match reachable {
        Ok(()) => maintenance,
        Err(local_error) => match start_container().await {
            Ok(url) => url,
            Err(docker_error) => panic!(
                "no Postgres for tests: {configured} answered {local_error}, and testcontainers \
                 could not start one ({docker_error}). Start Postgres or set CLICKCLACK_TEST_DATABASE_URL."
            ),
        },
    }
}

async fn start_container() -> Result<String, String> {
    // Kept in a static so the container outlives every test of the process;
    // testcontainers' reaper removes it when the process ends.
    static CONTAINER: OnceCell<ContainerAsync<Postgres>> = OnceCell::const_new();
    let container = CONTAINER
        .get_or_try_init(|| async { Postgres::default().start().await.map_err(|e| e.to_string()) })
        .await?;
    let host = container.get_host().await.map_err(|e| e.to_string())?;
    let port = container
        .get_host_port_ipv4(5432)
        .await
        .map_err(|e| e.to_string())?;
    Ok(format!(
        "postgres://postgres:postgres@{host}:{port}/postgres"
    ))
}

impl TestDatabase {
    pub async fn create() -> TestDatabase {
        let maintenance_url = server_url().await;
        let name = format!("clickclack_test_{}", clickclack_common::ids::new_ulid());
        let url = db::with_database(&maintenance_url, &name).expect("valid url");
        let create_url = url.clone();
        tokio::task::spawn_blocking(move || db::ensure_database_exists(&create_url))
            .await
            .expect("create task")
            .expect("create the test database");
        TestDatabase {
            url,
            name,
            maintenance_url,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many client connections are open on this database now (the
    /// services' pools, relays and listeners).
    pub fn connections(&self) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            count: i64,
        }
        let mut conn =
            PgConnection::establish(&self.maintenance_url).expect("connect to the server");
        diesel::sql_query("SELECT count(*) AS count FROM pg_stat_activity WHERE datname = $1")
            .bind::<diesel::sql_types::Text, _>(&self.name)
            .get_result::<Count>(&mut conn)
            .expect("count connections")
            .count
    }

    /// Runs one SQL statement on this database (schema-qualify table names:
    /// `identity.…`); answers the rows it touched. For arranging states a
    /// test cannot wait for, such as an expired code.
    pub fn execute(&self, sql: &str) -> usize {
        let mut conn = PgConnection::establish(&self.url).expect("connect to the test database");
        diesel::sql_query(sql)
            .execute(&mut conn)
            .expect("statement")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // WITH (FORCE) ends the connections a stopped service may still hold.
        let result = PgConnection::establish(&self.maintenance_url).and_then(|mut conn| {
            diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut conn)
            .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))
        });
        if let Err(error) = result {
            eprintln!(
                "warning: could not drop test database {}: {error}",
                self.name
            );
        }
    }
}
