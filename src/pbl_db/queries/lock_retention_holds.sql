-- No legal hold may be placed or released until this transaction ends (retention decides on them).
LOCK TABLE legal_holds IN SHARE MODE
