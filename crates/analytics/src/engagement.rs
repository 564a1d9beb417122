//! Engagement of one learner from their statements: activity per day, sessions, time on task,
//! streaks, completion, and whether they are at risk.

use learnstream_xapi::ObjectType;
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use learnstream_store::LearnerStatement;

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// How engagement is measured (`[analytics.engagement]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngagementRules {
    /// A gap without statements longer than this ends a session.
    pub session_gap_minutes: u32,
    /// A learner without a statement for this many days is at risk.
    pub inactive_days: u32,
    /// A learner whose newest evidence lowered a competency's mastery by this much or more is
    /// at risk.
    pub mastery_drop: f64,
    /// Verbs that complete their object, besides any statement with `result.completion` true.
    pub completion_verbs: Vec<String>,
}

impl Default for EngagementRules {
    fn default() -> Self {
        EngagementRules {
            session_gap_minutes: 30,
            inactive_days: 7,
            mastery_drop: 0.1,
            completion_verbs: [
                "http://adlnet.gov/expapi/verbs/completed",
                "http://adlnet.gov/expapi/verbs/passed",
                "http://adlnet.gov/expapi/verbs/mastered",
            ]
            .map(str::to_owned)
            .to_vec(),
        }
    }
}

impl EngagementRules {
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.session_gap_minutes == 0 {
            return Err("analytics.engagement.session_gap_minutes: must be at least 1".to_owned());
        }
        if self.inactive_days == 0 {
            return Err("analytics.engagement.inactive_days: must be at least 1".to_owned());
        }
        if !(self.mastery_drop > 0.0 && self.mastery_drop <= 1.0) {
            return Err(
                "analytics.engagement.mastery_drop: must be above 0 and at most 1".to_owned(),
            );
        }
        Ok(())
    }
}

/// One learner's engagement over the statements read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Engagement {
    pub statements: u64,
    /// Days (UTC) with at least one statement.
    pub active_days: u64,
    pub sessions: u64,
    /// `result.duration` summed over a session's statements that carry one; a session where
    /// none does counts from its first statement to its last.
    pub time_on_task_seconds: f64,
    pub statements_by_verb: BTreeMap<String, u64>,
    /// Consecutive active days ending today or yesterday (UTC, as of the query).
    pub current_streak_days: u64,
    /// The newest statement's timestamp, RFC 3339.
    #[schema(format = DateTime)]
    pub last_activity: Option<String>,
    /// Activities (objects) the learner worked on, and those they completed.
    pub activities_attempted: u64,
    pub activities_completed: u64,
    /// `activities_completed / activities_attempted`; `None` without activities.
    pub completion_rate: Option<f64>,
    /// Per active day.
    pub days: Vec<DayEngagement>,
    #[serde(skip)]
    pub last_activity_us: Option<i64>,
}

/// One day's engagement.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = Day)]
pub struct DayEngagement {
    /// `YYYY-MM-DD`, UTC.
    pub date: String,
    pub statements: u64,
    /// Sessions that started that day.
    pub sessions: u64,
    pub time_on_task_seconds: f64,
}

/// Measures one learner's statements, which must be in timestamp order, as of `as_of_us`.
pub(crate) fn measure(
    statements: &[LearnerStatement],
    rules: &EngagementRules,
    as_of_us: i64,
) -> Engagement {
    debug_assert!(
        statements
            .windows(2)
            .all(|pair| pair[0].timestamp_us <= pair[1].timestamp_us),
        "statements must be in timestamp order"
    );
    let mut engagement = Engagement {
        statements: statements.len() as u64,
        ..Engagement::default()
    };
    let gap_us = i64::from(rules.session_gap_minutes) * 60_000_000;
    let mut days: BTreeMap<i64, DayEngagement> = BTreeMap::new();
    let mut attempted = BTreeSet::new();
    let mut completed = BTreeSet::new();
    let mut session: Option<Session> = None;
    for statement in statements {
        *engagement
            .statements_by_verb
            .entry(statement.verb_id.clone())
            .or_default() += 1;
        let day = statement.timestamp_us.div_euclid(MICROS_PER_DAY);
        days.entry(day)
            .or_insert_with(|| DayEngagement {
                date: date_of_day(day),
                statements: 0,
                sessions: 0,
                time_on_task_seconds: 0.0,
            })
            .statements += 1;
        if statement.object_type == ObjectType::Activity.as_str() {
            attempted.insert(statement.object_id.as_str());
            let completes = statement.result_completion == Some(true)
                || rules.completion_verbs.contains(&statement.verb_id);
            if completes {
                completed.insert(statement.object_id.as_str());
            }
        }
        match &mut session {
            Some(current) if statement.timestamp_us - current.last_us <= gap_us => {
                current.add(statement);
            }
            _ => {
                if let Some(ended) = session.take() {
                    ended.record(&mut engagement, &mut days);
                }
                session = Some(Session::start(statement));
            }
        }
    }
    if let Some(ended) = session.take() {
        ended.record(&mut engagement, &mut days);
    }
    engagement.active_days = days.len() as u64;
    engagement.current_streak_days = current_streak(days.keys().copied(), as_of_us);
    engagement.last_activity_us = statements.last().map(|statement| statement.timestamp_us);
    engagement.last_activity = engagement.last_activity_us.map(rfc3339);
    engagement.activities_attempted = attempted.len() as u64;
    engagement.activities_completed = completed.len() as u64;
    engagement.completion_rate =
        (!attempted.is_empty()).then(|| completed.len() as f64 / attempted.len() as f64);
    engagement.days = days.into_values().collect();
    engagement
}

struct Session {
    first_us: i64,
    last_us: i64,
    reported_ms: Option<u64>,
}

impl Session {
    fn start(statement: &LearnerStatement) -> Self {
        Session {
            first_us: statement.timestamp_us,
            last_us: statement.timestamp_us,
            reported_ms: statement.duration_ms,
        }
    }

    fn add(&mut self, statement: &LearnerStatement) {
        self.last_us = statement.timestamp_us;
        if let Some(duration) = statement.duration_ms {
            self.reported_ms = Some(self.reported_ms.unwrap_or(0) + duration);
        }
    }

    fn record(self, engagement: &mut Engagement, days: &mut BTreeMap<i64, DayEngagement>) {
        let seconds = match self.reported_ms {
            Some(reported) => reported as f64 / 1000.0,
            None => (self.last_us - self.first_us) as f64 / 1_000_000.0,
        };
        engagement.sessions += 1;
        engagement.time_on_task_seconds += seconds;
        let day = days
            .get_mut(&self.first_us.div_euclid(MICROS_PER_DAY))
            .expect("a session starts on a day with a statement");
        day.sessions += 1;
        day.time_on_task_seconds += seconds;
    }
}

/// Consecutive active days ending at the newest one, if that is today or yesterday.
fn current_streak(active_days: impl DoubleEndedIterator<Item = i64>, as_of_us: i64) -> u64 {
    let today = as_of_us.div_euclid(MICROS_PER_DAY);
    let mut newest_first = active_days.rev().peekable();
    match newest_first.peek() {
        Some(&newest) if newest >= today - 1 => {}
        _ => return 0,
    }
    let mut streak = 0;
    let mut expected = None;
    for day in newest_first {
        if expected.is_some_and(|expected| day != expected) {
            break;
        }
        streak += 1;
        expected = Some(day - 1);
    }
    streak
}

/// Why a learner is at risk, if they are: inactivity, and each competency whose newest evidence
/// lowered mastery by at least `mastery_drop`.
pub(crate) fn risk_reasons(
    engagement: &Engagement,
    mastery_changes: &[(String, f64)],
    rules: &EngagementRules,
    as_of_us: i64,
) -> Vec<String> {
    let mut reasons = Vec::new();
    match engagement.last_activity_us {
        None => reasons.push("no activity in the period".to_owned()),
        Some(last) => {
            let idle_days = (as_of_us - last).div_euclid(MICROS_PER_DAY);
            if idle_days >= i64::from(rules.inactive_days) {
                reasons.push(format!("inactive for {idle_days} days"));
            }
        }
    }
    for (competency, change) in mastery_changes {
        if *change <= -rules.mastery_drop {
            reasons.push(format!(
                "mastery of {competency} fell by {:.2} with the newest evidence",
                -change
            ));
        }
    }
    reasons
}

fn date_of_day(day: i64) -> String {
    rfc3339(day * MICROS_PER_DAY)[..10].to_owned()
}

/// RFC 3339 with milliseconds, UTC.
pub(crate) fn rfc3339(unix_us: i64) -> String {
    learnstream_xapi::from_unix_micros(unix_us)
        .format(&time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        ))
        .expect("a UTC instant formats")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_statement;

    const MINUTE: i64 = 60_000_000;
    /// 2026-11-02T00:00:00Z
    const MONDAY: i64 = 1_793_577_600_000_000;

    fn at(minutes: i64, verb: &str, object: &str) -> LearnerStatement {
        let mut statement = test_statement(verb);
        statement.timestamp_us = MONDAY + minutes * MINUTE;
        statement.object_id = object.to_owned();
        statement
    }

    const EXPERIENCED: &str = "http://adlnet.gov/expapi/verbs/experienced";
    const COMPLETED: &str = "http://adlnet.gov/expapi/verbs/completed";

    #[test]
    fn sessions_days_time_and_completion() {
        let mut with_duration = at(100, EXPERIENCED, "b");
        with_duration.duration_ms = Some(300_000);
        let statements = vec![
            // Monday, session 1: 9:00 to 9:20 with no durations: 20 minutes.
            at(540, EXPERIENCED, "a"),
            at(550, EXPERIENCED, "a"),
            at(560, COMPLETED, "a"),
            // 31 minutes later: session 2, one statement reporting 5 minutes.
            {
                let mut later = with_duration.clone();
                later.timestamp_us = MONDAY + 591 * MINUTE;
                later
            },
            // Tuesday: session 3, a single statement: no time.
            at(24 * 60 + 600, EXPERIENCED, "c"),
        ];
        let as_of = MONDAY + 2 * 24 * 60 * MINUTE + 1;
        let engagement = measure(&statements, &EngagementRules::default(), as_of);
        assert_eq!(engagement.statements, 5);
        assert_eq!(engagement.sessions, 3);
        assert_eq!(engagement.active_days, 2);
        assert_eq!(engagement.time_on_task_seconds, 20.0 * 60.0 + 300.0);
        assert_eq!(engagement.statements_by_verb[EXPERIENCED], 4);
        assert_eq!(engagement.statements_by_verb[COMPLETED], 1);
        assert_eq!(engagement.activities_attempted, 3);
        assert_eq!(engagement.activities_completed, 1);
        assert_eq!(engagement.completion_rate, Some(1.0 / 3.0));
        assert_eq!(
            engagement.current_streak_days, 2,
            "Monday and Tuesday, as of Wednesday"
        );
        assert_eq!(
            engagement.last_activity.as_deref(),
            Some("2026-11-03T10:00:00.000Z")
        );
        assert_eq!(engagement.days.len(), 2);
        assert_eq!(engagement.days[0].date, "2026-11-02");
        assert_eq!(engagement.days[0].statements, 4);
        assert_eq!(engagement.days[0].sessions, 2);
        assert_eq!(engagement.days[1].time_on_task_seconds, 0.0);

        let much_later = MONDAY + 10 * 24 * 60 * MINUTE;
        let idle = measure(&statements, &EngagementRules::default(), much_later);
        assert_eq!(idle.current_streak_days, 0);
        assert_eq!(
            risk_reasons(&idle, &[], &EngagementRules::default(), much_later),
            ["inactive for 8 days"]
        );
        assert!(risk_reasons(&engagement, &[], &EngagementRules::default(), as_of).is_empty());
    }

    #[test]
    fn a_streak_breaks_on_a_missing_day() {
        let day = 24 * 60;
        let statements = vec![
            at(0, EXPERIENCED, "a"),
            at(2 * day, EXPERIENCED, "a"),
            at(3 * day, EXPERIENCED, "a"),
        ];
        let engagement = measure(
            &statements,
            &EngagementRules::default(),
            MONDAY + 3 * day * MINUTE,
        );
        assert_eq!(engagement.current_streak_days, 2);
    }

    #[test]
    fn falling_mastery_is_a_risk() {
        let engagement = measure(
            &[at(0, EXPERIENCED, "a")],
            &EngagementRules::default(),
            MONDAY,
        );
        let reasons = risk_reasons(
            &engagement,
            &[
                ("fractions".to_owned(), -0.25),
                ("decimals".to_owned(), -0.05),
            ],
            &EngagementRules::default(),
            MONDAY,
        );
        assert_eq!(
            reasons,
            ["mastery of fractions fell by 0.25 with the newest evidence"]
        );
        assert_eq!(
            risk_reasons(
                &Engagement::default(),
                &[],
                &EngagementRules::default(),
                MONDAY
            ),
            ["no activity in the period"]
        );
    }
}
