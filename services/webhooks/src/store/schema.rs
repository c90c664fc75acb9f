// Diesel table definitions for the `webhooks` schema; kept in step with
// `migrations/` by hand.

diesel::table! {
    subscriptions (id) {
        id -> Text,
        workspace_id -> Text,
        bot_user_id -> Nullable<Text>,
        callback_url -> Text,
        event_types -> Array<Text>,
        channel_ids -> Array<Text>,
        sealed_secret -> Bytea,
        previous_sealed_secret -> Nullable<Bytea>,
        previous_secret_until -> Nullable<Timestamptz>,
        created_by -> Nullable<Text>,
        created_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        disabled_at -> Nullable<Timestamptz>,
        disabled_reason -> Nullable<Text>,
        failing_since -> Nullable<Timestamptz>,
        owner_told_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    deliveries (id) {
        id -> BigInt,
        subscription_id -> Text,
        event_id -> Text,
        position -> BigInt,
        body -> Text,
        state -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamptz,
        lease_until -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    delivery_attempts (id) {
        id -> Text,
        delivery_id -> BigInt,
        subscription_id -> Text,
        event_id -> Text,
        attempt -> Integer,
        response_status -> Integer,
        latency_ms -> Integer,
        response_body -> Text,
        error -> Nullable<Text>,
        attempted_at -> Timestamptz,
    }
}

diesel::joinable!(deliveries -> subscriptions (subscription_id));
diesel::allow_tables_to_appear_in_same_query!(subscriptions, deliveries, delivery_attempts);

diesel::table! {
    feed_position (singleton) {
        singleton -> Bool,
        cursor -> Text,
        position -> BigInt,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    incoming_hooks (id) {
        id -> Text,
        workspace_id -> Text,
        channel_id -> Text,
        bot_user_id -> Text,
        name -> Text,
        secret_hash -> Bytea,
        created_by -> Nullable<Text>,
        created_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        last_used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    slash_commands (id) {
        id -> Text,
        workspace_id -> Text,
        bot_user_id -> Text,
        command -> Text,
        description -> Text,
        delivery -> Text,
        callback_url -> Text,
        sealed_secret -> Bytea,
        previous_sealed_secret -> Nullable<Bytea>,
        previous_secret_until -> Nullable<Timestamptz>,
        created_by -> Nullable<Text>,
        created_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        kind -> Text,
    }
}

diesel::table! {
    slash_command_invocations (id) {
        id -> Text,
        command_id -> Text,
        workspace_id -> Text,
        channel_id -> Nullable<Text>,
        direct_conversation_id -> Nullable<Text>,
        thread_root_id -> Nullable<Text>,
        user_id -> Text,
        text -> Text,
        response_token_hash -> Bytea,
        responses_until -> Timestamptz,
        responses_used -> Int4,
        acked_at -> Nullable<Timestamptz>,
        response_status -> Nullable<Int4>,
        response_body -> Text,
        error -> Nullable<Text>,
        created_at -> Timestamptz,
        completed_at -> Nullable<Timestamptz>,
        message_id -> Nullable<Text>,
        action_id -> Nullable<Text>,
    }
}

diesel::joinable!(slash_command_invocations -> slash_commands (command_id));
diesel::allow_tables_to_appear_in_same_query!(slash_commands, slash_command_invocations);
