//! From a learner's statement to evidence of competencies: which competencies it is evidence for
//! (alignment), and how strong the evidence is (the configurable score rules).

use learnstream_xapi::ObjectType;
use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::mastery::Evidence;
use learnstream_store::LearnerStatement;

/// The ADL verbs and the cmi5 verbs whose results are evidence.
const DEFAULT_RESULT_VERBS: [&str; 8] = [
    "http://adlnet.gov/expapi/verbs/answered",
    "http://adlnet.gov/expapi/verbs/passed",
    "http://adlnet.gov/expapi/verbs/failed",
    "http://adlnet.gov/expapi/verbs/completed",
    "http://adlnet.gov/expapi/verbs/mastered",
    "http://adlnet.gov/expapi/verbs/scored",
    "http://adlnet.gov/expapi/verbs/attempted",
    "https://w3id.org/xapi/adl/verbs/satisfied",
];

/// How statements become evidence (`[analytics.evidence]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvidenceRules {
    /// Verbs whose statements are evidence. Their result gives the score, in this order:
    /// `score.scaled` (below 0 counts as 0); `score.raw` within `score.min`..`score.max`;
    /// `success` (1 or 0); else the verb's entry in `verb_scores`. Empty: every verb.
    pub verbs: Vec<String>,
    /// The score a verb implies when its statement carries no usable result (e.g. a bare
    /// `passed` is 1, a bare `failed` 0).
    pub verb_scores: BTreeMap<String, f64>,
    /// An attempt without `result.success` counts as right, for Bayesian Knowledge Tracing,
    /// when its score reaches this.
    pub correct_at: f64,
}

impl Default for EvidenceRules {
    fn default() -> Self {
        EvidenceRules {
            verbs: DEFAULT_RESULT_VERBS.map(str::to_owned).to_vec(),
            verb_scores: [
                ("http://adlnet.gov/expapi/verbs/passed", 1.0),
                ("http://adlnet.gov/expapi/verbs/failed", 0.0),
                ("http://adlnet.gov/expapi/verbs/mastered", 1.0),
                ("https://w3id.org/xapi/adl/verbs/satisfied", 1.0),
            ]
            .into_iter()
            .map(|(verb, score)| (verb.to_owned(), score))
            .collect(),
            correct_at: 0.5,
        }
    }
}

impl EvidenceRules {
    pub(crate) fn validate(&self) -> Result<(), String> {
        for (verb, score) in &self.verb_scores {
            if !(0.0..=1.0).contains(score) {
                return Err(format!(
                    "analytics.evidence.verb_scores.{verb:?}: must be between 0 and 1, not {score}"
                ));
            }
        }
        if !(0.0..=1.0).contains(&self.correct_at) {
            return Err("analytics.evidence.correct_at: must be between 0 and 1".to_owned());
        }
        Ok(())
    }

    /// The statement's score from 0 to 1 and whether it was right; `None` if it is no evidence.
    pub fn score(&self, statement: &LearnerStatement) -> Option<(f64, bool)> {
        if !self.verbs.is_empty() && !self.verbs.contains(&statement.verb_id) {
            return None;
        }
        let from_result = statement
            .score_scaled
            .map(|scaled| scaled.clamp(0.0, 1.0))
            .or_else(|| {
                match (
                    statement.score_raw,
                    statement.score_min,
                    statement.score_max,
                ) {
                    (Some(raw), Some(min), Some(max)) if max > min => {
                        Some(((raw - min) / (max - min)).clamp(0.0, 1.0))
                    }
                    _ => None,
                }
            });
        let score = from_result
            .or_else(|| {
                statement
                    .result_success
                    .map(|success| f64::from(u8::from(success)))
            })
            .or_else(|| self.verb_scores.get(&statement.verb_id).copied())?;
        let correct = statement.result_success.unwrap_or(score >= self.correct_at);
        Some((score, correct))
    }
}

/// One row of the alignment table: an activity is evidence of a competency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Alignment {
    pub activity_id: String,
    pub competency_id: String,
    /// The framework the competency belongs to (e.g. a CASE CFDocument), empty if unknown.
    pub framework: String,
    /// How much this activity's evidence counts, for the mean-based methods.
    pub weight: f64,
}

/// A tenant's alignments by activity.
#[derive(Debug, Clone, Default)]
pub struct Alignments {
    by_activity: HashMap<String, Vec<Alignment>>,
}

/// A competency a statement is evidence for.
#[derive(Debug, Clone, PartialEq)]
pub struct Aligned<'a> {
    pub competency_id: &'a str,
    pub framework: &'a str,
    pub weight: f64,
}

impl Alignments {
    pub fn new(alignments: Vec<Alignment>) -> Self {
        let mut by_activity: HashMap<String, Vec<Alignment>> = HashMap::new();
        for alignment in alignments {
            by_activity
                .entry(alignment.activity_id.clone())
                .or_default()
                .push(alignment);
        }
        Alignments { by_activity }
    }

    /// The competencies a statement is evidence for: those its object's definition names
    /// (weight 1), and those the alignment table gives its object activity and its parent,
    /// grouping and category activities. A competency reached more than one way counts once,
    /// with its largest weight.
    pub fn competencies<'a>(&'a self, statement: &'a LearnerStatement) -> Vec<Aligned<'a>> {
        let mut aligned: Vec<Aligned<'a>> = statement
            .competency_ids
            .iter()
            .map(|competency_id| Aligned {
                competency_id,
                framework: "",
                weight: 1.0,
            })
            .collect();
        let object = (statement.object_type == ObjectType::Activity.as_str())
            .then_some(&statement.object_id);
        for activity in object.into_iter().chain(&statement.context_activities) {
            for alignment in self.by_activity.get(activity).into_iter().flatten() {
                match aligned
                    .iter_mut()
                    .find(|known| known.competency_id == alignment.competency_id)
                {
                    Some(known) => {
                        known.weight = known.weight.max(alignment.weight);
                        if known.framework.is_empty() {
                            known.framework = &alignment.framework;
                        }
                    }
                    None => aligned.push(Aligned {
                        competency_id: &alignment.competency_id,
                        framework: &alignment.framework,
                        weight: alignment.weight,
                    }),
                }
            }
        }
        aligned
    }
}

/// A learner's evidence, by competency: what each statement is evidence of and how strong.
#[derive(Debug, Default)]
pub(crate) struct CompetencyEvidence {
    pub by_competency: BTreeMap<String, (String, Vec<Evidence>)>,
}

impl CompetencyEvidence {
    /// Reads every statement of one learner.
    pub(crate) fn gather(
        statements: &[LearnerStatement],
        alignments: &Alignments,
        rules: &EvidenceRules,
    ) -> Self {
        let mut gathered = CompetencyEvidence::default();
        for statement in statements {
            let Some((score, correct)) = rules.score(statement) else {
                continue;
            };
            for aligned in alignments.competencies(statement) {
                let (framework, evidence) = gathered
                    .by_competency
                    .entry(aligned.competency_id.to_owned())
                    .or_insert_with(|| (aligned.framework.to_owned(), Vec::new()));
                // The same framework whatever order the statements came in.
                if !aligned.framework.is_empty()
                    && (framework.is_empty() || aligned.framework < framework.as_str())
                {
                    aligned.framework.clone_into(framework);
                }
                evidence.push(Evidence {
                    timestamp_us: statement.timestamp_us,
                    statement_id: statement.statement_id.clone(),
                    score,
                    correct,
                    weight: aligned.weight,
                });
            }
        }
        gathered
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_statement;

    #[test]
    fn score_comes_from_scaled_then_raw_then_success_then_the_verb() {
        let rules = EvidenceRules::default();
        let mut statement = test_statement("http://adlnet.gov/expapi/verbs/scored");
        statement.score_scaled = Some(-0.5);
        assert_eq!(rules.score(&statement), Some((0.0, false)));
        statement.score_scaled = None;
        statement.score_raw = Some(8.0);
        statement.score_min = Some(0.0);
        statement.score_max = Some(10.0);
        assert_eq!(rules.score(&statement), Some((0.8, true)));
        statement.result_success = Some(false);
        assert_eq!(rules.score(&statement), Some((0.8, false)));
        statement.score_raw = None;
        assert_eq!(rules.score(&statement), Some((0.0, false)));
        statement.result_success = None;
        assert_eq!(rules.score(&statement), None, "scored with no result");

        let passed = test_statement("http://adlnet.gov/expapi/verbs/passed");
        assert_eq!(rules.score(&passed), Some((1.0, true)));
        let failed = test_statement("http://adlnet.gov/expapi/verbs/failed");
        assert_eq!(rules.score(&failed), Some((0.0, false)));
        let mut experienced = test_statement("http://adlnet.gov/expapi/verbs/experienced");
        experienced.score_scaled = Some(1.0);
        assert_eq!(rules.score(&experienced), None, "not an evidence verb");
        let any_verb = EvidenceRules {
            verbs: Vec::new(),
            ..EvidenceRules::default()
        };
        assert_eq!(any_verb.score(&experienced), Some((1.0, true)));
    }

    #[test]
    fn competencies_come_from_the_extension_the_object_and_its_context() {
        let alignments = Alignments::new(vec![
            Alignment {
                activity_id: "https://example.org/quiz/1".into(),
                competency_id: "fractions".into(),
                framework: "math".into(),
                weight: 2.0,
            },
            Alignment {
                activity_id: "https://example.org/unit/3".into(),
                competency_id: "decimals".into(),
                framework: "math".into(),
                weight: 1.0,
            },
            Alignment {
                activity_id: "https://example.org/unit/3".into(),
                competency_id: "fractions".into(),
                framework: "math".into(),
                weight: 0.5,
            },
        ]);
        let mut statement = test_statement("http://adlnet.gov/expapi/verbs/passed");
        statement.object_id = "https://example.org/quiz/1".into();
        statement.context_activities = vec!["https://example.org/unit/3".into()];
        statement.competency_ids = vec!["case:reading".into()];
        let aligned = alignments.competencies(&statement);
        assert_eq!(
            aligned,
            [
                Aligned {
                    competency_id: "case:reading",
                    framework: "",
                    weight: 1.0
                },
                Aligned {
                    competency_id: "fractions",
                    framework: "math",
                    weight: 2.0
                },
                Aligned {
                    competency_id: "decimals",
                    framework: "math",
                    weight: 1.0
                },
            ]
        );
        statement.object_type = "StatementRef".into();
        statement.context_activities.clear();
        assert_eq!(alignments.competencies(&statement).len(), 1);
    }
}
