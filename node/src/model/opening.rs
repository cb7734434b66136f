//! Job openings posted by employers, described by skills rather than degrees.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::common::{
    items, opt_text, skill_name, soc_code, text, FieldError, Level, Reference, MAX_NAME, MAX_NOTE,
};
use super::Resource;
use crate::store::Table;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Opening {
    pub employer_id: u64,
    pub title: String,
    /// SOC 2018 detailed occupation, e.g. `15-1254` (Web Developers).
    pub soc_code: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub required_skills: Vec<SkillRequirement>,
    #[serde(default)]
    pub nice_to_have_skills: Vec<SkillRequirement>,
    #[serde(default)]
    pub location: Option<String>,
    pub remote: RemotePolicy,
    #[serde(default)]
    pub salary_min_usd: Option<u32>,
    #[serde(default)]
    pub salary_max_usd: Option<u32>,
    /// Kept so that national staff can count degree requirements; false unless set.
    #[serde(default)]
    pub degree_required: bool,
    #[serde(default)]
    pub status: OpeningStatus,
    /// How many people this opening hires.
    #[serde(default = "one")]
    pub positions: u16,
}

fn one() -> u16 {
    1
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SkillRequirement {
    pub skill: String,
    pub min_level: Level,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RemotePolicy {
    OnSite,
    Hybrid,
    Remote,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OpeningStatus {
    #[default]
    Open,
    Paused,
    Filled,
    Closed,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OpeningFilter {
    pub employer_id: Option<u64>,
    pub status: Option<OpeningStatus>,
    pub soc_code: Option<String>,
}

fn requirements(field: &str, list: &[SkillRequirement]) -> Result<(), FieldError> {
    items(field, list, 50)?;
    let mut seen = BTreeSet::new();
    for (i, r) in list.iter().enumerate() {
        skill_name(&format!("{field}[{i}].skill"), &r.skill)?;
        if !seen.insert(r.skill.to_lowercase()) {
            return Err(FieldError::new(
                format!("{field}[{i}].skill"),
                format!("{:?} is listed twice", r.skill),
            ));
        }
    }
    Ok(())
}

impl Resource for Opening {
    const TABLE: Table = Table::Opening;
    const NAME: &'static str = "opening";
    const COLLECTION: &'static str = "openings";
    type Filter = OpeningFilter;

    fn validate(&self) -> Result<(), FieldError> {
        text("title", &self.title, MAX_NAME)?;
        soc_code("soc_code", &self.soc_code)?;
        opt_text("description", self.description.as_deref(), MAX_NOTE)?;
        requirements("required_skills", &self.required_skills)?;
        requirements("nice_to_have_skills", &self.nice_to_have_skills)?;
        opt_text("location", self.location.as_deref(), MAX_NAME)?;
        if let (Some(min), Some(max)) = (self.salary_min_usd, self.salary_max_usd) {
            if max < min {
                return Err(FieldError::new(
                    "salary_max_usd",
                    format!("is below salary_min_usd ({min})"),
                ));
            }
        }
        if self.positions == 0 {
            return Err(FieldError::new("positions", "must be at least 1"));
        }
        Ok(())
    }

    fn references(&self) -> Vec<Reference> {
        vec![Reference::new(
            "employer_id",
            Table::Employer,
            "employer",
            self.employer_id,
        )]
    }

    fn matches(&self, f: &OpeningFilter) -> bool {
        f.employer_id.is_none_or(|e| e == self.employer_id)
            && f.status.is_none_or(|s| s == self.status)
            && f.soc_code.as_ref().is_none_or(|c| *c == self.soc_code)
    }

    fn owner_employer(&self) -> Option<u64> {
        Some(self.employer_id)
    }
}
