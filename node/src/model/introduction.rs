//! Introductions: the only way an employer gets in touch with a candidate.
//!
//! Employers see candidates in blind search results under a pseudonym. To meet one, the
//! employer asks for an introduction (or the operator records the request on its behalf);
//! the operator talks to the candidate and records the outcome. Only an accepted
//! introduction hands the employer the candidate's contact details (the HTTP layer reads them
//! from the personal record when it answers, so they are never copied here).
//!
//! This module holds the record, the request bodies and the rules that need the store
//! (which candidates can be introduced, one open request at a time, the stage change on
//! acceptance). Who may ask for what, and how pseudonyms are read, is the HTTP layer's
//! business. The cross-region flow (a later issue) will create the same records.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::candidate::{Candidate, Stage, StageChange};
use super::common::{opt_text, text, FieldError, Record, MAX_NOTE};
use super::opening::Opening;
use crate::store::{StoreError, Table, WriteTx};

/// A stored introduction request and, once decided, its outcome.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Introduction {
    pub employer_id: u64,
    /// The local candidate id: shown to operators only. Employers know the candidate by
    /// the pseudonym their results showed.
    pub candidate_id: u64,
    /// The opening the employer has in mind, if any.
    #[serde(default)]
    pub opening_id: Option<u64>,
    /// The employer's note to the candidate (why them, what role).
    pub message: String,
    /// When the employer asked. Kept apart from `created_at`: a request that arrives from
    /// another region (a later issue) was made before this node stored it.
    pub requested_at: DateTime<Utc>,
    pub requested_by: RequestedBy,
    pub status: IntroductionStatus,
    /// The operator's note on the outcome.
    #[serde(default)]
    pub outcome_note: Option<String>,
    /// When the request was accepted, declined or withdrawn.
    #[serde(default)]
    pub decided_at: Option<DateTime<Utc>>,
}

/// Who made the request: the employer itself, or the operator recording it for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestedBy {
    Operator,
    Employer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IntroductionStatus {
    /// Waiting for the operator to ask the candidate.
    Requested,
    /// The candidate agreed: the employer now sees their contact details.
    Accepted,
    Declined,
    /// Called off by the employer or the operator before an outcome.
    Withdrawn,
}

/// What an introduction request is made from.
///
/// An employer sends `candidate` (the pseudonym its search results showed), `message` and
/// optionally `opening_id`; its employer is the one its token belongs to, so it sends
/// neither `employer_id` nor `candidate_id`. An operator sends `employer_id` and either
/// `candidate_id` or the employer's pseudonym in `candidate`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntroductionRequest {
    /// The candidate's pseudonym as the employer was shown it (`c-` and 16 hex digits).
    #[serde(default)]
    pub candidate: Option<String>,
    /// Operators only: the local candidate id.
    #[serde(default)]
    pub candidate_id: Option<u64>,
    /// Operators only: the employer the request is made for.
    #[serde(default)]
    pub employer_id: Option<u64>,
    /// One of that employer's openings.
    #[serde(default)]
    pub opening_id: Option<u64>,
    pub message: String,
}

/// The operator's record of what the candidate said.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeInput {
    pub outcome: Outcome,
    /// Shown to the employer only if the outcome is `accepted`.
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Accepted,
    Declined,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct IntroductionFilter {
    // Inline: no request body carries the status enum, so a `$ref` would name no schema.
    #[param(inline)]
    pub status: Option<IntroductionStatus>,
    pub employer_id: Option<u64>,
    /// Operators only: the local candidate id.
    pub candidate_id: Option<u64>,
    pub opening_id: Option<u64>,
    /// The candidate's pseudonym for the introduction's employer.
    pub candidate: Option<String>,
}

/// A request with the candidate and employer resolved to local ids, ready to be staged.
#[derive(Debug, Clone)]
pub struct NewIntroduction {
    pub employer_id: u64,
    pub candidate_id: u64,
    pub opening_id: Option<u64>,
    pub message: String,
    pub requested_by: RequestedBy,
}

/// Why an introduction could not be requested or decided. Typed rather than a
/// [`FieldError`], so that the caller can name the field it took the candidate from (a
/// pseudonym or an id) and answer 409 for the state conflicts.
#[derive(Debug, thiserror::Error)]
pub enum IntroductionError {
    #[error("no such candidate")]
    UnknownCandidate,
    /// The candidate is in a stage where nobody is introduced to them.
    #[error("the candidate is in the {0:?} stage")]
    CandidateUnavailable(Stage),
    /// An open request for the same employer, candidate and opening exists: this id.
    #[error("introduction {0} is already requested")]
    AlreadyRequested(u64),
    /// Only a `requested` introduction can be decided or withdrawn.
    #[error("the introduction is {0:?}")]
    NotOpen(IntroductionStatus),
    #[error("{}: {}", .0.field, .0.reason)]
    Invalid(FieldError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<FieldError> for IntroductionError {
    fn from(e: FieldError) -> IntroductionError {
        IntroductionError::Invalid(e)
    }
}

impl IntroductionRequest {
    pub fn validate(&self) -> Result<(), FieldError> {
        text("message", &self.message, MAX_NOTE)
    }
}

impl OutcomeInput {
    pub fn validate(&self) -> Result<(), FieldError> {
        opt_text("note", self.note.as_deref(), MAX_NOTE)
    }
}

impl Introduction {
    /// Matches every filter except `candidate` (a pseudonym needs the node's key, which the
    /// HTTP layer holds).
    pub fn matches(&self, f: &IntroductionFilter) -> bool {
        f.status.is_none_or(|s| s == self.status)
            && f.employer_id.is_none_or(|e| e == self.employer_id)
            && f.candidate_id.is_none_or(|c| c == self.candidate_id)
            && f.opening_id.is_none_or(|o| Some(o) == self.opening_id)
    }
}

/// Whether a candidate in `stage` can be introduced to an employer: not once they have
/// left the program, were not hired, or are placed.
pub fn open_to_introductions(stage: Stage) -> bool {
    !matches!(stage, Stage::Withdrawn | Stage::NotHired | Stage::Placed)
}

/// Stages a new request: checks the candidate, the employer and the opening inside `tx`
/// (so none can vanish between check and write), refuses a second open request for the
/// same employer, candidate and opening, and records references so that none of them can
/// be deleted from under the request (deleting the candidate deletes it instead).
pub fn stage_introduction(
    tx: &mut WriteTx<'_>,
    new: NewIntroduction,
    now: DateTime<Utc>,
) -> Result<Record<Introduction>, IntroductionError> {
    // The employer first: a pseudonym is read for it, so with a wrong employer the
    // candidate would look unknown and the error would blame the wrong field.
    if !tx.exists(Table::Employer, new.employer_id)? {
        return Err(FieldError::new(
            "employer_id",
            format!("no employer with id {}", new.employer_id),
        )
        .into());
    }
    let candidate = tx
        .get::<Record<Candidate>>(Table::Candidate, new.candidate_id)?
        .ok_or(IntroductionError::UnknownCandidate)?;
    let mut refs = vec![
        (Table::Candidate, new.candidate_id),
        (Table::Employer, new.employer_id),
    ];
    if let Some(opening_id) = new.opening_id {
        // A missing opening and another employer's get the same answer, so that an
        // employer cannot probe which opening ids exist (as its reads answer 404).
        let owned = tx
            .get::<Record<Opening>>(Table::Opening, opening_id)?
            .is_some_and(|o| o.data.employer_id == new.employer_id);
        if !owned {
            return Err(FieldError::new(
                "opening_id",
                format!(
                    "employer {} has no opening with id {opening_id}",
                    new.employer_id
                ),
            )
            .into());
        }
        refs.push((Table::Opening, opening_id));
    }
    // The conflicts come after the field checks: a request that names nothing valid is
    // told so first.
    if !open_to_introductions(candidate.data.stage) {
        return Err(IntroductionError::CandidateUnavailable(
            candidate.data.stage,
        ));
    }
    // The candidate's reverse references list every introduction about them, so this
    // reads only their records, not the whole table.
    for (table, id) in tx.referrers(Table::Candidate, new.candidate_id)? {
        if table != Table::Introduction {
            continue;
        }
        let Some(other) = tx.get::<Record<Introduction>>(Table::Introduction, id)? else {
            continue;
        };
        let o = &other.data;
        if o.status == IntroductionStatus::Requested
            && o.employer_id == new.employer_id
            && o.opening_id == new.opening_id
        {
            return Err(IntroductionError::AlreadyRequested(id));
        }
    }
    let id = tx.next_id(Table::Introduction)?;
    tx.set_refs(Table::Introduction, id, &refs)?;
    let record = Record {
        id,
        created_at: now,
        updated_at: now,
        data: Introduction {
            employer_id: new.employer_id,
            candidate_id: new.candidate_id,
            opening_id: new.opening_id,
            message: new.message,
            requested_at: now,
            requested_by: new.requested_by,
            status: IntroductionStatus::Requested,
            outcome_note: None,
            decided_at: None,
        },
    };
    tx.put(Table::Introduction, id, &record)?;
    Ok(record)
}

/// Stages the outcome of a `requested` introduction. On acceptance the candidate moves to
/// the `introduced` stage in the same write, if they had not got that far yet.
pub fn stage_outcome(
    tx: &mut WriteTx<'_>,
    record: &mut Record<Introduction>,
    input: OutcomeInput,
    now: DateTime<Utc>,
) -> Result<(), IntroductionError> {
    if record.data.status != IntroductionStatus::Requested {
        return Err(IntroductionError::NotOpen(record.data.status));
    }
    let status = match input.outcome {
        Outcome::Accepted => IntroductionStatus::Accepted,
        Outcome::Declined => IntroductionStatus::Declined,
    };
    if status == IntroductionStatus::Accepted {
        let candidate_id = record.data.candidate_id;
        let mut c = tx
            .get::<Record<Candidate>>(Table::Candidate, candidate_id)?
            .ok_or(IntroductionError::UnknownCandidate)?;
        // Acceptance hands over contact details: not for someone who has since left the
        // program (the operator records `declined` instead).
        if !open_to_introductions(c.data.stage) {
            return Err(IntroductionError::CandidateUnavailable(c.data.stage));
        }
        if matches!(
            c.data.stage,
            Stage::Applied | Stage::Assessed | Stage::Vetted | Stage::Matched
        ) {
            c.data.stage = Stage::Introduced;
            c.data.stage_history.push(StageChange {
                stage: Stage::Introduced,
                at: now,
                note: Some(format!("introduction {}", record.id)),
            });
            c.updated_at = now;
            tx.put(Table::Candidate, candidate_id, &c)?;
        }
    }
    record.data.status = status;
    record.data.outcome_note = input.note;
    record.data.decided_at = Some(now);
    record.updated_at = now;
    tx.put(Table::Introduction, record.id, record)?;
    Ok(())
}

/// Stages the withdrawal of a `requested` introduction.
pub fn stage_withdrawal(
    tx: &mut WriteTx<'_>,
    record: &mut Record<Introduction>,
    now: DateTime<Utc>,
) -> Result<(), IntroductionError> {
    if record.data.status != IntroductionStatus::Requested {
        return Err(IntroductionError::NotOpen(record.data.status));
    }
    record.data.status = IntroductionStatus::Withdrawn;
    record.data.decided_at = Some(now);
    record.updated_at = now;
    tx.put(Table::Introduction, record.id, record)?;
    Ok(())
}
