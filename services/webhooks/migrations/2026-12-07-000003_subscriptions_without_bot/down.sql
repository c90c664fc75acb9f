DROP INDEX subscriptions_of_workspace;
ALTER TABLE subscriptions DROP CONSTRAINT subscriptions_have_a_reader;
DELETE FROM subscriptions WHERE bot_user_id IS NULL;
ALTER TABLE subscriptions ALTER COLUMN bot_user_id SET NOT NULL;
