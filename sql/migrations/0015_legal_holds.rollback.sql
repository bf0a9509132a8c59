DROP FUNCTION pbl_application_on_hold(uuid);

DROP TABLE legal_holds;
