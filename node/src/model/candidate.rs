//! Candidates. Personal data (name, contact, city, segments) is a separate record from the
//! skills profile, so that roles who may see the profile (reviewers, later employers and
//! other nodes) are handed a value that simply does not contain it.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::common::{
    date_order, email, items, opt_text, phone, plausible_date, skill_name, text, Evidence,
    FieldError, Level, Reference, MAX_ITEMS, MAX_NAME, MAX_NOTE,
};
use super::skill_ref::{self, SkillFilter, SkillName};
use super::{check_references, CheckError, Record};
use crate::skills::Taxonomy;
use crate::store::{Table, WriteTx};

/// What a candidate's record is created or replaced from.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CandidateInput {
    pub personal: Personal,
    pub profile: Profile,
}

/// A public application: the candidate's own data, and optionally their consent to share
/// their profile across regions.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Application {
    pub personal: Personal,
    pub profile: Profile,
    #[serde(default)]
    pub consent: Option<ConsentInput>,
}

/// Personal data: stays on this node, seen only by operators.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Personal {
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    /// Self-identified, optional, used only in aggregate metrics.
    #[serde(default)]
    pub segments: Vec<Segment>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Segment {
    Veteran,
    OpportunityYouth,
    LongTermUnemployed,
    Disability,
    JusticeInvolved,
    EnglishLearner,
    LowIncome,
    RuralResident,
    Other,
}

/// The skills profile: what the candidate can do and the evidence for it. No degree field,
/// on purpose: TechHire hires on skills.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    #[serde(default)]
    pub skills: Vec<SkillClaim>,
    #[serde(default)]
    pub work_history: Vec<WorkEntry>,
    #[serde(default)]
    pub projects: Vec<Project>,
    #[serde(default)]
    pub certificates: Vec<Certificate>,
    /// The training program the candidate took part in, if any.
    #[serde(default)]
    pub program_id: Option<u64>,
    /// When the candidate started that program (needs `program_id`). Counted in the
    /// `training.enrolled` metric.
    #[serde(default)]
    pub training_started_on: Option<NaiveDate>,
    /// When the candidate completed that program, if they did (needs `program_id`; not
    /// before `training_started_on`). Counted in the `training.completed` metric.
    #[serde(default)]
    pub training_completed_on: Option<NaiveDate>,
    #[serde(default)]
    pub desired_roles: Vec<String>,
    #[serde(default)]
    pub remote_preference: RemotePreference,
    #[serde(default)]
    pub willing_to_relocate: bool,
}

/// A skill the candidate claims. Give `skill` (free text, normalised to `skill_id` when the
/// taxonomy knows it), `skill_id` (from `GET /api/v1/skills`), or both.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SkillClaim {
    /// As typed; the skill's label if only `skill_id` was given.
    #[serde(default)]
    pub skill: String,
    /// The taxonomy id; null for text the taxonomy does not know.
    #[serde(default)]
    pub skill_id: Option<String>,
    pub level: Level,
    pub evidence: Evidence,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkEntry {
    pub title: String,
    #[serde(default)]
    pub employer_name: Option<String>,
    pub start: NaiveDate,
    #[serde(default)]
    pub end: Option<NaiveDate>,
    #[serde(default)]
    pub summary: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Project {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    /// The skills the project used: names, or `{skill, skill_id}` objects.
    #[serde(default)]
    pub skills: Vec<SkillName>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Certificate {
    pub name: String,
    pub issuer: String,
    #[serde(default)]
    pub issued_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RemotePreference {
    OnSite,
    Hybrid,
    Remote,
    #[default]
    Any,
}

/// Where a candidate is in the local pipeline.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Applied,
    Assessed,
    Vetted,
    Matched,
    Introduced,
    Placed,
    Withdrawn,
    NotHired,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StageChange {
    pub stage: Stage,
    pub at: DateTime<Utc>,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StageInput {
    pub stage: Stage,
    #[serde(default)]
    pub note: Option<String>,
}

/// Consent to share the profile (never the personal data) with other member nodes. While
/// it is in force (and the candidate is searchable), the node publishes a shared profile
/// (`crate::sharing`); it lapses `profiles.expiry_days` after `given_at`, and recording
/// consent again renews it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Consent {
    pub policy_version: String,
    pub scope: ConsentScope,
    /// When the consent was given or last renewed.
    pub given_at: DateTime<Utc>,
    #[serde(default)]
    pub withdrawn_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentInput {
    pub policy_version: String,
    pub scope: ConsentScope,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ConsentScope {
    /// Every member node of the federation.
    Federation,
    /// Only member nodes of these regions.
    Regions { regions: Vec<String> },
}

/// The stored candidate: the profile plus the server-managed pipeline and consent state.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Candidate {
    pub profile: Profile,
    pub stage: Stage,
    pub stage_history: Vec<StageChange>,
    /// The consent in force, if any (withdrawn consents stay, with `withdrawn_at` set).
    #[serde(default)]
    pub consent: Option<Consent>,
    #[serde(default)]
    pub consent_history: Vec<Consent>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CandidateFilter {
    pub stage: Option<Stage>,
    /// Candidates claiming this skill on their profile: by taxonomy id when the text names a
    /// known skill (`JS` finds "JavaScript"), else by the text, ignoring case.
    #[param(value_type = Option<String>)]
    pub skill: Option<SkillFilter>,
    pub program_id: Option<u64>,
}

impl CandidateFilter {
    /// Normalises the skill filter once, before it is matched against every candidate.
    pub fn resolve(&mut self, taxonomy: &Taxonomy) {
        if let Some(s) = &mut self.skill {
            s.resolve(taxonomy);
        }
    }
}

impl Candidate {
    pub fn matches(&self, f: &CandidateFilter) -> bool {
        f.stage.is_none_or(|s| s == self.stage)
            && f.program_id
                .is_none_or(|p| Some(p) == self.profile.program_id)
            && f.skill.as_ref().is_none_or(|s| {
                self.profile
                    .skills
                    .iter()
                    .any(|c| s.matches(&c.skill, c.skill_id.as_deref()))
            })
    }
}

impl Personal {
    pub fn validate(&self) -> Result<(), FieldError> {
        text("personal.name", &self.name, MAX_NAME)?;
        email("personal.email", &self.email)?;
        if let Some(p) = &self.phone {
            phone("personal.phone", p)?;
        }
        opt_text("personal.city", self.city.as_deref(), MAX_NAME)?;
        items("personal.segments", &self.segments, 20)
    }
}

impl Profile {
    /// Settles every skill of the profile (claims and projects) against `taxonomy`; see
    /// `skill_ref::resolve`. Runs before [`Profile::validate`].
    pub fn normalise(&mut self, taxonomy: &Taxonomy) -> Result<(), FieldError> {
        // The list checks run first, so that an oversized list is refused before any work.
        items("profile.skills", &self.skills, MAX_ITEMS)?;
        for (i, c) in self.skills.iter_mut().enumerate() {
            let field = format!("profile.skills[{i}]");
            skill_ref::resolve(&field, &mut c.skill, &mut c.skill_id, taxonomy)?;
        }
        items("profile.projects", &self.projects, 50)?;
        for (i, p) in self.projects.iter_mut().enumerate() {
            items(&format!("profile.projects[{i}].skills"), &p.skills, 50)?;
            for (j, s) in p.skills.iter_mut().enumerate() {
                s.normalise(&format!("profile.projects[{i}].skills[{j}]"), taxonomy)?;
            }
        }
        Ok(())
    }

    pub fn validate(&self) -> Result<(), FieldError> {
        items("profile.skills", &self.skills, MAX_ITEMS)?;
        for (i, s) in self.skills.iter().enumerate() {
            skill_name(&format!("profile.skills[{i}].skill"), &s.skill)?;
        }
        items("profile.work_history", &self.work_history, 50)?;
        for (i, w) in self.work_history.iter().enumerate() {
            let f = format!("profile.work_history[{i}]");
            text(&format!("{f}.title"), &w.title, MAX_NAME)?;
            opt_text(
                &format!("{f}.employer_name"),
                w.employer_name.as_deref(),
                MAX_NAME,
            )?;
            plausible_date(&format!("{f}.start"), w.start)?;
            date_order(&format!("{f}.end"), w.start, w.end)?;
            opt_text(&format!("{f}.summary"), w.summary.as_deref(), MAX_NOTE)?;
        }
        items("profile.projects", &self.projects, 50)?;
        for (i, p) in self.projects.iter().enumerate() {
            let f = format!("profile.projects[{i}]");
            text(&format!("{f}.name"), &p.name, MAX_NAME)?;
            opt_text(
                &format!("{f}.description"),
                p.description.as_deref(),
                MAX_NOTE,
            )?;
            opt_text(&format!("{f}.url"), p.url.as_deref(), 500)?;
            items(&format!("{f}.skills"), &p.skills, 50)?;
            for (j, s) in p.skills.iter().enumerate() {
                s.validate(&format!("{f}.skills[{j}]"))?;
            }
        }
        items("profile.certificates", &self.certificates, 50)?;
        for (i, c) in self.certificates.iter().enumerate() {
            let f = format!("profile.certificates[{i}]");
            text(&format!("{f}.name"), &c.name, MAX_NAME)?;
            text(&format!("{f}.issuer"), &c.issuer, MAX_NAME)?;
            if let Some(d) = c.issued_on {
                plausible_date(&format!("{f}.issued_on"), d)?;
            }
        }
        self.validate_training()?;
        items("profile.desired_roles", &self.desired_roles, 20)?;
        for (i, r) in self.desired_roles.iter().enumerate() {
            text(&format!("profile.desired_roles[{i}]"), r, MAX_NAME)?;
        }
        Ok(())
    }

    /// The training dates: each needs a program, is plausible, and completion is not before
    /// the start.
    fn validate_training(&self) -> Result<(), FieldError> {
        for (field, date) in [
            ("profile.training_started_on", self.training_started_on),
            ("profile.training_completed_on", self.training_completed_on),
        ] {
            let Some(date) = date else { continue };
            if self.program_id.is_none() {
                return Err(FieldError::new(field, "needs program_id"));
            }
            plausible_date(field, date)?;
        }
        if let Some(started) = self.training_started_on {
            date_order(
                "profile.training_completed_on",
                started,
                self.training_completed_on,
            )?;
        }
        Ok(())
    }

    pub fn references(&self) -> Vec<Reference> {
        self.program_id
            .map(|p| Reference::new("profile.program_id", Table::Program, "program", p))
            .into_iter()
            .collect()
    }
}

impl ConsentInput {
    pub fn validate(&self, prefix: &str) -> Result<(), FieldError> {
        text(&format!("{prefix}policy_version"), &self.policy_version, 32)?;
        if let ConsentScope::Regions { regions } = &self.scope {
            if regions.is_empty() {
                return Err(FieldError::new(
                    format!("{prefix}scope.regions"),
                    "must name at least one region",
                ));
            }
            // The shared profile carries the scope as it is (protocol limits: 20 regions of
            // 1 to 64 bytes), so a consent that could not be published is refused here.
            items(
                &format!("{prefix}scope.regions"),
                regions,
                techhire_protocol::profile::MAX_SCOPE_REGIONS,
            )?;
            for (i, r) in regions.iter().enumerate() {
                let field = format!("{prefix}scope.regions[{i}]");
                text(
                    &field,
                    r,
                    techhire_protocol::profile::MAX_PROFILE_REGION_BYTES,
                )?;
                if r.len() > techhire_protocol::profile::MAX_PROFILE_REGION_BYTES || r.trim() != r {
                    return Err(FieldError::new(
                        field,
                        "must be a region name as in membership certificates: at most 64 \
                         bytes, no leading or trailing spaces",
                    ));
                }
            }
        }
        Ok(())
    }
}

impl StageInput {
    pub fn validate(&self) -> Result<(), FieldError> {
        opt_text("note", self.note.as_deref(), MAX_NOTE)
    }
}

/// Stages a new candidate (profile and personal data) in the `applied` stage. The API, the
/// public application form and the seeder all create candidates through here.
pub fn stage_candidate(
    tx: &mut WriteTx<'_>,
    personal: &Personal,
    profile: Profile,
    consent: Option<Consent>,
    now: DateTime<Utc>,
) -> Result<Record<Candidate>, CheckError> {
    let refs = check_references(tx, &profile.references())?;
    let id = tx.next_id(Table::Candidate)?;
    tx.set_refs(Table::Candidate, id, &refs)?;
    let record = Record {
        id,
        created_at: now,
        updated_at: now,
        data: Candidate {
            profile,
            stage: Stage::Applied,
            stage_history: vec![StageChange {
                stage: Stage::Applied,
                at: now,
                note: None,
            }],
            consent_history: consent.iter().cloned().collect(),
            consent,
        },
    };
    tx.put(Table::Candidate, id, &record)?;
    tx.put(Table::CandidatePersonal, id, personal)?;
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> Option<NaiveDate> {
        s.parse().ok()
    }

    #[test]
    fn training_dates_need_a_program_and_come_in_order() {
        let with = |started: &str, completed: &str| Profile {
            program_id: Some(3),
            training_started_on: day(started),
            training_completed_on: day(completed),
            ..Profile::default()
        };
        assert!(with("2025-01-06", "2025-04-28").validate().is_ok());
        assert!(with("2025-01-06", "").validate().is_ok());
        assert!(with("", "2025-04-28").validate().is_ok());
        assert!(with("2025-01-06", "2025-01-06").validate().is_ok());
        let err = with("2025-04-28", "2025-01-06")
            .validate()
            .expect_err("refused");
        assert_eq!(err.field, "profile.training_completed_on");
        let err = with("1900-01-01", "").validate().expect_err("refused");
        assert_eq!(err.field, "profile.training_started_on");
        for (started, completed, field) in [
            ("2025-01-06", "", "profile.training_started_on"),
            ("", "2025-04-28", "profile.training_completed_on"),
        ] {
            let mut p = with(started, completed);
            p.program_id = None;
            let err = p.validate().expect_err("refused");
            assert_eq!(
                (err.field.as_str(), err.reason.as_str()),
                (field, "needs program_id")
            );
        }
    }
}
