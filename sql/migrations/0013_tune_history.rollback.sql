DROP TABLE pbl_tune_history_settings;

DROP TABLE pbl_tune_history;
