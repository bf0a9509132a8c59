-- Which of these applications are under an active legal hold (0015's function, which roles
-- without SELECT on legal_holds may call).
SELECT id FROM unnest(%(ids)s::uuid[]) AS a(id) WHERE pbl_application_on_hold(a.id) ORDER BY id
