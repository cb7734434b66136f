//! Job openings posted by employers, described by skills rather than degrees.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::common::{
    items, opt_text, skill_name, soc_code, text, FieldError, Level, Reference, MAX_NAME, MAX_NOTE,
};
use super::skill_ref::{self, same_skill_key};
use super::Resource;
use crate::skills::Taxonomy;
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

/// A skill an opening asks for. Give `skill` (free text, normalised to `skill_id` when the
/// taxonomy knows it), `skill_id` (from `GET /api/v1/skills`), or both.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SkillRequirement {
    /// As typed; the skill's label if only `skill_id` was given.
    #[serde(default)]
    pub skill: String,
    /// The taxonomy id; null for text the taxonomy does not know.
    #[serde(default)]
    pub skill_id: Option<String>,
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

/// Most skills in one list of an opening.
const MAX_REQUIREMENTS: usize = 50;

fn normalise_requirements(
    field: &str,
    list: &mut [SkillRequirement],
    taxonomy: &Taxonomy,
) -> Result<(), FieldError> {
    items(field, list, MAX_REQUIREMENTS)?;
    for (i, r) in list.iter_mut().enumerate() {
        skill_ref::resolve(
            &format!("{field}[{i}]"),
            &mut r.skill,
            &mut r.skill_id,
            taxonomy,
        )?;
    }
    Ok(())
}

/// Checks one list of requirements. The same skill twice is refused, compared by skill id
/// when known ("JS" and "JavaScript" are one skill), else by normalised text: listing it
/// twice at two levels leaves the employer's meaning unclear.
fn requirements(field: &str, list: &[SkillRequirement]) -> Result<(), FieldError> {
    items(field, list, MAX_REQUIREMENTS)?;
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for (i, r) in list.iter().enumerate() {
        skill_name(&format!("{field}[{i}].skill"), &r.skill)?;
        let key = same_skill_key(&r.skill, r.skill_id.as_deref());
        if let Some(first) = seen.insert(key, &r.skill) {
            let reason = match &r.skill_id {
                Some(id) if !first.eq_ignore_ascii_case(&r.skill) => format!(
                    "{:?} is the same skill ({id}) as {first:?}, listed before it",
                    r.skill
                ),
                _ => format!("{:?} is listed twice", r.skill),
            };
            return Err(FieldError::new(format!("{field}[{i}].skill"), reason));
        }
    }
    Ok(())
}

impl Resource for Opening {
    const TABLE: Table = Table::Opening;
    const NAME: &'static str = "opening";
    const COLLECTION: &'static str = "openings";
    type Filter = OpeningFilter;

    fn normalise(&mut self, taxonomy: &Taxonomy) -> Result<(), FieldError> {
        normalise_requirements("required_skills", &mut self.required_skills, taxonomy)?;
        normalise_requirements(
            "nice_to_have_skills",
            &mut self.nice_to_have_skills,
            taxonomy,
        )
    }

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
