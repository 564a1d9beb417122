//! The sink's metrics, named and described in one place.

pub(crate) const STATEMENTS_STORED: &str = "learnstream_sink_statements_stored_total";
pub(crate) const BATCH_ROWS: &str = "learnstream_sink_batch_rows";
pub(crate) const INSERT_SECONDS: &str = "learnstream_sink_insert_duration_seconds";
pub(crate) const DELIVERY_SECONDS: &str = "learnstream_sink_delivery_seconds";
pub(crate) const CONSUMER_LAG: &str = "learnstream_sink_consumer_lag";
pub(crate) const RETRIES: &str = "learnstream_sink_retries_total";
pub(crate) const DEAD_LETTERS: &str = "learnstream_sink_dead_letters_total";
pub(crate) const PERMANENT_FAILURES: &str = "learnstream_sink_permanent_failures_total";
pub(crate) const PARTITIONS_ASSIGNED: &str = "learnstream_sink_partitions_assigned";
pub(crate) const UNASSIGNED_SECONDS: &str = "learnstream_sink_unassigned_seconds";
pub(crate) const REJOINS: &str = "learnstream_sink_rejoins_total";

/// Registers the descriptions of the sink's metrics with the installed recorder.
pub fn describe() {
    metrics::describe_counter!(STATEMENTS_STORED, "statements inserted into ClickHouse");
    metrics::describe_histogram!(BATCH_ROWS, "statements per inserted batch");
    metrics::describe_histogram!(
        INSERT_SECONDS,
        metrics::Unit::Seconds,
        "time of one successful INSERT of a batch"
    );
    metrics::describe_histogram!(
        DELIVERY_SECONDS,
        metrics::Unit::Seconds,
        "time from a message's creation by the producer to its receipt by the sink (clocks of two hosts when they differ)"
    );
    metrics::describe_gauge!(
        CONSUMER_LAG,
        "messages of the statements topic not yet stored, per partition this sink consumes (every 5 s)"
    );
    metrics::describe_counter!(
        RETRIES,
        "failed attempts that were retried, by operation (read_targets, insert_attachments, insert, read_voids, void, dead_letter)"
    );
    metrics::describe_counter!(
        PERMANENT_FAILURES,
        "failures no retry can fix (ClickHouse refused the request itself), by operation; the batch is then stored message by message and what still fails is dead-lettered"
    );
    metrics::describe_gauge!(
        PARTITIONS_ASSIGNED,
        "partitions of the statements topic this sink holds"
    );
    metrics::describe_gauge!(
        UNASSIGNED_SECONDS,
        "how long this sink has held no partition while the topic has some (0 while it holds one)"
    );
    metrics::describe_counter!(
        REJOINS,
        "times the sink left and rejoined its group after holding no partition for longer than its session timeout"
    );
    metrics::describe_counter!(DEAD_LETTERS, "messages sent to the dead-letter topic");
}
