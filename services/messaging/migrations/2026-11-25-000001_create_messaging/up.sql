-- Messaging owns chat content. Users and workspaces live in identity; here
-- they are plain ids, checked through the signed principal of each call.

CREATE TABLE channels (
    id               TEXT PRIMARY KEY,
    workspace_id     TEXT NOT NULL,
    name             TEXT NOT NULL,
    display_title    TEXT,
    kind             TEXT NOT NULL DEFAULT 'public' CHECK (kind IN ('public', 'private')),
    created_by       TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    archived_at      TIMESTAMPTZ,
    external_managed BOOLEAN NOT NULL DEFAULT false,
    external_ref     TEXT,
    external_url     TEXT,
    sidebar_section  TEXT,
    -- The channel_seq of the newest top-level message; bumped under the row
    -- lock, so sequence numbers have no gaps and no duplicates.
    last_seq         BIGINT NOT NULL DEFAULT 0,
    UNIQUE (workspace_id, name)
);

CREATE TABLE conversations (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    -- Sorted member ids joined by ',': one conversation per member set.
    member_key   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_seq     BIGINT NOT NULL DEFAULT 0,
    UNIQUE (workspace_id, member_key)
);

CREATE TABLE conversation_members (
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    user_id         TEXT NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX conversation_members_user_idx ON conversation_members (user_id);

CREATE TABLE messages (
    id                     TEXT PRIMARY KEY,
    workspace_id           TEXT NOT NULL,
    channel_id             TEXT REFERENCES channels (id),
    conversation_id        TEXT REFERENCES conversations (id),
    author_id              TEXT NOT NULL,
    body                   TEXT NOT NULL,
    kind                   TEXT NOT NULL,
    -- channel_seq (or the DM's seq) of top-level messages; NULL for replies.
    seq                    BIGINT,
    thread_root_id         TEXT NOT NULL,
    parent_message_id      TEXT,
    thread_seq             BIGINT,
    quoted_message_id      TEXT,
    nonce                  TEXT,
    turn_id                TEXT,
    reply_count            BIGINT NOT NULL DEFAULT 0,
    last_reply_at          TIMESTAMPTZ,
    last_reply_author_ids  TEXT[] NOT NULL DEFAULT '{}',
    created_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    edited_at              TIMESTAMPTZ,
    deleted_at             TIMESTAMPTZ,
    search                 TSVECTOR GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED,
    CHECK ((channel_id IS NULL) <> (conversation_id IS NULL)),
    CHECK ((parent_message_id IS NULL) = (seq IS NOT NULL))
);
CREATE UNIQUE INDEX messages_channel_seq_key ON messages (channel_id, seq);
CREATE UNIQUE INDEX messages_conversation_seq_key ON messages (conversation_id, seq);
CREATE UNIQUE INDEX messages_thread_seq_key ON messages (thread_root_id, thread_seq);
CREATE UNIQUE INDEX messages_author_nonce_key ON messages (author_id, nonce) WHERE nonce IS NOT NULL;
CREATE INDEX messages_search_idx ON messages USING GIN (search);

CREATE TABLE reactions (
    message_id TEXT NOT NULL REFERENCES messages (id),
    user_id    TEXT NOT NULL,
    emoji      TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (message_id, user_id, emoji)
);

-- How far each user has read a channel or DM (target is either id).
CREATE TABLE read_receipts (
    user_id    TEXT NOT NULL,
    target_id  TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, target_id)
);

CREATE TABLE uploads (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    uploader_id  TEXT NOT NULL,
    filename     TEXT NOT NULL,
    content_type TEXT NOT NULL,
    byte_size    BIGINT NOT NULL,
    nonce        TEXT,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX uploads_uploader_nonce_key ON uploads (uploader_id, nonce) WHERE nonce IS NOT NULL;

CREATE TABLE message_attachments (
    message_id TEXT NOT NULL REFERENCES messages (id),
    upload_id  TEXT NOT NULL REFERENCES uploads (id),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (message_id, upload_id)
);

-- Events written in the same transaction as the change they describe, and
-- delivered to realtime after commit.
CREATE TABLE outbox (
    position     BIGSERIAL PRIMARY KEY,
    event_id     TEXT NOT NULL UNIQUE,
    type         TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    channel_id   TEXT,
    seq          BIGINT,
    payload      JSONB NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    delivered_at TIMESTAMPTZ
);
CREATE INDEX outbox_undelivered_idx ON outbox (position) WHERE delivered_at IS NULL;
