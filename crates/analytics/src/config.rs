use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::engagement::EngagementRules;
use crate::evidence::EvidenceRules;
use crate::mastery::Method;

/// How mastery and engagement are computed (`[analytics]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnalyticsConfig {
    /// A mastery value at or above this counts as mastered (Bayesian Knowledge Tracing uses its
    /// own `mastered_at`). Scores run from 0 to 1.
    pub mastery_threshold: f64,
    /// The method of every competency not listed in `competencies`, e.g.
    /// `{ method = "decaying_average", weight = 0.65 }`.
    pub default_method: Method,
    /// The method of particular competencies, by competency id, e.g.
    /// `"case:6b9f…" = { method = "bkt", p_init = 0.2 }`.
    pub competencies: BTreeMap<String, Method>,
    /// Which statements are evidence and how strong.
    pub evidence: EvidenceRules,
    /// Sessions, inactivity and at-risk rules.
    pub engagement: EngagementRules,
    /// The `account.homePage` of the statements of roster users without an email: their actor
    /// is `account:<this>|<username>`. Empty: such users are refused at import.
    pub roster_account_home_page: String,
    /// Publish mastery changes on `kafka.mastery_topic`: processes that run the sink also run
    /// the mastery follower, which reads the statements topic a step behind the sink.
    pub mastery_events: bool,
    /// The mastery follower's consumer group.
    pub mastery_group_id: String,
    /// Longest the follower collects statements before it publishes their learners' changes: a
    /// learner's statements within one cycle cost one recomputation.
    pub max_cycle_wait_ms: u64,
}

impl Default for AnalyticsConfig {
    fn default() -> Self {
        AnalyticsConfig {
            mastery_threshold: 0.8,
            default_method: Method::default(),
            competencies: BTreeMap::new(),
            evidence: EvidenceRules::default(),
            engagement: EngagementRules::default(),
            roster_account_home_page: String::new(),
            mastery_events: true,
            mastery_group_id: "learnstream-mastery".to_owned(),
            max_cycle_wait_ms: 500,
        }
    }
}

impl AnalyticsConfig {
    /// Checks every rule and method.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.mastery_threshold > 0.0 && self.mastery_threshold <= 1.0) {
            return Err("analytics.mastery_threshold: must be above 0 and at most 1".to_owned());
        }
        self.default_method.validate("analytics.default_method")?;
        for (competency, method) in &self.competencies {
            method.validate(&format!("analytics.competencies.{competency:?}"))?;
        }
        if self.mastery_group_id.is_empty() {
            return Err("analytics.mastery_group_id: must not be empty".to_owned());
        }
        if !(10..=60_000).contains(&self.max_cycle_wait_ms) {
            return Err("analytics.max_cycle_wait_ms: must be between 10 and 60000".to_owned());
        }
        self.evidence.validate()?;
        self.engagement.validate()
    }

    /// The method of a competency.
    pub fn method(&self, competency_id: &str) -> &Method {
        self.competencies
            .get(competency_id)
            .unwrap_or(&self.default_method)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mastery::BktParameters;

    #[test]
    fn competencies_choose_their_method() {
        let config: AnalyticsConfig = serde_json::from_value(serde_json::json!({
            "default_method": {"method": "highest"},
            "competencies": {"case:a": {"method": "bkt", "p_slip": 0.05}},
        }))
        .unwrap();
        config.validate().unwrap();
        assert_eq!(config.method("case:b"), &Method::Highest {});
        assert_eq!(
            config.method("case:a"),
            &Method::Bkt(BktParameters {
                p_slip: 0.05,
                ..BktParameters::default()
            })
        );
        let invalid: AnalyticsConfig = serde_json::from_value(serde_json::json!({
            "competencies": {"case:a": {"method": "n_times", "n": 0}},
        }))
        .unwrap();
        assert_eq!(
            invalid.validate().unwrap_err(),
            "analytics.competencies.\"case:a\".n: must be at least 1"
        );
    }
}
