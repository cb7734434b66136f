//! The community this node serves: its name, region, backbone organisation and yearly goals.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::candidate::Segment;
use super::common::{items, opt_text, text, FieldError, MAX_NAME};

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Community {
    pub name: String,
    #[serde(default)]
    pub region: Option<String>,
    /// The local organisation that runs the TechHire pipeline.
    #[serde(default)]
    pub backbone_organisation: Option<String>,
    #[serde(default)]
    pub goals: Vec<YearlyGoal>,
}

/// The shared yearly goals the playbook asks every community to set.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct YearlyGoal {
    pub year: u16,
    pub placements: u32,
    pub people_trained: u32,
    pub job_seekers_reached: u32,
    #[serde(default)]
    pub segment_goals: Vec<SegmentGoal>,
}

/// A goal for one segment of job seekers, e.g. "place 40 veterans".
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentGoal {
    pub segment: Segment,
    pub metric: GoalMetric,
    pub target: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GoalMetric {
    Placements,
    PeopleTrained,
    JobSeekersReached,
}

impl Community {
    pub fn validate(&self) -> Result<(), FieldError> {
        text("name", &self.name, MAX_NAME)?;
        opt_text("region", self.region.as_deref(), 64)?;
        opt_text(
            "backbone_organisation",
            self.backbone_organisation.as_deref(),
            MAX_NAME,
        )?;
        items("goals", &self.goals, 50)?;
        let mut years = BTreeSet::new();
        for (i, g) in self.goals.iter().enumerate() {
            if !(2000..=2100).contains(&g.year) {
                return Err(FieldError::new(
                    format!("goals[{i}].year"),
                    "must be between 2000 and 2100",
                ));
            }
            if !years.insert(g.year) {
                return Err(FieldError::new(
                    format!("goals[{i}].year"),
                    format!("{} has more than one goal set", g.year),
                ));
            }
            items(&format!("goals[{i}].segment_goals"), &g.segment_goals, 50)?;
            let mut seen = BTreeSet::new();
            for (j, s) in g.segment_goals.iter().enumerate() {
                if !seen.insert((s.segment, s.metric)) {
                    return Err(FieldError::new(
                        format!("goals[{i}].segment_goals[{j}]"),
                        "repeats a segment and metric already set for this year",
                    ));
                }
            }
        }
        Ok(())
    }
}
