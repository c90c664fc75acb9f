DROP TABLE app_installations;
