DROP INDEX subscriptions_owed_a_notice;
ALTER TABLE subscriptions DROP COLUMN owner_told_at;
