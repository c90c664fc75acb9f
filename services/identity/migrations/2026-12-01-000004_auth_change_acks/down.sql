DROP TABLE auth_watchers;
DROP TABLE auth_change_head;
