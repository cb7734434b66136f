//! Training providers and their programs: the community's inventory of training supply.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::common::{items, opt_text, text, FieldError, Reference, MAX_NAME, MAX_NOTE};
use super::skill_ref::{SkillFilter, SkillName};
use super::Resource;
use crate::skills::Taxonomy;
use crate::store::Table;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Provider {
    pub name: String,
    pub kind: ProviderKind,
    #[serde(default)]
    pub website: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    Bootcamp,
    CommunityCollege,
    Online,
    Apprenticeship,
    University,
    NonProfit,
    Other,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ProviderFilter {
    pub kind: Option<ProviderKind>,
    pub q: Option<String>,
}

impl Resource for Provider {
    const TABLE: Table = Table::Provider;
    const NAME: &'static str = "training provider";
    const COLLECTION: &'static str = "providers";
    type Filter = ProviderFilter;

    fn validate(&self) -> Result<(), FieldError> {
        text("name", &self.name, MAX_NAME)?;
        opt_text("website", self.website.as_deref(), 500)?;
        opt_text("city", self.city.as_deref(), MAX_NAME)
    }

    fn matches(&self, f: &ProviderFilter) -> bool {
        f.kind.is_none_or(|k| k == self.kind)
            && f.q
                .as_ref()
                .is_none_or(|q| self.name.to_lowercase().contains(&q.to_lowercase()))
    }
}

/// One training program, with the facts the playbook's supply inventory asks for.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Program {
    pub provider_id: u64,
    pub name: String,
    /// Names (`"Python"`) or `{skill, skill_id}` objects; always answered as objects.
    #[serde(default)]
    pub skills_taught: Vec<SkillName>,
    pub yearly_enrolment: u32,
    pub yearly_completion: u32,
    #[serde(default)]
    pub admissions_criteria: Option<String>,
    pub delivery: Delivery,
    pub length_weeks: u16,
    pub schedule: Schedule,
    pub tuition_usd: u32,
    #[serde(default)]
    pub public_funding: bool,
    #[serde(default)]
    pub scholarships: bool,
    #[serde(default)]
    pub credential: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    Live,
    SelfPaced,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    PartTime,
    FullTime,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ProgramFilter {
    pub provider_id: Option<u64>,
    /// Programs teaching this skill: by taxonomy id when the text names a known skill (`JS`
    /// finds "JavaScript"), else by the text, ignoring case.
    #[param(value_type = Option<String>)]
    pub skill: Option<SkillFilter>,
}

/// Most skills one program may list.
const MAX_SKILLS_TAUGHT: usize = 100;

impl Resource for Program {
    const TABLE: Table = Table::Program;
    const NAME: &'static str = "program";
    const COLLECTION: &'static str = "programs";
    type Filter = ProgramFilter;

    fn normalise(&mut self, taxonomy: &Taxonomy) -> Result<(), FieldError> {
        items("skills_taught", &self.skills_taught, MAX_SKILLS_TAUGHT)?;
        for (i, s) in self.skills_taught.iter_mut().enumerate() {
            s.normalise(&format!("skills_taught[{i}]"), taxonomy)?;
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), FieldError> {
        text("name", &self.name, MAX_NAME)?;
        items("skills_taught", &self.skills_taught, MAX_SKILLS_TAUGHT)?;
        for (i, s) in self.skills_taught.iter().enumerate() {
            s.validate(&format!("skills_taught[{i}]"))?;
        }
        opt_text(
            "admissions_criteria",
            self.admissions_criteria.as_deref(),
            MAX_NOTE,
        )?;
        if !(1..=260).contains(&self.length_weeks) {
            return Err(FieldError::new("length_weeks", "must be between 1 and 260"));
        }
        opt_text("credential", self.credential.as_deref(), MAX_NAME)
    }

    fn references(&self) -> Vec<Reference> {
        vec![Reference::new(
            "provider_id",
            Table::Provider,
            "training provider",
            self.provider_id,
        )]
    }

    fn matches(&self, f: &ProgramFilter) -> bool {
        f.provider_id.is_none_or(|p| p == self.provider_id)
            && f.skill.as_ref().is_none_or(|s| {
                self.skills_taught
                    .iter()
                    .any(|t| s.matches(&t.skill, t.skill_id.as_deref()))
            })
    }

    fn resolve_filter(filter: &mut ProgramFilter, taxonomy: &Taxonomy) {
        if let Some(s) = &mut filter.skill {
            s.resolve(taxonomy);
        }
    }
}
