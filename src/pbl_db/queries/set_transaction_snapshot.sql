-- A verify worker's first statement: read exactly what verify's own transaction reads.
SET TRANSACTION SNAPSHOT {}
