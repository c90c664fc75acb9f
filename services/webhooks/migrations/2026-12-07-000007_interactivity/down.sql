ALTER TABLE slash_command_invocations DROP COLUMN action_id, DROP COLUMN message_id;
DROP INDEX slash_commands_live_interactivity;
DELETE FROM slash_commands WHERE kind = 'actions';
DROP INDEX slash_commands_live_name;
CREATE UNIQUE INDEX slash_commands_live_name
    ON slash_commands (workspace_id, command) WHERE revoked_at IS NULL;
ALTER TABLE slash_commands DROP COLUMN kind;
