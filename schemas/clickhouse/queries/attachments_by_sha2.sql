-- params: tenant String, sha2s Array(String)
-- The bytes of attachments, for a GET of statements with attachments=true.
SELECT sha2, content_type, data
FROM attachments
WHERE tenant = ? AND sha2 IN (SELECT arrayJoin(?))
LIMIT 1 BY sha2
