-- Release an application's active legal hold (the hold row stays, with the release beside it).
UPDATE legal_holds
SET released_at = now(), released_by = session_user, release_reason = %(reason)s
WHERE application_id = %(application_id)s AND released_at IS NULL
RETURNING id, tenant_id, application_id, reason, placed_at, placed_by, released_at, released_by,
          release_reason
