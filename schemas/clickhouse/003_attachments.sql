-- The bytes of statements' attachments (Communication 1.5.2), sent in multipart/mixed requests
-- and carried to the sink in the same Kafka message as their statements. Content-addressed: the
-- key is the tenant and the SHA-256 the statements name, so an attachment sent twice, or by
-- several statements, is stored once.
CREATE TABLE IF NOT EXISTS attachments
(
    tenant String,
    sha2 String,
    content_type String,
    data String,
    stored_us UInt64
)
ENGINE = ReplacingMergeTree
ORDER BY (tenant, sha2);
