//! Assessments of fundamental skills, and vetting interviews by volunteer reviewers.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::candidate::{Candidate, Stage, StageChange};
use super::common::Record;
use super::common::{
    opt_text, plausible_date, skill_name, text, FieldError, Reference, MAX_NAME, MAX_NOTE,
};
use super::skill_ref::{self, SkillFilter};
use super::{CheckError, Resource};
use crate::skills::Taxonomy;
use crate::store::{Table, WriteTx};

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Assessment {
    pub candidate_id: u64,
    /// The skill assessed, as typed; the skill's label if only `skill_id` was given.
    #[serde(default)]
    pub skill: String,
    /// The taxonomy id; null for text the taxonomy does not know.
    #[serde(default)]
    pub skill_id: Option<String>,
    /// The test used, e.g. "HackerRank JavaScript (Basic)".
    pub instrument: String,
    pub score: u32,
    pub max_score: u32,
    pub taken_on: NaiveDate,
    pub assessor: String,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AssessmentFilter {
    pub candidate_id: Option<u64>,
    /// Assessments of this skill: by taxonomy id when the text names a known skill, else by
    /// the text, ignoring case.
    #[param(value_type = Option<String>)]
    pub skill: Option<SkillFilter>,
}

impl Resource for Assessment {
    const TABLE: Table = Table::Assessment;
    const NAME: &'static str = "assessment";
    const COLLECTION: &'static str = "assessments";
    type Filter = AssessmentFilter;

    fn normalise(&mut self, taxonomy: &Taxonomy) -> Result<(), FieldError> {
        // The record itself is the entry: its fields are `skill` and `skill_id`.
        skill_ref::resolve("", &mut self.skill, &mut self.skill_id, taxonomy)
    }

    fn validate(&self) -> Result<(), FieldError> {
        skill_name("skill", &self.skill)?;
        text("instrument", &self.instrument, MAX_NAME)?;
        if self.max_score == 0 {
            return Err(FieldError::new("max_score", "must be at least 1"));
        }
        if self.score > self.max_score {
            return Err(FieldError::new(
                "score",
                format!("is above max_score ({})", self.max_score),
            ));
        }
        plausible_date("taken_on", self.taken_on)?;
        text("assessor", &self.assessor, MAX_NAME)
    }

    fn candidate_id(&self) -> Option<u64> {
        Some(self.candidate_id)
    }

    fn references(&self) -> Vec<Reference> {
        vec![Reference::new(
            "candidate_id",
            Table::Candidate,
            "candidate",
            self.candidate_id,
        )]
    }

    fn matches(&self, f: &AssessmentFilter) -> bool {
        f.candidate_id.is_none_or(|c| c == self.candidate_id)
            && f.skill
                .as_ref()
                .is_none_or(|s| s.matches(&self.skill, self.skill_id.as_deref()))
    }

    fn resolve_filter(filter: &mut AssessmentFilter, taxonomy: &Taxonomy) {
        if let Some(s) = &mut filter.skill {
            s.resolve(taxonomy);
        }
    }
}

/// A soft-skills interview by a volunteer HR professional or hiring manager.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Vetting {
    pub candidate_id: u64,
    pub reviewer: String,
    pub interviewed_on: NaiveDate,
    pub rubric: Rubric,
    pub recommendation: Recommendation,
    #[serde(default)]
    pub notes: Option<String>,
}

/// Soft-skill scores from 1 (weak) to 5 (strong).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rubric {
    pub communication: u8,
    pub teamwork: u8,
    pub problem_solving: u8,
    pub reliability: u8,
    pub learning_agility: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Recommendation {
    NotYet,
    Maybe,
    Recommend,
    StronglyRecommend,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct VettingFilter {
    pub candidate_id: Option<u64>,
    pub recommendation: Option<Recommendation>,
}

impl Resource for Vetting {
    const TABLE: Table = Table::Vetting;
    const NAME: &'static str = "vetting interview";
    const COLLECTION: &'static str = "vetting";
    type Filter = VettingFilter;

    fn validate(&self) -> Result<(), FieldError> {
        text("reviewer", &self.reviewer, MAX_NAME)?;
        plausible_date("interviewed_on", self.interviewed_on)?;
        let r = &self.rubric;
        for (name, v) in [
            ("communication", r.communication),
            ("teamwork", r.teamwork),
            ("problem_solving", r.problem_solving),
            ("reliability", r.reliability),
            ("learning_agility", r.learning_agility),
        ] {
            if !(1..=5).contains(&v) {
                return Err(FieldError::new(
                    format!("rubric.{name}"),
                    "must be from 1 to 5",
                ));
            }
        }
        opt_text("notes", self.notes.as_deref(), MAX_NOTE)
    }

    fn candidate_id(&self) -> Option<u64> {
        Some(self.candidate_id)
    }

    fn references(&self) -> Vec<Reference> {
        vec![Reference::new(
            "candidate_id",
            Table::Candidate,
            "candidate",
            self.candidate_id,
        )]
    }

    fn matches(&self, f: &VettingFilter) -> bool {
        f.candidate_id.is_none_or(|c| c == self.candidate_id)
            && f.recommendation.is_none_or(|r| r == self.recommendation)
    }

    /// A vetting interview is what the `vetted` stage means: recording one for a candidate
    /// still `applied` or `assessed` moves them to `vetted` in the same write, with the
    /// interview named in the stage history (as a placement moves its candidate to
    /// `placed`). Otherwise the funnel would show nobody vetted until an operator also
    /// moved each one by hand. Whatever the recommendation: the stage says the interview
    /// happened, the recommendation what came of it. A candidate further along (or
    /// withdrawn, not hired) keeps their stage: an interview recorded late does not move
    /// anyone backwards.
    fn after_create(
        &self,
        id: u64,
        tx: &mut WriteTx<'_>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), CheckError> {
        if let Some(mut c) = tx.get::<Record<Candidate>>(Table::Candidate, self.candidate_id)? {
            if matches!(c.data.stage, Stage::Applied | Stage::Assessed) {
                c.data.stage = Stage::Vetted;
                c.data.stage_history.push(StageChange {
                    stage: Stage::Vetted,
                    at: now,
                    note: Some(format!("vetting {id}")),
                });
                c.updated_at = now;
                tx.put(Table::Candidate, self.candidate_id, &c)?;
            }
        }
        Ok(())
    }
}
