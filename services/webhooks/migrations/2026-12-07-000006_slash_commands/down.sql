DROP TABLE slash_command_invocations;
DROP TABLE slash_commands;
