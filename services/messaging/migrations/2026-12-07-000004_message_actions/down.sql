ALTER TABLE messages DROP COLUMN actions;
