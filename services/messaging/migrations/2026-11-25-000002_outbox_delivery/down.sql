ALTER TABLE outbox DROP COLUMN cursor, DROP COLUMN audience;
