//! Diesel queries for the `webhooks` schema.

/// `revoke` and `rotate_secret` for a table of things that sign with a
/// sealed, rotatable secret and end by revocation (subscriptions, slash
/// commands: the same columns).
macro_rules! revocable_signer {
    ($table:ident, $row:ty) => {
        /// Revokes it (the first revocation's time is kept) and answers
        /// the row.
        pub fn revoke(conn: &mut PgConnection, id: &str) -> QueryResult<$row> {
            diesel::update($table::table.find(id))
                .set($table::revoked_at.eq(diesel::dsl::sql::<
                    diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
                >("coalesce(revoked_at, now())")))
                .returning(<$row>::as_returning())
                .get_result(conn)
        }

        /// A new sealed secret; the current one keeps signing until
        /// `previous_until`.
        pub fn rotate_secret(
            conn: &mut PgConnection,
            id: &str,
            sealed: &[u8],
            previous_until: DateTime<Utc>,
        ) -> QueryResult<$row> {
            diesel::update($table::table.find(id))
                .set((
                    $table::previous_sealed_secret.eq($table::sealed_secret.nullable()),
                    $table::previous_secret_until.eq(previous_until),
                    $table::sealed_secret.eq(sealed),
                ))
                .returning(<$row>::as_returning())
                .get_result(conn)
        }
    };
}

pub mod feed;
pub mod incoming;
pub mod invocations;
pub mod queue;
pub mod schema;
pub mod slash_commands;
pub mod subscriptions;
