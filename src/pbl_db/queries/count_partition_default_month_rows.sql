-- Rows of the default partition that belong to one month (they block creating its partition).
SELECT count(*) FROM {partition} WHERE event_timestamp >= %(lo)s AND event_timestamp < %(hi)s
