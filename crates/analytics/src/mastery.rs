//! Mastery of one competency from its evidence, by the methods districts know from their
//! learning management systems' standards-based grading, and by Bayesian Knowledge Tracing.
//!
//! Every method reads the evidence in the order it happened (statement timestamp, then statement
//! id), never in the order it arrived: [`assess`] sorts before it computes, so a late or replayed
//! statement gives the same value as one delivered in order.

use serde::{Deserialize, Serialize};

/// One piece of evidence of one competency.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    /// When it happened: the statement's timestamp, µs since the Unix epoch.
    pub timestamp_us: i64,
    /// The statement's id: orders evidence with the same timestamp.
    pub statement_id: String,
    /// How well, from 0 to 1.
    pub score: f64,
    /// Whether the attempt was right (the observation Bayesian Knowledge Tracing reads).
    pub correct: bool,
    /// The alignment's weight (1 unless the alignment table says otherwise); the mean-based
    /// methods weigh each score by it.
    pub weight: f64,
}

/// How a competency's evidence becomes one mastery value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum Method {
    /// The latest score counts `weight`, the (weighted) mean of the earlier ones `1 - weight`.
    WeightedAverage {
        #[serde(default = "default_recent_weight")]
        weight: f64,
    },
    /// D1 = x1, Dk = weight * xk + (1 - weight) * D(k-1).
    DecayingAverage {
        #[serde(default = "default_recent_weight")]
        weight: f64,
    },
    /// The latest score.
    MostRecent {},
    /// The highest score.
    Highest {},
    /// The (weighted) mean of every score.
    Mean {},
    /// Mastered once `n` scores reach the threshold; the value is then their (weighted) mean,
    /// and before that the mean of every score.
    NTimes { n: u32 },
    /// Bayesian Knowledge Tracing: the probability that the learner knows the competency.
    Bkt(BktParameters),
}

/// A method by name, as the API, the events and `mastery_published` show it.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum MethodName {
    WeightedAverage,
    #[default]
    DecayingAverage,
    MostRecent,
    Highest,
    Mean,
    NTimes,
    Bkt,
}

impl std::str::FromStr for MethodName {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        MethodName::ALL
            .into_iter()
            .find(|method| method.as_str() == name)
            .ok_or_else(|| format!("{name:?} is no mastery method"))
    }
}

impl MethodName {
    pub const ALL: [MethodName; 7] = [
        MethodName::WeightedAverage,
        MethodName::DecayingAverage,
        MethodName::MostRecent,
        MethodName::Highest,
        MethodName::Mean,
        MethodName::NTimes,
        MethodName::Bkt,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MethodName::WeightedAverage => "weighted_average",
            MethodName::DecayingAverage => "decaying_average",
            MethodName::MostRecent => "most_recent",
            MethodName::Highest => "highest",
            MethodName::Mean => "mean",
            MethodName::NTimes => "n_times",
            MethodName::Bkt => "bkt",
        }
    }
}

fn default_recent_weight() -> f64 {
    0.65
}

impl Default for Method {
    fn default() -> Self {
        Method::DecayingAverage {
            weight: default_recent_weight(),
        }
    }
}

/// The four (five with forgetting) parameters of Bayesian Knowledge Tracing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BktParameters {
    /// P(L0): the learner knows it before any evidence.
    pub p_init: f64,
    /// P(T): the learner learns it at an opportunity.
    pub p_transit: f64,
    /// P(G): a right answer without knowing it.
    pub p_guess: f64,
    /// P(S): a wrong answer despite knowing it.
    pub p_slip: f64,
    /// P(F): the learner forgets it between opportunities (0: classic BKT).
    pub p_forget: f64,
    /// Mastered once P(L) reaches this.
    pub mastered_at: f64,
}

impl Default for BktParameters {
    fn default() -> Self {
        BktParameters {
            p_init: 0.3,
            p_transit: 0.1,
            p_guess: 0.2,
            p_slip: 0.1,
            p_forget: 0.0,
            mastered_at: 0.95,
        }
    }
}

impl BktParameters {
    /// One opportunity: the posterior given the observation, then the chance to learn (or
    /// forget) before the next one. Returns P(L) after this opportunity.
    pub fn update(&self, known: f64, correct: bool) -> f64 {
        let posterior = if correct {
            let evidence_known = known * (1.0 - self.p_slip);
            evidence_known / (evidence_known + (1.0 - known) * self.p_guess)
        } else {
            let evidence_known = known * self.p_slip;
            evidence_known / (evidence_known + (1.0 - known) * (1.0 - self.p_guess))
        };
        posterior * (1.0 - self.p_forget) + (1.0 - posterior) * self.p_transit
    }

    pub(crate) fn validate(&self, path: &str) -> Result<(), String> {
        let probabilities = [
            ("p_init", self.p_init),
            ("p_transit", self.p_transit),
            ("p_guess", self.p_guess),
            ("p_slip", self.p_slip),
            ("p_forget", self.p_forget),
            ("mastered_at", self.mastered_at),
        ];
        for (name, value) in probabilities {
            if !(0.0..=1.0).contains(&value) {
                return Err(format!(
                    "{path}.{name}: must be between 0 and 1, not {value}"
                ));
            }
        }
        if self.p_guess + self.p_slip >= 1.0 {
            return Err(format!(
                "{path}: p_guess + p_slip must stay below 1, or a right answer is not evidence of knowing"
            ));
        }
        Ok(())
    }
}

impl Method {
    /// The name the API and the mastery events carry.
    pub fn name(&self) -> MethodName {
        match self {
            Method::WeightedAverage { .. } => MethodName::WeightedAverage,
            Method::DecayingAverage { .. } => MethodName::DecayingAverage,
            Method::MostRecent {} => MethodName::MostRecent,
            Method::Highest {} => MethodName::Highest,
            Method::Mean {} => MethodName::Mean,
            Method::NTimes { .. } => MethodName::NTimes,
            Method::Bkt(_) => MethodName::Bkt,
        }
    }

    pub(crate) fn validate(&self, path: &str) -> Result<(), String> {
        match self {
            Method::WeightedAverage { weight } | Method::DecayingAverage { weight }
                if !(*weight > 0.0 && *weight <= 1.0) =>
            {
                Err(format!(
                    "{path}.weight: must be above 0 and at most 1, not {weight}"
                ))
            }
            Method::NTimes { n: 0 } => Err(format!("{path}.n: must be at least 1")),
            Method::Bkt(parameters) => parameters.validate(path),
            _ => Ok(()),
        }
    }

    /// The mastery value of evidence already in order, and whether it is mastered at
    /// `threshold` (Bayesian Knowledge Tracing uses its own `mastered_at`). `None` without
    /// evidence.
    pub fn value(&self, ordered: &[Evidence], threshold: f64) -> Option<MasteryValue> {
        let (last, earlier) = ordered.split_last()?;
        let value = match self {
            Method::WeightedAverage { weight } => match weighted_mean(earlier) {
                Some(earlier_mean) => weight * last.score + (1.0 - weight) * earlier_mean,
                None => last.score,
            },
            Method::DecayingAverage { weight } => earlier
                .first()
                .map(|first| {
                    ordered[1..].iter().fold(first.score, |decayed, evidence| {
                        weight * evidence.score + (1.0 - weight) * decayed
                    })
                })
                .unwrap_or(last.score),
            Method::MostRecent {} => last.score,
            Method::Highest {} => ordered
                .iter()
                .map(|evidence| evidence.score)
                .fold(f64::NEG_INFINITY, f64::max),
            Method::Mean {} => weighted_mean(ordered)?,
            Method::NTimes { n } => {
                let reached: Vec<Evidence> = ordered
                    .iter()
                    .filter(|evidence| evidence.score >= threshold)
                    .cloned()
                    .collect();
                if reached.len() >= *n as usize {
                    return Some(MasteryValue {
                        value: weighted_mean(&reached)?,
                        mastered: true,
                    });
                }
                return Some(MasteryValue {
                    value: weighted_mean(ordered)?,
                    mastered: false,
                });
            }
            Method::Bkt(parameters) => {
                let known = ordered.iter().fold(parameters.p_init, |known, evidence| {
                    parameters.update(known, evidence.correct)
                });
                return Some(MasteryValue {
                    value: known,
                    mastered: known >= parameters.mastered_at,
                });
            }
        };
        Some(MasteryValue {
            value,
            mastered: value >= threshold,
        })
    }
}

/// The weighted mean of the scores; `None` if the weights sum to nothing.
fn weighted_mean(evidence: &[Evidence]) -> Option<f64> {
    let total_weight: f64 = evidence.iter().map(|evidence| evidence.weight).sum();
    if total_weight <= 0.0 {
        return None;
    }
    Some(
        evidence
            .iter()
            .map(|evidence| evidence.score * evidence.weight)
            .sum::<f64>()
            / total_weight,
    )
}

/// A mastery value and whether it counts as mastered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MasteryValue {
    pub value: f64,
    pub mastered: bool,
}

/// Mastery of one competency with what a teacher needs to trust it.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub value: f64,
    pub mastered: bool,
    pub evidence_count: usize,
    /// The newest evidence's timestamp, µs since the Unix epoch.
    pub last_evidence_us: i64,
    /// The value before the newest evidence: `None` when there is only one piece.
    pub previous_value: Option<f64>,
}

impl Assessment {
    /// `value - previous_value`: below zero, the newest evidence lowered mastery.
    pub fn change(&self) -> Option<f64> {
        self.previous_value.map(|previous| self.value - previous)
    }
}

/// Puts evidence in the order it happened: timestamp, then statement id.
pub(crate) fn order(evidence: &mut [Evidence]) {
    evidence.sort_by(|left, right| {
        left.timestamp_us
            .cmp(&right.timestamp_us)
            .then_with(|| left.statement_id.cmp(&right.statement_id))
    });
}

/// Orders the evidence and assesses it; `None` without evidence.
pub fn assess(method: &Method, threshold: f64, mut evidence: Vec<Evidence>) -> Option<Assessment> {
    order(&mut evidence);
    let current = method.value(&evidence, threshold)?;
    let previous = method.value(&evidence[..evidence.len() - 1], threshold);
    Some(Assessment {
        value: current.value,
        mastered: current.mastered,
        evidence_count: evidence.len(),
        last_evidence_us: evidence.last().map_or(0, |evidence| evidence.timestamp_us),
        previous_value: previous.map(|previous| previous.value),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scores(values: &[f64]) -> Vec<Evidence> {
        values
            .iter()
            .enumerate()
            .map(|(index, score)| Evidence {
                timestamp_us: index as i64 * 1_000_000,
                statement_id: format!("{index:04}"),
                score: *score,
                correct: *score >= 0.5,
                weight: 1.0,
            })
            .collect()
    }

    fn value(method: Method, values: &[f64], threshold: f64) -> MasteryValue {
        method.value(&scores(values), threshold).unwrap()
    }

    fn close(actual: f64, expected: f64) {
        assert!(
            (actual - expected).abs() < 1e-9,
            "{actual} is not {expected}"
        );
    }

    const ONE_TO_FIVE: [f64; 5] = [1.0, 2.0, 3.0, 4.0, 5.0];

    #[test]
    fn weighted_average_of_one_to_five_is_4_125() {
        // 0.65 * 5 + 0.35 * mean(1, 2, 3, 4) = 3.25 + 0.875
        let result = value(Method::WeightedAverage { weight: 0.65 }, &ONE_TO_FIVE, 3.0);
        close(result.value, 4.125);
        assert!(result.mastered);
    }

    #[test]
    fn decaying_average_of_one_to_five_is_4_47() {
        // D1 = 1, D2 = 1.65, D3 = 2.5275, D4 = 3.484625, D5 = 4.46961875
        let result = value(Method::DecayingAverage { weight: 0.65 }, &ONE_TO_FIVE, 4.5);
        close(result.value, 4.469_618_75);
        assert!(!result.mastered, "4.47 is below a threshold of 4.5");
    }

    #[test]
    fn most_recent_highest_and_mean() {
        let values = [3.0, 5.0, 2.0];
        close(value(Method::MostRecent {}, &values, 3.0).value, 2.0);
        close(value(Method::Highest {}, &values, 3.0).value, 5.0);
        close(value(Method::Mean {}, &values, 3.0).value, 10.0 / 3.0);
        assert!(!value(Method::MostRecent {}, &values, 3.0).mastered);
        assert!(value(Method::Highest {}, &values, 3.0).mastered);
    }

    #[test]
    fn mean_weighs_scores_by_alignment_weight() {
        let mut evidence = scores(&[1.0, 0.0]);
        evidence[0].weight = 3.0;
        close(Method::Mean {}.value(&evidence, 0.8).unwrap().value, 0.75);
    }

    #[test]
    fn n_times_needs_n_scores_at_the_threshold() {
        // Two of 0.9 and 0.8 reach 0.8: not yet three.
        let below = value(Method::NTimes { n: 3 }, &[0.9, 0.5, 0.8], 0.8);
        assert!(!below.mastered);
        close(below.value, (0.9 + 0.5 + 0.8) / 3.0);
        // The third arrives: the mean of the three that reached it.
        let reached = value(Method::NTimes { n: 3 }, &[0.9, 0.5, 0.8, 1.0], 0.8);
        assert!(reached.mastered);
        close(reached.value, 0.9);
    }

    #[test]
    fn bkt_follows_the_update_equations_step_by_step() {
        let parameters = BktParameters {
            p_init: 0.3,
            p_transit: 0.1,
            p_guess: 0.2,
            p_slip: 0.1,
            p_forget: 0.0,
            mastered_at: 0.95,
        };
        // Right: P(L|right) = 0.3 * 0.9 / (0.3 * 0.9 + 0.7 * 0.2) = 0.27 / 0.41
        let posterior_1 = 0.27 / 0.41;
        let after_1 = posterior_1 + (1.0 - posterior_1) * 0.1;
        close(parameters.update(0.3, true), after_1);
        // Wrong: P(L|wrong) = L * 0.1 / (L * 0.1 + (1 - L) * 0.8)
        let posterior_2 = after_1 * 0.1 / (after_1 * 0.1 + (1.0 - after_1) * 0.8);
        let after_2 = posterior_2 + (1.0 - posterior_2) * 0.1;
        close(parameters.update(after_1, false), after_2);
        // Right again.
        let posterior_3 = after_2 * 0.9 / (after_2 * 0.9 + (1.0 - after_2) * 0.2);
        let after_3 = posterior_3 + (1.0 - posterior_3) * 0.1;

        let mut evidence = scores(&[1.0, 0.0, 1.0]);
        evidence[1].correct = false;
        let result = Method::Bkt(parameters.clone())
            .value(&evidence, 0.8)
            .unwrap();
        close(result.value, after_3);
        assert!(!result.mastered);

        // Enough right answers pass 0.95.
        let many = scores(&[1.0; 6]);
        let known = Method::Bkt(parameters).value(&many, 0.8).unwrap();
        assert!(known.value >= 0.95 && known.mastered, "{known:?}");
    }

    #[test]
    fn bkt_forgetting_lowers_what_is_known() {
        let forgetting = BktParameters {
            p_forget: 0.2,
            ..BktParameters::default()
        };
        let posterior = 0.27 / 0.41;
        close(
            forgetting.update(0.3, true),
            posterior * 0.8 + (1.0 - posterior) * 0.1,
        );
    }

    #[test]
    fn assessment_orders_by_timestamp_and_reports_the_change() {
        let mut evidence = scores(&[0.2, 1.0, 0.4]);
        evidence.reverse();
        let assessment = assess(&Method::MostRecent {}, 0.8, evidence).unwrap();
        close(assessment.value, 0.4);
        assert_eq!(assessment.evidence_count, 3);
        assert_eq!(assessment.last_evidence_us, 2_000_000);
        close(assessment.previous_value.unwrap(), 1.0);
        close(assessment.change().unwrap(), -0.6);
        assert!(assess(&Method::Mean {}, 0.8, Vec::new()).is_none());
    }

    #[test]
    fn configuration_names_the_method_and_its_parameters() {
        let method: Method = serde_json::from_str(r#"{"method": "bkt", "p_init": 0.5}"#).unwrap();
        assert_eq!(
            method,
            Method::Bkt(BktParameters {
                p_init: 0.5,
                ..BktParameters::default()
            })
        );
        let weighted: Method = serde_json::from_str(r#"{"method": "weighted_average"}"#).unwrap();
        assert_eq!(weighted, Method::WeightedAverage { weight: 0.65 });
        assert!(serde_json::from_str::<Method>(r#"{"method": "mean", "n": 2}"#).is_err());
        assert!(
            Method::Bkt(BktParameters {
                p_guess: 0.6,
                p_slip: 0.5,
                ..BktParameters::default()
            })
            .validate("analytics.default_method")
            .is_err()
        );
    }
}
