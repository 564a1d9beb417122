//! A batch in the making: rows decoded from messages, messages to dead-letter, and per partition
//! the last offset the batch covers. Pure: no I/O, so every rule is unit-tested.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use learnstream_kafka::{AttachmentData, DecodedBatch, decode_batch, encode_batch};
use learnstream_store::{AttachmentRow, FilterMatches, StatementRow, VoidRow};
use learnstream_xapi::{ObjectType, VOIDED_VERB, extract_columns};
use uuid::Uuid;

use crate::SinkConfig;

/// A message that cannot be stored, kept with where it came from and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeadLetter {
    pub(crate) partition: i32,
    pub(crate) offset: i64,
    pub(crate) key: Option<Vec<u8>>,
    pub(crate) payload: Vec<u8>,
    pub(crate) reason: String,
}

/// A message whose statements are in the batch: where it came from and how many rows and
/// attachments it gave. Its bytes are not kept (a batch would hold every statement twice): should
/// the message turn out never to be storable, it is encoded again from its rows, whose `raw` is
/// each statement as the message carried it.
#[derive(Debug)]
pub(crate) struct Received {
    partition: i32,
    offset: i64,
    key: Option<Vec<u8>>,
    rows: usize,
    attachments: usize,
}

/// One message's part of a batch, stored on its own.
#[derive(Debug)]
pub(crate) struct Single {
    pub(crate) message: Received,
    pub(crate) rows: Vec<StatementRow>,
    pub(crate) attachments: Vec<AttachmentRow>,
}

impl Single {
    /// The message as a dead letter: its statements and attachments in a `statement-batch`
    /// message again, with its key and origin.
    pub(crate) fn into_dead_letter(self, reason: String) -> DeadLetter {
        let tenant = self.rows.first().map_or("", |row| row.tenant.as_str());
        let attachments: Vec<AttachmentData> = self
            .attachments
            .iter()
            .map(|attachment| AttachmentData {
                sha2: attachment.sha2.clone(),
                content_type: attachment.content_type.clone(),
                data: attachment.data.clone().into(),
            })
            .collect();
        let payload = encode_batch(
            tenant,
            self.rows.iter().map(|row| row.raw.as_str()),
            &attachments.iter().collect::<Vec<_>>(),
        );
        DeadLetter {
            partition: self.message.partition,
            offset: self.message.offset,
            key: self.message.key,
            payload,
            reason,
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Batch {
    pub(crate) rows: Vec<StatementRow>,
    /// The messages the rows came from, in order.
    pub(crate) messages: Vec<Received>,
    /// The bytes of the statements' attachments, stored before the statements.
    pub(crate) attachments: Vec<AttachmentRow>,
    pub(crate) dead_letters: Vec<DeadLetter>,
    /// Per partition, the offset of the last message in the batch.
    pub(crate) last_offsets: BTreeMap<i32, i64>,
    bytes: usize,
    started: Option<Instant>,
}

impl Batch {
    /// Adds one message: its statements become rows, or the whole message becomes a dead
    /// letter if any part of it cannot be stored. Either way the batch now covers its offset.
    pub(crate) fn add_message(
        &mut self,
        partition: i32,
        offset: i64,
        key: Option<&[u8]>,
        payload: Option<&[u8]>,
        now: Instant,
    ) {
        self.started.get_or_insert(now);
        // After a rebalance hands a partition back to this consumer, Kafka delivers again from
        // the committed offset: the batch may see an offset twice. It still covers the highest.
        let last = self.last_offsets.entry(partition).or_insert(offset);
        *last = (*last).max(offset);
        let payload = payload.unwrap_or_default();
        match rows_from_payload(payload) {
            Ok((rows, attachments)) => {
                self.bytes += payload.len();
                let rows_start = self.rows.len();
                let attachments_start = self.attachments.len();
                self.rows.extend(rows);
                self.attachments.extend(attachments);
                self.messages.push(Received {
                    partition,
                    offset,
                    key: key.map(<[u8]>::to_vec),
                    rows: self.rows.len() - rows_start,
                    attachments: self.attachments.len() - attachments_start,
                });
            }
            Err(reason) => self.dead_letters.push(DeadLetter {
                partition,
                offset,
                key: key.map(<[u8]>::to_vec),
                payload: payload.to_vec(),
                reason,
            }),
        }
    }

    /// Takes the statements and attachments out of the batch, one part per message, in order;
    /// the batch keeps its dead letters and offsets.
    pub(crate) fn take_singles(&mut self) -> Vec<Single> {
        let mut rows = std::mem::take(&mut self.rows).into_iter();
        let mut attachments = std::mem::take(&mut self.attachments).into_iter();
        std::mem::take(&mut self.messages)
            .into_iter()
            .map(|message| Single {
                rows: rows.by_ref().take(message.rows).collect(),
                attachments: attachments.by_ref().take(message.attachments).collect(),
                message,
            })
            .collect()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.last_offsets.is_empty()
    }

    pub(crate) fn is_full(&self, config: &SinkConfig) -> bool {
        self.rows.len() >= config.max_batch_rows || self.bytes >= config.max_batch_bytes
    }

    /// When the batch must be flushed even if it is not full.
    pub(crate) fn deadline(&self, max_wait: Duration) -> Option<Instant> {
        self.started.map(|started| started + max_wait)
    }

    /// How long ago the batch's first message arrived.
    pub(crate) fn age(&self) -> Duration {
        self.started
            .map_or(Duration::ZERO, |started| started.elapsed())
    }

    /// Whether the batch's first message arrived at least `age` ago (an empty batch is not).
    pub(crate) fn is_older_than(&self, age: Duration) -> bool {
        self.started.is_some_and(|started| started.elapsed() >= age)
    }
}

/// Whether any statement of the batch has a StatementRef object.
pub(crate) fn has_statement_refs(rows: &[StatementRow]) -> bool {
    rows.iter().any(|row| statement_ref(row).is_some())
}

/// The statements a batch's StatementRef objects target that are not in the batch itself, per
/// tenant: their filter arrays must come from ClickHouse.
pub(crate) fn targets_outside(rows: &[StatementRow]) -> BTreeMap<String, Vec<Uuid>> {
    let in_batch: HashSet<(&str, Uuid)> = rows
        .iter()
        .map(|row| (row.tenant.as_str(), row.statement_id))
        .collect();
    let mut outside: BTreeMap<String, Vec<Uuid>> = BTreeMap::new();
    for row in rows {
        if let Some(target) = statement_ref(row)
            && !in_batch.contains(&(row.tenant.as_str(), target))
        {
            outside.entry(row.tenant.clone()).or_default().push(target);
        }
    }
    outside
}

/// The StatementRef rule of Communication 2.1.3: a statement that targets another matches the
/// filters the target matches. Targets come from the batch itself (earlier rows first, with what
/// they inherited) or from `stored`; a target stored nowhere yet adds nothing.
pub(crate) fn inherit_target_matches(
    rows: &mut [StatementRow],
    stored: &HashMap<(String, Uuid), FilterMatches>,
) {
    let targets: HashSet<(String, Uuid)> = rows
        .iter()
        .filter_map(|row| Some((row.tenant.clone(), statement_ref(row)?)))
        .collect();
    // Where each targeted statement stands in the batch, its first copy if it is there twice.
    let mut positions: HashMap<(String, Uuid), usize> = HashMap::with_capacity(targets.len());
    for (position, row) in rows.iter().enumerate() {
        let key = (row.tenant.clone(), row.statement_id);
        if targets.contains(&key) {
            positions.entry(key).or_insert(position);
        }
    }
    for index in 0..rows.len() {
        let Some(target) = statement_ref(&rows[index]) else {
            continue;
        };
        let key = (rows[index].tenant.clone(), target);
        let inherited = match positions.get(&key) {
            Some(&position) => Some(rows[position].filter_matches()),
            None => stored.get(&key).cloned(),
        };
        if let Some(inherited) = inherited {
            rows[index].inherit_matches(&inherited);
        }
    }
}

/// Per tenant, the statements the batch's voiding statements void (Data 2.3.2).
pub(crate) fn voided_targets(rows: &[StatementRow]) -> BTreeMap<String, Vec<Uuid>> {
    let mut voided: BTreeMap<String, Vec<Uuid>> = BTreeMap::new();
    for row in rows.iter().filter(|row| row.verb_id == VOIDED_VERB) {
        if let Some(target) = statement_ref(row) {
            voided.entry(row.tenant.clone()).or_default().push(target);
        }
    }
    voided
}

/// The `statement_voids` rows of the batch's voiding statements.
pub(crate) fn void_rows(rows: &[StatementRow]) -> Vec<VoidRow> {
    rows.iter()
        .filter(|row| row.verb_id == VOIDED_VERB)
        .filter_map(|row| {
            Some(VoidRow {
                tenant: row.tenant.clone(),
                target_id: statement_ref(row)?,
                voiding_id: row.statement_id,
            })
        })
        .collect()
}

/// Per tenant, the ids of the batch's statements that a voiding statement could target (any
/// but voiding statements): those a void stored earlier may be waiting for.
pub(crate) fn voidable_ids(rows: &[StatementRow]) -> BTreeMap<String, Vec<Uuid>> {
    let mut voidable: BTreeMap<String, Vec<Uuid>> = BTreeMap::new();
    for row in rows.iter().filter(|row| row.verb_id != VOIDED_VERB) {
        voidable
            .entry(row.tenant.clone())
            .or_default()
            .push(row.statement_id);
    }
    voidable
}

fn statement_ref(row: &StatementRow) -> Option<Uuid> {
    (row.object_type == ObjectType::StatementRef.as_str())
        .then(|| Uuid::try_parse(&row.object_id).ok())
        .flatten()
}

/// Decodes a `statement-batch` message into statement and attachment rows, or says why it
/// cannot be stored.
pub(crate) fn rows_from_payload(
    payload: &[u8],
) -> Result<(Vec<StatementRow>, Vec<AttachmentRow>), String> {
    if payload.is_empty() {
        return Err("message has no payload".to_owned());
    }
    let batch = decode_batch(payload).map_err(|error| error.to_string())?;
    if batch.tenant.is_empty() {
        return Err("statement batch has an empty tenant".to_owned());
    }
    let rows = statement_rows(&batch)?;
    let stored_us = rows.iter().map(|row| row.stored_us).max().unwrap_or(0);
    let attachments = batch
        .attachments
        .into_iter()
        .map(|attachment| AttachmentRow {
            tenant: batch.tenant.clone().into_owned(),
            sha2: attachment.sha2,
            content_type: attachment.content_type,
            data: attachment.data.to_vec(),
            stored_us,
        })
        .collect();
    Ok((rows, attachments))
}

fn statement_rows(batch: &DecodedBatch<'_>) -> Result<Vec<StatementRow>, String> {
    batch
        .statements
        .iter()
        .enumerate()
        .map(|(index, raw)| {
            statement_row(&batch.tenant, raw.get())
                .map_err(|error| format!("statements[{index}]: {error}"))
        })
        .collect()
}

/// The row the sink stores for one normalized statement of `tenant` (not voided, and with the
/// filter arrays of its own values: a StatementRef target's are added when the batch is
/// stored).
pub fn statement_row(tenant: &str, raw: &str) -> Result<StatementRow, learnstream_xapi::Error> {
    Ok(StatementRow::new(tenant, raw, extract_columns(raw)?))
}

#[cfg(test)]
mod tests {
    use learnstream_kafka::encode_batch;

    use super::*;

    const STATEMENT: &str = r#"{"id":"6fa459ea-ee8a-3ca4-894e-db77e160355e","stored":"2026-11-23T10:00:00.5Z","timestamp":"2026-11-23T09:59:00Z","actor":{"mbox":"mailto:a@example.org"},"verb":{"id":"http://adlnet.gov/expapi/verbs/passed"},"object":{"id":"https://example.org/quiz"},"result":{"success":true,"score":{"scaled":0.9}},"version":"1.0.0"}"#;

    #[test]
    fn a_good_message_becomes_rows_with_the_raw_statement() {
        let (rows, attachments) =
            rows_from_payload(&encode_batch("district-7", [STATEMENT, STATEMENT], &[])).unwrap();
        assert!(attachments.is_empty());
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].tenant, "district-7");
        assert_eq!(rows[0].raw, STATEMENT);
        assert_eq!(rows[0].verb_id, "http://adlnet.gov/expapi/verbs/passed");
        assert_eq!(rows[0].result_success, Some(true));
        assert_eq!(rows[0].score_scaled, Some(0.9));
        assert_eq!(rows[0].voided, 0);
    }

    #[test]
    fn poison_is_explained() {
        let cases: [(&[u8], &str); 4] = [
            (b"", "message has no payload"),
            (b"garbage", "statement batch is malformed"),
            (
                br#"{"schema":1,"tenant":"","statements":[]}"#,
                "statement batch has an empty tenant",
            ),
            (
                br#"{"schema":1,"tenant":"t","statements":[{"id":"x"}]}"#,
                "statements[0]: ",
            ),
        ];
        for (payload, expected) in cases {
            let reason = rows_from_payload(payload).unwrap_err();
            assert!(
                reason.starts_with(expected),
                "{reason:?} should start with {expected:?}"
            );
        }
    }

    #[test]
    fn a_batch_covers_every_offset_and_keeps_poison_aside() {
        let now = Instant::now();
        let good = encode_batch("t", [STATEMENT], &[]);
        let mut batch = Batch::default();
        assert!(batch.is_empty());
        assert_eq!(batch.deadline(Duration::from_secs(1)), None);
        batch.add_message(0, 10, None, Some(&good), now);
        batch.add_message(1, 3, Some(b"k"), Some(b"not json"), now);
        batch.add_message(0, 11, None, Some(&good), now);
        assert_eq!(batch.rows.len(), 2);
        assert_eq!(batch.dead_letters.len(), 1);
        assert_eq!(batch.dead_letters[0].offset, 3);
        assert_eq!(batch.dead_letters[0].key.as_deref(), Some(&b"k"[..]));
        assert_eq!(batch.last_offsets, BTreeMap::from([(0, 11), (1, 3)]));
        assert_eq!(
            batch.deadline(Duration::from_secs(1)),
            Some(now + Duration::from_secs(1))
        );
    }

    #[test]
    fn a_batch_splits_into_its_messages_rows_and_bytes() {
        let one = encode_batch("t", [STATEMENT], &[]);
        let two = encode_batch("u", [STATEMENT, STATEMENT], &[]);
        let mut batch = Batch::default();
        batch.add_message(0, 1, Some(b"a"), Some(&one), Instant::now());
        batch.add_message(0, 2, None, Some(b"poison"), Instant::now());
        batch.add_message(1, 7, None, Some(&two), Instant::now());
        let singles = batch.take_singles();
        assert_eq!(singles.len(), 2);
        assert_eq!(singles[0].rows.len(), 1);
        assert_eq!(singles[0].rows[0].tenant, "t");
        assert_eq!(singles[1].rows.len(), 2);
        assert_eq!(singles[1].rows[1].tenant, "u");
        assert!(batch.rows.is_empty() && batch.messages.is_empty());
        assert_eq!(
            batch.dead_letters.len(),
            1,
            "the poison stays a dead letter"
        );
        let dead = singles
            .into_iter()
            .nth(1)
            .unwrap()
            .into_dead_letter("why".into());
        assert_eq!((dead.partition, dead.offset), (1, 7));
        assert_eq!(
            dead.payload, two,
            "the same statements in the same message again"
        );
        assert_eq!(dead.reason, "why");
    }

    #[test]
    fn voiding_statements_record_their_targets_and_others_can_be_voided() {
        let target = Uuid::parse_str("6fa459ea-ee8a-3ca4-894e-db77e160355e").unwrap();
        let void = format!(
            r#"{{"id":"0f2c4c3b-7d7b-4d55-9d32-2a8f7f7a1a11","stored":"2026-11-23T10:00:00.5Z","timestamp":"2026-11-23T09:59:00Z","actor":{{"mbox":"mailto:a@example.org"}},"verb":{{"id":"{VOIDED_VERB}"}},"object":{{"objectType":"StatementRef","id":"{target}"}},"version":"1.0.0"}}"#
        );
        let (rows, _) =
            rows_from_payload(&encode_batch("t", [void.as_str(), STATEMENT], &[])).unwrap();
        let voids = void_rows(&rows);
        assert_eq!(voids.len(), 1);
        assert_eq!(voids[0].target_id, target);
        assert_eq!(voids[0].voiding_id, rows[0].statement_id);
        assert_eq!(
            voidable_ids(&rows),
            BTreeMap::from([("t".to_owned(), vec![target])]),
            "a voiding statement cannot be voided"
        );
    }

    #[test]
    fn a_partition_delivered_again_after_a_rebalance_keeps_its_highest_offset() {
        let good = encode_batch("t", [STATEMENT], &[]);
        let mut batch = Batch::default();
        for offset in [5, 6, 7, 5, 6] {
            batch.add_message(2, offset, None, Some(&good), Instant::now());
        }
        assert_eq!(batch.last_offsets, BTreeMap::from([(2, 7)]));
        assert_eq!(
            batch.rows.len(),
            5,
            "the repeats land once, by the table's key"
        );
    }

    #[test]
    fn a_batch_is_full_by_rows_or_bytes() {
        let good = encode_batch("t", [STATEMENT], &[]);
        let mut batch = Batch::default();
        batch.add_message(0, 0, None, Some(&good), Instant::now());
        let by_rows = SinkConfig {
            max_batch_rows: 1,
            ..SinkConfig::default()
        };
        let by_bytes = SinkConfig {
            max_batch_bytes: good.len(),
            ..SinkConfig::default()
        };
        assert!(batch.is_full(&by_rows));
        assert!(batch.is_full(&by_bytes));
        assert!(!batch.is_full(&SinkConfig::default()));
    }
}
