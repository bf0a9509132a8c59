DROP TRIGGER applications_stats_truncate ON applications;

DROP TRIGGER applications_stats_delete ON applications;

DROP TRIGGER applications_stats_update ON applications;

DROP TRIGGER applications_stats_insert ON applications;

DROP FUNCTION pbl_application_stats_epoch();

DROP FUNCTION pbl_applications_stats_changed();

DROP FUNCTION pbl_applications_stats_inserted();

DROP FUNCTION pbl_application_stats_bump(uuid);

DROP TABLE application_stats_truncations;

DROP TABLE application_stats_epochs;
