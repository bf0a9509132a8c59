-- Applications under an active legal hold.
SELECT application_id FROM legal_holds WHERE released_at IS NULL ORDER BY application_id
