-- When the people behind a disabled subscription were told (identity's
-- audit entry and event). NULL while a disabled subscription's notice is
-- still owed: it is retried until identity takes it.
ALTER TABLE subscriptions ADD COLUMN owner_told_at TIMESTAMPTZ;
CREATE INDEX subscriptions_owed_a_notice ON subscriptions (disabled_at)
    WHERE disabled_at IS NOT NULL AND owner_told_at IS NULL;
