DROP TABLE incoming_hooks;
