// Diesel table definitions for the `identity` schema; kept in step with
// `migrations/` by hand.

diesel::table! {
    users (id) {
        id -> Text,
        kind -> Text,
        display_name -> Text,
        handle -> Text,
        email -> Nullable<Text>,
        avatar_url -> Text,
        owner_user_id -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    workspaces (id) {
        id -> Text,
        slug -> Text,
        name -> Text,
        icon_url -> Text,
        created_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    workspace_members (workspace_id, user_id) {
        workspace_id -> Text,
        user_id -> Text,
        role -> Text,
        handle -> Text,
        joined_at -> Timestamptz,
    }
}

diesel::table! {
    bots (user_id) {
        user_id -> Text,
        workspace_id -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    bot_tokens (id) {
        id -> Text,
        bot_user_id -> Text,
        workspace_id -> Text,
        name -> Text,
        token_hash -> Bytea,
        scopes -> Array<Text>,
        created_by -> Nullable<Text>,
        created_at -> Timestamptz,
        last_used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        replaces_token_id -> Nullable<Text>,
    }
}

diesel::table! {
    magic_links (id) {
        id -> Text,
        user_id -> Text,
        token_hash -> Bytea,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        consumed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Text,
        token_hash -> Bytea,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        last_used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Text,
        workspace_id -> Text,
        actor_user_id -> Nullable<Text>,
        action -> Text,
        target_id -> Text,
        detail -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    bot_commands (bot_user_id, workspace_id, command) {
        bot_user_id -> Text,
        workspace_id -> Text,
        position -> Integer,
        command -> Text,
        description -> Text,
        args_hint -> Nullable<Text>,
        updated_at -> Timestamptz,
        id -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    bot_setup_codes (id) {
        id -> Text,
        code_hash -> Bytea,
        bot_user_id -> Text,
        workspace_id -> Text,
        token_name -> Text,
        scopes -> Array<Text>,
        defaults -> Jsonb,
        created_by -> Nullable<Text>,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        claimed_at -> Nullable<Timestamptz>,
        claimed_token_id -> Nullable<Text>,
    }
}

diesel::table! {
    workspace_invites (id) {
        id -> Text,
        token_hash -> Bytea,
        workspace_id -> Text,
        created_by -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        accepted_by -> Nullable<Text>,
        accepted_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(workspace_members -> users (user_id));
diesel::joinable!(workspace_members -> workspaces (workspace_id));
diesel::joinable!(bots -> workspaces (workspace_id));
diesel::joinable!(bot_tokens -> workspaces (workspace_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    workspaces,
    workspace_members,
    bots,
    bot_tokens,
    magic_links,
    sessions,
    audit_log,
    bot_commands
);

diesel::table! {
    auth_change_head (only_row) {
        only_row -> Bool,
        seq -> BigInt,
    }
}

diesel::table! {
    auth_watchers (id) {
        id -> Text,
        applied_seq -> BigInt,
        lease_until -> Timestamptz,
    }
}

diesel::table! {
    app_installations (id) {
        id -> Text,
        workspace_id -> Text,
        app_slug -> Text,
        display_name -> Text,
        bot_user_id -> Text,
        config -> Jsonb,
        created_by -> Nullable<Text>,
        created_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
    }
}
