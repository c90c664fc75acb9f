// Diesel table definitions for the `messaging` schema; kept in step with
// `migrations/` by hand. `messages.search` (a generated tsvector) is only
// used from raw SQL in `store::search`.

diesel::table! {
    channels (id) {
        id -> Text,
        workspace_id -> Text,
        name -> Text,
        display_title -> Nullable<Text>,
        kind -> Text,
        created_by -> Text,
        created_at -> Timestamptz,
        archived_at -> Nullable<Timestamptz>,
        external_managed -> Bool,
        external_ref -> Nullable<Text>,
        external_url -> Nullable<Text>,
        sidebar_section -> Nullable<Text>,
        last_seq -> BigInt,
    }
}

diesel::table! {
    conversations (id) {
        id -> Text,
        workspace_id -> Text,
        member_key -> Text,
        created_at -> Timestamptz,
        last_seq -> BigInt,
    }
}

diesel::table! {
    conversation_members (conversation_id, user_id) {
        conversation_id -> Text,
        user_id -> Text,
        hidden_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    messages (id) {
        id -> Text,
        workspace_id -> Text,
        channel_id -> Nullable<Text>,
        conversation_id -> Nullable<Text>,
        author_id -> Text,
        body -> Text,
        kind -> Text,
        seq -> Nullable<BigInt>,
        thread_root_id -> Text,
        parent_message_id -> Nullable<Text>,
        thread_seq -> Nullable<BigInt>,
        quoted_message_id -> Nullable<Text>,
        nonce -> Nullable<Text>,
        turn_id -> Nullable<Text>,
        reply_count -> BigInt,
        last_reply_at -> Nullable<Timestamptz>,
        last_reply_author_ids -> Array<Text>,
        created_at -> Timestamptz,
        edited_at -> Nullable<Timestamptz>,
        deleted_at -> Nullable<Timestamptz>,
        quoted_body_snapshot -> Nullable<Text>,
        quoted_author_id -> Nullable<Text>,
        actions -> Jsonb,
    }
}

diesel::table! {
    reactions (message_id, user_id, emoji) {
        message_id -> Text,
        user_id -> Text,
        emoji -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    read_receipts (user_id, target_id) {
        user_id -> Text,
        target_id -> Text,
        seq -> BigInt,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    uploads (id) {
        id -> Text,
        workspace_id -> Text,
        uploader_id -> Text,
        filename -> Text,
        content_type -> Text,
        byte_size -> BigInt,
        nonce -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    message_attachments (message_id, upload_id) {
        message_id -> Text,
        upload_id -> Text,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(conversation_members -> conversations (conversation_id));
diesel::joinable!(message_attachments -> uploads (upload_id));
diesel::joinable!(message_attachments -> messages (message_id));
diesel::joinable!(reactions -> messages (message_id));

diesel::allow_tables_to_appear_in_same_query!(
    channels,
    conversations,
    conversation_members,
    messages,
    reactions,
    read_receipts,
    uploads,
    message_attachments,
);
