//! The community's domain records: what an operator keeps about employers, training,
//! candidates, openings, assessments, vetting, placements, introductions and outreach,
//! with the checks each record must pass before it is stored.
//!
//! Types here are the API's JSON bodies too (`deny_unknown_fields`: a misspelt field is an
//! error, not silently dropped). Server-managed fields (ids, timestamps, pipeline history)
//! are not part of the input types.

mod assessment;
mod candidate;
mod common;
mod community;
mod employer;
mod introduction;
mod opening;
mod outreach;
mod placement;
mod shown;
mod skill_ref;
mod training;

pub use assessment::{
    Assessment, AssessmentFilter, Recommendation, Rubric, Vetting, VettingFilter,
};
pub use candidate::{
    stage_candidate, Application, Candidate, CandidateFilter, CandidateInput, Certificate, Consent,
    ConsentInput, ConsentScope, Personal, Profile, Project, RemotePreference, Segment, SkillClaim,
    Stage, StageChange, StageInput, WorkEntry,
};
pub use common::{Evidence, FieldError, Level, Record, Reference};
pub use community::{Community, GoalMetric, SegmentGoal, YearlyGoal};
pub use employer::{Commitment, Contact, Employer, EmployerFilter, SizeBand};
pub use introduction::{
    open_to_introductions, stage_introduction, stage_outcome, stage_withdrawal, Introduction,
    IntroductionError, IntroductionFilter, IntroductionRequest, IntroductionStatus,
    NewIntroduction, Outcome, OutcomeInput, RequestedBy,
};
// Introductions across the federation (`federation/direct.rs`).
pub use introduction::{
    apply_answer, apply_notice, is_incoming, is_outgoing, placed_through, stage_delivered,
    stage_erasure, stage_expiry, stage_incoming, stage_outgoing, stage_placement_notice, Applied,
    ContactField, Direction, Incoming, NewOutgoing, PlacedThroughError, RemoteIntroduction,
    SharedContact,
};
pub use opening::{Opening, OpeningFilter, OpeningStatus, RemotePolicy, SkillRequirement};
pub use outreach::{Outreach, OutreachChannel, OutreachFilter};
pub use placement::{Placement, PlacementFilter, RetentionCheck, RetentionQuarter};
pub use shown::{shown_index_name, stage_shown, Shown, ShownFilter};
pub use skill_ref::{SkillFilter, SkillName};
pub use training::{
    Delivery, Program, ProgramFilter, Provider, ProviderFilter, ProviderKind, Schedule,
};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::skills::Taxonomy;
use crate::store::{Table, WriteTx};

/// A kind of record served by the generic create/read/update/list/delete routes.
pub trait Resource:
    Serialize + DeserializeOwned + utoipa::ToSchema + Send + Sync + 'static
{
    const TABLE: Table;
    /// Singular, for messages: "employer".
    const NAME: &'static str;
    /// The path segment under `/api/v1`: "employers".
    const COLLECTION: &'static str;
    /// Query parameters accepted by the list route.
    type Filter: DeserializeOwned + Default + utoipa::IntoParams + Send + Sync + 'static;

    /// Settles the record's skills against the node's taxonomy (see [`SkillName`]): text
    /// gets its skill id, a given id is checked. Runs before [`Resource::validate`], on
    /// every create and replace, since which ids exist depends on the node's taxonomy.
    fn normalise(&mut self, _taxonomy: &Taxonomy) -> Result<(), FieldError> {
        Ok(())
    }

    /// Field-level checks that need no other record.
    fn validate(&self) -> Result<(), FieldError>;

    /// The records this one points at; each must exist when it is written.
    fn references(&self) -> Vec<Reference> {
        Vec::new()
    }

    fn matches(&self, _filter: &Self::Filter) -> bool {
        true
    }

    /// Prepares a list filter before [`Resource::matches`] runs on each record: a skill
    /// filter is normalised once, here, rather than once per record.
    fn resolve_filter(_filter: &mut Self::Filter, _taxonomy: &Taxonomy) {}

    /// The candidate this record is about, if any: their search index entry is refreshed
    /// when the record changes.
    fn candidate_id(&self) -> Option<u64> {
        None
    }

    /// The employer that owns this record, for records an employer may manage itself.
    fn owner_employer(&self) -> Option<u64> {
        None
    }

    /// Checks against other records, run inside the write after the references exist.
    fn check_with(&self, _tx: &WriteTx<'_>) -> Result<(), CheckError> {
        Ok(())
    }

    /// Further changes made in the same atomic write when the record is created.
    fn after_create(
        &self,
        _id: u64,
        _tx: &mut WriteTx<'_>,
        _now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), CheckError> {
        Ok(())
    }
}

/// A short human label (token labels, account notes).
pub fn check_label(field: &str, value: &str) -> Result<(), FieldError> {
    common::text(field, value, common::MAX_NAME)
}

/// A failed write: a rule broken by the input, or the store failing.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("{}: {}", .0.field, .0.reason)]
    Invalid(FieldError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

impl From<FieldError> for CheckError {
    fn from(e: FieldError) -> CheckError {
        CheckError::Invalid(e)
    }
}

/// Checks that every reference points at an existing record (as `tx` would leave the
/// store) and returns them as index entries for [`WriteTx::set_refs`].
pub fn check_references(
    tx: &WriteTx<'_>,
    refs: &[Reference],
) -> Result<Vec<(Table, u64)>, CheckError> {
    for r in refs {
        if !tx.exists(r.table, r.id)? {
            return Err(FieldError::new(
                r.field.clone(),
                format!("no {} with id {}", r.name, r.id),
            )
            .into());
        }
    }
    Ok(refs.iter().map(|r| (r.table, r.id)).collect())
}

/// Stages a new record of a [`Resource`]: references checked, id allocated, reverse
/// references and the resource's own follow-up changes written, all in `tx`. The API and
/// the seeder both create records through here.
pub fn stage_create<R: Resource>(
    tx: &mut WriteTx<'_>,
    data: R,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Record<R>, CheckError> {
    let refs = check_references(tx, &data.references())?;
    data.check_with(tx)?;
    let id = tx.next_id(R::TABLE)?;
    tx.set_refs(R::TABLE, id, &refs)?;
    data.after_create(id, tx, now)?;
    let record = Record {
        id,
        created_at: now,
        updated_at: now,
        data,
    };
    tx.put(R::TABLE, id, &record)?;
    Ok(record)
}
