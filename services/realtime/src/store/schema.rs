// Diesel table definitions for the `realtime` schema; kept in step with
// `migrations/` by hand.

diesel::table! {
    log_head (only_row) {
        only_row -> Bool,
        position -> BigInt,
    }
}

diesel::table! {
    events (position) {
        position -> BigInt,
        event_id -> Text,
        #[sql_name = "type"]
        event_type -> Text,
        workspace_id -> Text,
        channel_id -> Nullable<Text>,
        seq -> Nullable<BigInt>,
        audience -> Array<Text>,
        payload -> Jsonb,
        created_at -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(log_head, events);
