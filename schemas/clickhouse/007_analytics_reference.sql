-- What a district imports (crates/analytics/src/import.rs): which activities are evidence of
-- which competency, and its roster (OneRoster users, classes and enrollments).
--
-- An import replaces the tenant's whole set: rows it no longer lists are written again with
-- deleted = 1. The newest version of a key wins, in merges and in readers' LIMIT 1 BY.
CREATE TABLE IF NOT EXISTS competency_alignments
(
    tenant String,
    activity_id String,
    competency_id String,
    framework String,
    weight Float64,
    deleted UInt8,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (tenant, activity_id, competency_id);
CREATE TABLE IF NOT EXISTS roster_users
(
    tenant String,
    user_id String,
    actor_ifi String,
    given_name String,
    family_name String,
    role String,
    deleted UInt8,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (tenant, user_id);
CREATE TABLE IF NOT EXISTS roster_classes
(
    tenant String,
    class_id String,
    title String,
    deleted UInt8,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (tenant, class_id);
CREATE TABLE IF NOT EXISTS roster_enrollments
(
    tenant String,
    class_id String,
    user_id String,
    role String,
    deleted UInt8,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (tenant, class_id, user_id);
-- The mastery last published on the mastery topic per learner and competency: what a new
-- computation is compared with to decide whether the value changed.
CREATE TABLE IF NOT EXISTS mastery_published
(
    tenant String,
    actor_ifi String,
    competency_id String,
    method String,
    value Float64,
    mastered UInt8,
    evidence_count UInt64,
    last_evidence_us Int64,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (tenant, actor_ifi, competency_id);
