DROP TABLE bot_tokens;
DROP TABLE bots;
DROP TABLE workspace_members;
DROP TABLE workspaces;
DROP TABLE users;
