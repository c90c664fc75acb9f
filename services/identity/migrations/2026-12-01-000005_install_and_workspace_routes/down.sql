DROP TABLE workspace_invites;
DROP TABLE bot_setup_codes;
ALTER TABLE workspaces DROP COLUMN deleted_at;
ALTER TABLE bot_commands DROP CONSTRAINT bot_commands_id_key;
ALTER TABLE bot_commands DROP COLUMN created_at;
ALTER TABLE bot_commands DROP COLUMN id;
