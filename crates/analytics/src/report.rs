//! A learner's mastery per competency and engagement, from their statements in order: what the
//! district API answers and what the mastery events compare.

use serde::Serialize;
use utoipa::ToSchema;

use crate::AnalyticsConfig;
use crate::engagement::{self, Engagement, rfc3339};
use crate::evidence::{Alignments, CompetencyEvidence};
use crate::mastery::{MethodName, assess};
use learnstream_store::LearnerStatement;

/// Mastery of one competency.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CompetencyMastery {
    pub competency_id: String,
    /// The framework the competency belongs to (e.g. a CASE CFDocument), empty if unknown.
    pub framework: String,
    pub method: MethodName,
    /// From 0 to 1 (for bkt: the probability the competency is known).
    pub value: f64,
    pub mastered: bool,
    pub evidence_count: u64,
    /// The newest evidence's timestamp, RFC 3339.
    #[schema(format = DateTime)]
    pub last_evidence_at: String,
    #[serde(skip)]
    pub last_evidence_us: i64,
    pub trend: Trend,
}

/// How the newest evidence moved the value.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Trend {
    pub direction: Direction,
    /// The value minus the value before the newest evidence.
    pub change: Option<f64>,
}

/// Which way the newest evidence moved a mastery value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Rising,
    Falling,
    Steady,
    /// One piece of evidence so far.
    New,
}

/// Below this a change is no change: the rounding of floating-point sums.
const STEADY: f64 = 1e-9;

/// Mastery of every competency the learner's statements are evidence of, by competency id.
pub(crate) fn mastery(
    statements: &[LearnerStatement],
    alignments: &Alignments,
    config: &AnalyticsConfig,
) -> Vec<CompetencyMastery> {
    let gathered = CompetencyEvidence::gather(statements, alignments, &config.evidence);
    gathered
        .by_competency
        .into_iter()
        .filter_map(|(competency_id, (framework, evidence))| {
            let method = config.method(&competency_id);
            let assessment = assess(method, config.mastery_threshold, evidence)?;
            let change = assessment.change();
            let direction = match change {
                None => Direction::New,
                Some(change) if change > STEADY => Direction::Rising,
                Some(change) if change < -STEADY => Direction::Falling,
                Some(_) => Direction::Steady,
            };
            Some(CompetencyMastery {
                competency_id,
                framework,
                method: method.name(),
                value: assessment.value,
                mastered: assessment.mastered,
                evidence_count: assessment.evidence_count as u64,
                last_evidence_at: rfc3339(assessment.last_evidence_us),
                last_evidence_us: assessment.last_evidence_us,
                trend: Trend { direction, change },
            })
        })
        .collect()
}

/// A learner's engagement and whether they are at risk.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct EngagementReport {
    #[serde(flatten)]
    pub engagement: Engagement,
    pub at_risk: bool,
    pub risk_reasons: Vec<String>,
}

/// Engagement and risk of one learner as of `as_of_us`.
pub(crate) fn engagement(
    statements: &[LearnerStatement],
    mastery: &[CompetencyMastery],
    config: &AnalyticsConfig,
    as_of_us: i64,
) -> EngagementReport {
    let measured = engagement::measure(statements, &config.engagement, as_of_us);
    let changes: Vec<(String, f64)> = mastery
        .iter()
        .filter_map(|competency| {
            competency
                .trend
                .change
                .map(|change| (competency.competency_id.clone(), change))
        })
        .collect();
    let risk_reasons = engagement::risk_reasons(&measured, &changes, &config.engagement, as_of_us);
    EngagementReport {
        engagement: measured,
        at_risk: !risk_reasons.is_empty(),
        risk_reasons,
    }
}

/// Splits statements read for several learners (ordered by learner) into each learner's.
pub(crate) fn by_learner(statements: &[LearnerStatement]) -> Vec<(&str, &[LearnerStatement])> {
    let mut learners = Vec::new();
    let mut start = 0;
    for index in 1..=statements.len() {
        if index == statements.len() || statements[index].actor_ifi != statements[start].actor_ifi {
            if start < index {
                learners.push((
                    statements[start].actor_ifi.as_str(),
                    &statements[start..index],
                ));
            }
            start = index;
        }
    }
    learners
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::evidence::Alignment;
    use crate::mastery::{BktParameters, Method};
    use crate::store::test_statement;

    const PASSED: &str = "http://adlnet.gov/expapi/verbs/passed";
    const SCORED: &str = "http://adlnet.gov/expapi/verbs/scored";

    fn scored(index: usize, competency: &str, score: f64) -> LearnerStatement {
        let mut statement = test_statement(SCORED);
        statement.timestamp_us = 1_000_000 * (index as i64 / 2);
        statement.statement_id = format!("00000000-0000-0000-0000-{index:012}");
        statement.competency_ids = vec![competency.to_owned()];
        statement.score_scaled = Some(score);
        statement
    }

    fn config() -> AnalyticsConfig {
        let mut config = AnalyticsConfig::default();
        config
            .competencies
            .insert("bkt".to_owned(), Method::Bkt(BktParameters::default()));
        config
            .competencies
            .insert("recent".to_owned(), Method::MostRecent {});
        config
    }

    #[test]
    fn every_competency_is_assessed_with_its_method_and_trend() {
        let statements = vec![
            scored(0, "fractions", 0.2),
            scored(1, "fractions", 0.4),
            scored(2, "recent", 0.9),
            scored(3, "recent", 0.5),
        ];
        let assessed = mastery(&statements, &Alignments::default(), &config());
        assert_eq!(assessed.len(), 2);
        let fractions = &assessed[0];
        assert_eq!(fractions.competency_id, "fractions");
        assert_eq!(fractions.method, MethodName::DecayingAverage);
        assert!((fractions.value - (0.65 * 0.4 + 0.35 * 0.2)).abs() < 1e-12);
        assert_eq!(fractions.evidence_count, 2);
        assert_eq!(fractions.trend.direction, Direction::Rising);
        let recent = &assessed[1];
        assert_eq!(recent.value, 0.5);
        assert_eq!(recent.trend.direction, Direction::Falling);
        assert_eq!(recent.last_evidence_at, "1970-01-01T00:00:01.000Z");

        let report = engagement(&statements, &assessed, &config(), 2_000_000);
        assert!(report.at_risk);
        assert_eq!(
            report.risk_reasons,
            ["mastery of recent fell by 0.40 with the newest evidence"]
        );
    }

    #[test]
    fn statements_split_by_learner() {
        let mut statements = vec![
            scored(0, "a", 1.0),
            scored(1, "a", 1.0),
            scored(2, "a", 1.0),
        ];
        statements[2].actor_ifi = "mbox:mailto:bo@example.org".into();
        let split = by_learner(&statements);
        assert_eq!(split.len(), 2);
        assert_eq!(split[0].1.len(), 2);
        assert_eq!(split[1].0, "mbox:mailto:bo@example.org");
        assert!(by_learner(&[]).is_empty());
    }

    fn history() -> impl Strategy<Value = Vec<LearnerStatement>> {
        prop::collection::vec((0..3usize, 0.0..=1.0f64, any::<bool>()), 1..40).prop_map(|draws| {
            draws
                .into_iter()
                .enumerate()
                .map(|(index, (competency, score, passed))| {
                    let names = ["fractions", "bkt", "recent"];
                    let mut statement = scored(index, names[competency], score);
                    if passed {
                        statement.verb_id = PASSED.to_owned();
                        statement.score_scaled = None;
                        statement.object_id = "https://example.org/aligned".to_owned();
                    }
                    statement
                })
                .collect()
        })
    }

    proptest! {
        /// Late or replayed statements give the numbers in-order delivery gives: the same
        /// statements in any arrival order assess the same.
        #[test]
        fn arrival_order_does_not_change_mastery(
            statements in history(),
            seed in any::<u64>(),
        ) {
            let alignments = Alignments::new(vec![Alignment {
                activity_id: "https://example.org/aligned".into(),
                competency_id: "fractions".into(),
                framework: String::new(),
                weight: 2.0,
            }]);
            let in_order = mastery(&statements, &alignments, &config());
            let mut shuffled = statements.clone();
            // A Fisher-Yates shuffle driven by the seed.
            let mut state = seed | 1;
            for index in (1..shuffled.len()).rev() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                shuffled.swap(index, (state % (index as u64 + 1)) as usize);
            }
            prop_assert_eq!(mastery(&shuffled, &alignments, &config()), in_order);
        }
    }
}
