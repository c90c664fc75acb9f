//! `clickclack migrate` applies every service's schema to an empty database,
//! and running it again changes nothing.

use clickclack_testkit::TestDatabase;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn table_count(url: &str) -> i64 {
    tables_in(url, "'identity', 'messaging', 'realtime', 'webhooks'")
}

fn tables_in(url: &str, schemas: &str) -> i64 {
    let mut conn = PgConnection::establish(url).unwrap();
    diesel::sql_query(format!(
        "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema IN ({schemas})"
    ))
    .get_result::<Count>(&mut conn)
    .unwrap()
    .n
}

async fn migrate(url: &str) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_clickclack"))
        .args(["migrate", "--database-url", url])
        .env_remove("RUST_LOG")
        .output()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_creates_every_schema_once() {
    let db = TestDatabase::create().await;
    assert_eq!(table_count(&db.url), 0);
    let first = migrate(&db.url).await;
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let tables = table_count(&db.url);
    assert!(tables >= 20, "{tables} tables");
    for schema in ["identity", "messaging", "realtime", "webhooks"] {
        assert!(
            tables_in(&db.url, &format!("'{schema}'")) > 0,
            "{schema} was migrated"
        );
    }
    let again = migrate(&db.url).await;
    assert!(again.status.success());
    assert_eq!(table_count(&db.url), tables);

    let bad = migrate("postgres://postgres@127.0.0.1:1/nowhere").await;
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(stderr.lines().count(), 1, "one error line: {stderr}");
}
