-- No row of this partition may change until this transaction ends (it is checked, then dropped).
LOCK TABLE {partition} IN SHARE MODE
