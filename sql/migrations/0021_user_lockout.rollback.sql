DROP TRIGGER users_refuse_locked_login ON users;

DROP FUNCTION pbl_users_refuse_locked_login();

DROP FUNCTION pbl_record_login_success(uuid);

DROP FUNCTION pbl_record_login_failure(uuid);

DROP FUNCTION pbl_lockout_setting(text, text);
