-- Event subscriptions of bots, the queue of their deliveries and the log of
-- every attempt (issue 25). Owned by the webhooks service alone.

CREATE TABLE subscriptions (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    bot_user_id TEXT NOT NULL,
    callback_url TEXT NOT NULL,
    event_types TEXT[] NOT NULL,
    -- Empty: every channel the bot can read.
    channel_ids TEXT[] NOT NULL DEFAULT '{}',
    -- The signing secret, sealed (AES-256-GCM, domain/sealing.rs); during a
    -- rotation the previous one signs too, until previous_secret_until.
    sealed_secret BYTEA NOT NULL,
    previous_sealed_secret BYTEA,
    previous_secret_until TIMESTAMPTZ,
    created_by TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at TIMESTAMPTZ,
    disabled_at TIMESTAMPTZ,
    disabled_reason TEXT,
    -- Since when every attempt has failed (NULL after a success).
    failing_since TIMESTAMPTZ
);
CREATE INDEX subscriptions_of_bot ON subscriptions (workspace_id, bot_user_id);

CREATE TABLE deliveries (
    id BIGSERIAL PRIMARY KEY,
    subscription_id TEXT NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    -- The event's place in realtime's log: a subscription's deliveries go
    -- out in this order, one at a time.
    position BIGINT NOT NULL,
    body TEXT NOT NULL,
    -- pending | sending | delivered | failed
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- While sending: when another worker may take it over.
    lease_until TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at TIMESTAMPTZ,
    -- An event is queued once per subscription, however often it is offered.
    UNIQUE (subscription_id, event_id)
);
CREATE INDEX deliveries_open ON deliveries (subscription_id, position)
    WHERE state IN ('pending', 'sending');

CREATE TABLE delivery_attempts (
    id TEXT PRIMARY KEY,
    delivery_id BIGINT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    subscription_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    attempt INT NOT NULL,
    -- 0 when no answer came.
    response_status INT NOT NULL DEFAULT 0,
    latency_ms INT NOT NULL,
    response_body TEXT NOT NULL DEFAULT '',
    error TEXT,
    attempted_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX delivery_attempts_of_subscription
    ON delivery_attempts (subscription_id, attempted_at DESC, id DESC);
