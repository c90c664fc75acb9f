-- Button presses (issue 26) go to a bot's interactivity endpoint: a row of
-- kind 'actions' here (no name, one live per bot) with the same delivery,
-- sealed signing secret and rotation as a command. A bot that set none
-- gets one for socket delivery on its first press.
ALTER TABLE slash_commands
    ADD COLUMN kind TEXT NOT NULL DEFAULT 'command' CHECK (kind IN ('command', 'actions'));
DROP INDEX slash_commands_live_name;
CREATE UNIQUE INDEX slash_commands_live_name
    ON slash_commands (workspace_id, command) WHERE revoked_at IS NULL AND kind = 'command';
CREATE UNIQUE INDEX slash_commands_live_interactivity
    ON slash_commands (bot_user_id) WHERE revoked_at IS NULL AND kind = 'actions';

-- A press is logged like an invocation: which message, which button (its
-- value is the invocation's text).
ALTER TABLE slash_command_invocations
    ADD COLUMN message_id TEXT,
    ADD COLUMN action_id TEXT;
