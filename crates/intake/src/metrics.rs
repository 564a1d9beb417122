//! The intake's metrics, named and described in one place.

pub(crate) const STATEMENTS_ACCEPTED: &str = "learnstream_intake_statements_accepted_total";
pub(crate) const PRODUCE_SECONDS: &str = "learnstream_intake_produce_duration_seconds";
pub(crate) const BATCH_STATEMENTS: &str = "learnstream_intake_batch_statements";
pub(crate) const PRODUCE_FAILURES: &str = "learnstream_intake_produce_failures_total";
pub(crate) const READ_YOUR_WRITES_SECONDS: &str = "learnstream_read_your_writes_wait_seconds";
pub(crate) const READ_YOUR_WRITES_TIMEOUTS: &str = "learnstream_read_your_writes_timeouts_total";
pub(crate) const CONNECTIONS_OPEN: &str = "learnstream_http_connections_open";
pub(crate) const CONNECTIONS_REFUSED: &str = "learnstream_http_connections_refused_total";
pub(crate) const STORE_QUERIES_SHED: &str = "learnstream_intake_store_queries_shed_total";
pub(crate) const CHECK_ROUND_IDS: &str = "learnstream_intake_check_round_ids";
pub(crate) const CHECK_SECONDS: &str = "learnstream_intake_check_duration_seconds";
pub(crate) const ID_CHECKS: &str = "learnstream_intake_id_checks_total";
pub(crate) const KNOWN_IDS: &str = "learnstream_intake_known_ids";
pub(crate) const KNOWN_IDS_BARRIER_SECONDS: &str = "learnstream_intake_known_ids_barrier_seconds";
pub(crate) const KNOWN_IDS_BYTES: &str = "learnstream_intake_known_ids_bytes";
pub(crate) const KNOWN_IDS_READY: &str = "learnstream_intake_known_ids_ready";

/// Registers the descriptions of the intake's metrics with the installed recorder.
pub fn describe() {
    metrics::describe_gauge!(CONNECTIONS_OPEN, "HTTP connections open");
    metrics::describe_counter!(
        CONNECTIONS_REFUSED,
        "connections closed on arrival because http.max_connections were open"
    );
    metrics::describe_counter!(
        STORE_QUERIES_SHED,
        "requests answered 503 because their kind of ClickHouse query (check, read) had all its slots busy for http.store_wait_ms"
    );
    metrics::describe_histogram!(
        CHECK_ROUND_IDS,
        "ids asked in one round of writes' checks, after gathering concurrent requests"
    );
    metrics::describe_histogram!(
        CHECK_SECONDS,
        metrics::Unit::Seconds,
        "time from a write's check entering the queue to its answer, by stage (queued: until its round starts; query: the round's query)"
    );
    metrics::describe_counter!(
        ID_CHECKS,
        "ids a write asked to check against what is stored, by answer (new: the filter of known ids has never seen it, no query; asked: sent to ClickHouse)"
    );
    metrics::describe_gauge!(
        KNOWN_IDS,
        "statements in the intake's filter of known ids (stored, accepted, or seen on the statements topic)"
    );
    metrics::describe_gauge!(
        KNOWN_IDS_BYTES,
        metrics::Unit::Bytes,
        "memory of the intake's filter of known ids"
    );
    metrics::describe_histogram!(
        KNOWN_IDS_BARRIER_SECONDS,
        metrics::Unit::Seconds,
        "how long a check waited for the filter of known ids to have read the statements topic up to its end as of the check"
    );
    metrics::describe_gauge!(
        KNOWN_IDS_READY,
        "1 once the filter of known ids holds every stored statement and follows the statements topic; before, every check asks ClickHouse"
    );
    metrics::describe_histogram!(
        READ_YOUR_WRITES_SECONDS,
        metrics::Unit::Seconds,
        "time from Kafka's acknowledgement to the sink having stored a read-your-writes request"
    );
    metrics::describe_counter!(
        READ_YOUR_WRITES_TIMEOUTS,
        "read-your-writes requests answered before their statements were readable"
    );
    metrics::describe_counter!(
        STATEMENTS_ACCEPTED,
        "statements acknowledged by Kafka and answered as accepted"
    );
    metrics::describe_histogram!(
        PRODUCE_SECONDS,
        metrics::Unit::Seconds,
        "time from handing a coalesced message to the producer to the brokers' acknowledgement"
    );
    metrics::describe_histogram!(
        BATCH_STATEMENTS,
        "statements per Kafka message after coalescing concurrent requests"
    );
    metrics::describe_counter!(
        PRODUCE_FAILURES,
        "requests whose statements Kafka did not acknowledge, by reason (queue_full, failed)"
    );
}
