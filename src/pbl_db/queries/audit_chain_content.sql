-- Fragment (not a query): the text forms of an audit row's content columns (alias a), as a
-- select list: 29 columns in the order of pbl_db.audit.encoding.CONTENT_COLUMNS; built-in casts
-- only. pbl_audit_chain_content (migration 0017) builds the same at insert. Separate columns,
-- not one text[]: the client reads them 2-3x faster than an array it has to parse.
a.id::text, a.application_id::text, a.tenant_id::text, a.blockchain_tx_hash::text,
a.event_type::text, a.event_category::text, a.event_description, a.decision::text,
a.risk_score::text, a.confidence::text, a.user_id::text, a.user_role::text,
a.ip_address::text, a.user_agent, a.service_name::text, a.service_version::text,
a.environment::text, a.event_data::text, a.previous_state::text, a.new_state::text,
a.metadata::text, a.compliance_requirement::text, a.regulation::text,
a.audit_required::text, a.signature, a.signing_key_id::text,
CASE WHEN NOT isfinite(a.event_timestamp) THEN a.event_timestamp::text
     ELSE to_char(a.event_timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
          || CASE WHEN a.event_timestamp < '0001-01-01 00:00:00+00' THEN ' BC' ELSE '' END
END,
CASE WHEN NOT isfinite(a.created_at) THEN a.created_at::text
     ELSE to_char(a.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
          || CASE WHEN a.created_at < '0001-01-01 00:00:00+00' THEN ' BC' ELSE '' END
END,
CASE WHEN NOT isfinite(a.deleted_at) THEN a.deleted_at::text
     ELSE to_char(a.deleted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
          || CASE WHEN a.deleted_at < '0001-01-01 00:00:00+00' THEN ' BC' ELSE '' END
END
