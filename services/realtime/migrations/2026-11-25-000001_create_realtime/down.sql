DROP TABLE events;
DROP TABLE log_head;
