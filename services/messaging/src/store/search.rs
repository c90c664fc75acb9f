//! Full-text search over message bodies (the generated `search` tsvector).

use clickclack_common::ids::WorkspaceId;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Double, Nullable, Text};

#[derive(Debug, QueryableByName)]
pub struct Hit {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Double)]
    pub rank: f64,
    #[diesel(sql_type = Text)]
    pub snippet: String,
}

/// Live messages of the workspace matching `query` (web-search syntax), in
/// channels or in the listed conversations, best first.
pub fn messages(
    conn: &mut PgConnection,
    workspace_id: &WorkspaceId,
    query: &str,
    channel_id: Option<&str>,
    conversation_ids: &[String],
    limit: i64,
    offset: i64,
) -> QueryResult<Vec<Hit>> {
    diesel::sql_query(
        "SELECT m.id,
                ts_rank(m.search, q)::float8 AS rank,
                ts_headline('simple', m.body, q, 'MaxFragments=1, MaxWords=20, MinWords=5') AS snippet
         FROM messages m, websearch_to_tsquery('simple', $2) q
         WHERE m.workspace_id = $1
           AND m.deleted_at IS NULL
           AND m.search @@ q
           AND ($3::text IS NULL OR m.channel_id = $3)
           AND (m.channel_id IS NOT NULL OR m.conversation_id = ANY($4))
         ORDER BY rank DESC, m.created_at DESC, m.id
         LIMIT $5 OFFSET $6",
    )
    .bind::<Text, _>(workspace_id)
    .bind::<Text, _>(query)
    .bind::<Nullable<Text>, _>(channel_id)
    .bind::<Array<Text>, _>(conversation_ids)
    .bind::<BigInt, _>(limit)
    .bind::<BigInt, _>(offset)
    .load(conn)
}
