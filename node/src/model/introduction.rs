//! Introductions: the only way an employer gets in touch with a candidate.
//!
//! Employers see candidates in blind search results under a pseudonym. To meet one, the
//! employer asks for an introduction (or the operator records the request on its behalf);
//! the operator talks to the candidate and records the outcome. Only an accepted
//! introduction hands the employer the candidate's contact details: for a candidate of this
//! node the HTTP layer reads them from the personal record when it answers, so they are never
//! copied here; for another node's candidate the requesting node keeps what the home node
//! sent on acceptance (`RemoteIntroduction::contact`), shown to that employer alone.
//!
//! This module holds the record, the request bodies and the rules that need the store
//! (which candidates can be introduced, one open request at a time, the stage change on
//! acceptance). Who may ask for what, and how pseudonyms are read, is the HTTP layer's
//! business.
//!
//! Across the federation (`federation/direct.rs`) the same record is kept at both ends,
//! with [`RemoteIntroduction`] saying which end this is: the *requesting* node stores an
//! outgoing introduction for its employer (no local candidate: a shared profile of another
//! node), the candidate's *home* node an incoming one for its candidate (no local employer:
//! the requesting community and employer are named in it). Each is the audit trail of its
//! node: who asked, when, for which opening, the outcome and when.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::candidate::{Candidate, Stage, StageChange};
use super::common::{opt_text, text, FieldError, Record, MAX_NOTE};
use super::opening::Opening;
use crate::federation::direct;
use crate::store::{StoreError, Table, WriteTx};
use techhire_protocol::{
    AnswerOutcome, DirectMessage, IntroAnswer, IntroRequest, OpeningRef, PlacementNotice,
    ProfileId, PublicKey, RefusalReason, RequestId,
};

/// A stored introduction request and, once decided, its outcome.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Introduction {
    /// The local employer; `None` for a request that came from another node (the employer
    /// is named in `remote`).
    pub employer_id: Option<u64>,
    /// The local candidate id: shown to operators only. Employers know the candidate by
    /// the pseudonym their results showed. `None` for a request to another node's
    /// candidate (the shared profile is named in `remote`).
    pub candidate_id: Option<u64>,
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
    /// When the request was accepted, declined, withdrawn, refused or expired.
    #[serde(default)]
    pub decided_at: Option<DateTime<Utc>>,
    /// For an introduction across the federation: the other node and what travelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<RemoteIntroduction>,
}

/// Which end of a federated introduction this node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// This node's employer asked for another node's candidate.
    Outgoing,
    /// Another node's employer asked for this node's candidate.
    Incoming,
}

/// The federated part of an introduction.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RemoteIntroduction {
    pub direction: Direction,
    /// The request's id (32 hex digits), the same at both nodes.
    pub request_id: String,
    /// The other node's key (hex): the home node of an outgoing request, the requesting
    /// node of an incoming one.
    pub node: String,
    /// The other node's community.
    pub community: String,
    /// The shared profile asked for (32 hex digits).
    pub profile: String,
    /// The requesting employer's name (incoming; outgoing ones have `employer_id`).
    #[serde(default)]
    pub employer_name: Option<String>,
    /// The opening's title and SOC code as they travelled.
    #[serde(default)]
    pub opening_title: Option<String>,
    #[serde(default)]
    pub opening_soc: Option<String>,
    /// Outgoing: when the request lapses without an answer.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    /// Outgoing: when the home node acknowledged the request (it is in its operator's
    /// queue); `None` while it is on its way.
    #[serde(default)]
    pub delivered_at: Option<DateTime<Utc>>,
    /// Outgoing, once accepted: the contact details the candidate chose to share. Personal
    /// data: shown to the employer that asked and to operators only.
    #[serde(default)]
    pub contact: Option<SharedContact>,
    /// Incoming, once accepted: which details were sent.
    #[serde(default)]
    pub shared: Vec<ContactField>,
    /// Why the home node refused the request (`profile_withdrawn`, `unknown_profile`,
    /// `candidate_unavailable`).
    #[serde(default)]
    pub refusal: Option<String>,
    /// The month (`YYYY-MM`) the candidate started a job through this introduction: at the
    /// home node when it recorded the placement, at the requesting node when told.
    #[serde(default)]
    pub placed: Option<String>,
}

/// Contact details as a candidate chose to share them with another node's employer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SharedContact {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// A contact detail a candidate may share on accepting a federated introduction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContactField {
    Name,
    Email,
    Phone,
}

/// Who made the request: the employer itself, or the operator recording it for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestedBy {
    Operator,
    Employer,
    /// An employer of another node, through that node (`remote` names both).
    OtherNode,
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
    /// The candidate's home node refused the request without asking the candidate
    /// (`remote.refusal` says why).
    Refused,
    /// No answer in time (the requesting node's timeout), or closed by the home node; at
    /// the home node also a request the requesting node withdrew or let time out (its
    /// cancel), which can no longer be accepted.
    Expired,
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
    /// Instead of a candidate: another node's shared profile (32 hex digits, as search
    /// results show it); the request goes to the profile's home node.
    #[serde(default)]
    pub profile: Option<String>,
    /// With `profile`: the profile's home node key (64 hex digits, search results'
    /// `home_node`). A profile id is unique per home node only: without it, a request for
    /// an id that more than one node holds is refused.
    #[serde(default)]
    pub home_node: Option<String>,
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
    /// For a request from another node, on acceptance: the contact details the candidate
    /// chose to send (default all three; those the personal record lacks are left out).
    #[serde(default)]
    pub share: Option<Vec<ContactField>>,
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
    /// The outcome of a request to another node's candidate is that node's to record.
    #[error("the candidate's home node decides this introduction")]
    DecidedElsewhere,
    /// An acceptance of a federated request would share no contact detail.
    #[error("nothing to share")]
    NothingToShare,
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
            && f.employer_id.is_none_or(|e| Some(e) == self.employer_id)
            && f.candidate_id.is_none_or(|c| Some(c) == self.candidate_id)
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
            && o.employer_id == Some(new.employer_id)
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
            employer_id: Some(new.employer_id),
            candidate_id: Some(new.candidate_id),
            opening_id: new.opening_id,
            message: new.message,
            requested_at: now,
            requested_by: new.requested_by,
            status: IntroductionStatus::Requested,
            outcome_note: None,
            decided_at: None,
            remote: None,
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
    if is_outgoing(&record.data) {
        return Err(IntroductionError::DecidedElsewhere);
    }
    let status = match input.outcome {
        Outcome::Accepted => IntroductionStatus::Accepted,
        Outcome::Declined => IntroductionStatus::Declined,
    };
    if status == IntroductionStatus::Accepted {
        let candidate_id = record
            .data
            .candidate_id
            .ok_or(IntroductionError::UnknownCandidate)?;
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
    if let Some(remote) = record.data.remote.as_mut() {
        // The answer goes back to the requesting node in the same write, so an outcome is
        // never recorded without it (delivery is retried until acknowledged).
        let outcome = match status {
            IntroductionStatus::Accepted => {
                let chosen = input.share.clone().unwrap_or_else(|| {
                    vec![ContactField::Name, ContactField::Email, ContactField::Phone]
                });
                let candidate_id = record
                    .data
                    .candidate_id
                    .ok_or(IntroductionError::UnknownCandidate)?;
                let personal = tx
                    .get::<super::Personal>(Table::CandidatePersonal, candidate_id)?
                    .ok_or(IntroductionError::UnknownCandidate)?;
                let pick = |f: ContactField, v: Option<String>| v.filter(|_| chosen.contains(&f));
                let contact = techhire_protocol::Contact {
                    name: pick(ContactField::Name, Some(personal.name)),
                    email: pick(ContactField::Email, Some(personal.email)),
                    phone: pick(ContactField::Phone, personal.phone),
                };
                remote.shared = [
                    (ContactField::Name, contact.name.is_some()),
                    (ContactField::Email, contact.email.is_some()),
                    (ContactField::Phone, contact.phone.is_some()),
                ]
                .into_iter()
                .filter_map(|(f, sent)| sent.then_some(f))
                .collect();
                if remote.shared.is_empty() {
                    return Err(IntroductionError::NothingToShare);
                }
                AnswerOutcome::Accepted(contact)
            }
            _ => AnswerOutcome::Declined,
        };
        // The operator's note leaves the node only with an acceptance: a decline's note
        // (often why the candidate said no) stays at home.
        let note = match outcome {
            AnswerOutcome::Accepted(_) => input.note.clone(),
            _ => None,
        };
        let answer = IntroAnswer {
            id: request_id(remote)?,
            outcome,
            note,
            decided_at_ms: ms(now),
        };
        direct::stage_send(tx, &node_key(remote)?, &DirectMessage::Answer(answer))?;
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
    if let Some(remote) = record.data.remote.as_ref() {
        // The other node is told the request was closed without an answer: the requesting
        // node, so that its employer stops waiting; the home node, so that its operator
        // cannot accept it any more (and send contact details nobody is waiting for).
        stage_closed(tx, remote, now)?;
    }
    unindex_open(tx, record);
    record.data.status = IntroductionStatus::Withdrawn;
    record.data.decided_at = Some(now);
    record.updated_at = now;
    tx.put(Table::Introduction, record.id, record)?;
    Ok(())
}

/// Before an incoming introduction is erased with its candidate: an answer still queued
/// for the requesting node (an acceptance carries contact details) is dropped, and the
/// request, unless it was answered already, is refused as `profile_withdrawn`, an answer
/// without contact details.
pub fn stage_erasure(
    tx: &mut WriteTx<'_>,
    record: &Record<Introduction>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let Some(remote) = record.data.remote.as_ref() else {
        return Ok(());
    };
    if remote.direction != Direction::Incoming {
        return Ok(());
    }
    let (to, id) = (node_key(remote)?, request_id(remote)?);
    let dropped = direct::unqueue_answer(tx, &to, &id)?;
    if dropped || record.data.status == IntroductionStatus::Requested {
        let answer = IntroAnswer {
            id,
            outcome: AnswerOutcome::Refused(RefusalReason::ProfileWithdrawn),
            note: None,
            decided_at_ms: ms(now),
        };
        direct::stage_send(tx, &to, &DirectMessage::Answer(answer))?;
    }
    Ok(())
}

/// An outgoing introduction leaves the open ones that [`direct`] checks for expiry.
fn unindex_open(tx: &mut WriteTx<'_>, record: &Record<Introduction>) {
    if let Some(r) = record.data.remote.as_ref() {
        if let (Direction::Outgoing, Some(e)) = (r.direction, r.expires_at) {
            direct::unindex_open(tx, e, record.id);
        }
    }
}

/// Queues the `expired` answer that tells the other node of a federated introduction it was
/// closed here without an outcome (see [`apply_answer`] for the home node's side).
fn stage_closed(
    tx: &mut WriteTx<'_>,
    remote: &RemoteIntroduction,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let answer = IntroAnswer {
        id: request_id(remote)?,
        outcome: AnswerOutcome::Expired,
        note: None,
        decided_at_ms: ms(now),
    };
    direct::stage_send(tx, &node_key(remote)?, &DirectMessage::Answer(answer))
}

/// Whether the introduction is this node's request to another node's candidate.
pub fn is_outgoing(i: &Introduction) -> bool {
    i.remote
        .as_ref()
        .is_some_and(|r| r.direction == Direction::Outgoing)
}

/// Whether the introduction is another node's request for this node's candidate.
pub fn is_incoming(i: &Introduction) -> bool {
    i.remote
        .as_ref()
        .is_some_and(|r| r.direction == Direction::Incoming)
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt {
        key: "introduction".into(),
        reason: format!("a federated introduction holds a bad {what}"),
    }
}

fn request_id(remote: &RemoteIntroduction) -> Result<RequestId, StoreError> {
    remote.request_id.parse().map_err(|_| corrupt("request id"))
}

fn node_key(remote: &RemoteIntroduction) -> Result<PublicKey, StoreError> {
    remote.node.parse().map_err(|_| corrupt("node key"))
}

/// Milliseconds since the Unix epoch (0 before it).
fn ms(t: DateTime<Utc>) -> u64 {
    u64::try_from(t.timestamp_millis()).unwrap_or(0)
}

fn from_ms(ms: u64) -> DateTime<Utc> {
    i64::try_from(ms)
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .unwrap_or_default()
}

/// A request to another node's candidate, resolved to what the requesting node knows.
#[derive(Debug, Clone)]
pub struct NewOutgoing {
    pub employer_id: u64,
    pub opening_id: Option<u64>,
    pub message: String,
    pub requested_by: RequestedBy,
    pub profile: ProfileId,
    /// The profile's home node (its origin) and community.
    pub home: PublicKey,
    pub home_community: String,
    /// This node's community, as its certificate names it.
    pub own_community: String,
    /// When the request lapses without an answer.
    pub expires_at: DateTime<Utc>,
}

/// Stages an outgoing request: the same employer and opening checks as a local one, one
/// open request per employer, profile and opening, and the signed request queued for the
/// home node in the same write.
pub fn stage_outgoing(
    tx: &mut WriteTx<'_>,
    new: NewOutgoing,
    now: DateTime<Utc>,
) -> Result<Record<Introduction>, IntroductionError> {
    let Some(employer) = tx.get::<Record<super::Employer>>(Table::Employer, new.employer_id)?
    else {
        return Err(FieldError::new(
            "employer_id",
            format!("no employer with id {}", new.employer_id),
        )
        .into());
    };
    let mut refs = vec![(Table::Employer, new.employer_id)];
    let mut opening = None;
    if let Some(opening_id) = new.opening_id {
        match tx.get::<Record<Opening>>(Table::Opening, opening_id)? {
            Some(o) if o.data.employer_id == new.employer_id => {
                opening = Some(OpeningRef {
                    title: o.data.title,
                    soc: Some(o.data.soc_code).filter(|s| techhire_protocol::is_soc_code(s)),
                })
            }
            _ => {
                return Err(FieldError::new(
                    "opening_id",
                    format!(
                        "employer {} has no opening with id {opening_id}",
                        new.employer_id
                    ),
                )
                .into())
            }
        }
        refs.push((Table::Opening, opening_id));
    }
    let profile = new.profile.to_string();
    // The employer's reverse references list its introductions.
    for (table, id) in tx.referrers(Table::Employer, new.employer_id)? {
        if table != Table::Introduction {
            continue;
        }
        let Some(other) = tx.get::<Record<Introduction>>(Table::Introduction, id)? else {
            continue;
        };
        let o = &other.data;
        if o.status == IntroductionStatus::Requested
            && o.opening_id == new.opening_id
            && o.remote.as_ref().is_some_and(|r| r.profile == profile)
        {
            return Err(IntroductionError::AlreadyRequested(id));
        }
    }
    let request = IntroRequest {
        id: RequestId::random(),
        profile: new.profile,
        community: new.own_community,
        employer: employer.data.name,
        opening: opening.clone(),
        message: new.message.clone(),
        requested_at_ms: ms(now),
    };
    let id = tx.next_id(Table::Introduction)?;
    tx.set_refs(Table::Introduction, id, &refs)?;
    direct::stage_send(tx, &new.home, &DirectMessage::Request(request.clone()))?;
    direct::index_outgoing(tx, &request.id, id);
    direct::index_open(tx, new.expires_at, id);
    let record = Record {
        id,
        created_at: now,
        updated_at: now,
        data: Introduction {
            employer_id: Some(new.employer_id),
            candidate_id: None,
            opening_id: new.opening_id,
            message: new.message,
            requested_at: now,
            requested_by: new.requested_by,
            status: IntroductionStatus::Requested,
            outcome_note: None,
            decided_at: None,
            remote: Some(RemoteIntroduction {
                direction: Direction::Outgoing,
                request_id: request.id.to_string(),
                node: new.home.to_string(),
                community: new.home_community,
                profile,
                employer_name: None,
                opening_title: opening.as_ref().map(|o| o.title.clone()),
                opening_soc: opening.and_then(|o| o.soc),
                expires_at: Some(new.expires_at),
                delivered_at: None,
                contact: None,
                shared: Vec::new(),
                refusal: None,
                placed: None,
            }),
        },
    };
    tx.put(Table::Introduction, id, &record)?;
    Ok(record)
}

/// What became of a request that arrived from another node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incoming {
    /// Stored for the operator's queue as this introduction.
    Stored(u64),
    /// Already stored (a retry whose acknowledgement was lost).
    Duplicate(u64),
    /// Refused at once; the refusal is queued for the requesting node.
    Refused(RefusalReason),
}

/// Stages a request from node `from` for local candidate `candidate` (`None`: no live
/// profile has the id; `withdrawn` says whether this node ever published it). A refusal
/// stores nothing but the answer queued for `from`.
pub fn stage_incoming(
    tx: &mut WriteTx<'_>,
    from: &PublicKey,
    request: &IntroRequest,
    candidate: Option<u64>,
    withdrawn: bool,
    now: DateTime<Utc>,
) -> Result<Incoming, IntroductionError> {
    if let Some(id) = direct::incoming(tx, from, &request.id)? {
        return Ok(Incoming::Duplicate(id));
    }
    let refuse = |tx: &mut WriteTx<'_>, reason| -> Result<Incoming, IntroductionError> {
        let answer = IntroAnswer {
            id: request.id,
            outcome: AnswerOutcome::Refused(reason),
            note: None,
            decided_at_ms: ms(now),
        };
        direct::stage_send(tx, from, &DirectMessage::Answer(answer))?;
        Ok(Incoming::Refused(reason))
    };
    let candidate = match candidate {
        Some(c) => tx.get::<Record<Candidate>>(Table::Candidate, c)?,
        None => None,
    };
    let Some(candidate) = candidate else {
        let reason = if withdrawn {
            RefusalReason::ProfileWithdrawn
        } else {
            RefusalReason::UnknownProfile
        };
        return refuse(tx, reason);
    };
    if !open_to_introductions(candidate.data.stage) {
        return refuse(tx, RefusalReason::CandidateUnavailable);
    }
    let id = tx.next_id(Table::Introduction)?;
    tx.set_refs(Table::Introduction, id, &[(Table::Candidate, candidate.id)])?;
    direct::index_incoming(tx, from, &request.id, id);
    let record = Record {
        id,
        created_at: now,
        updated_at: now,
        data: Introduction {
            employer_id: None,
            candidate_id: Some(candidate.id),
            opening_id: None,
            message: request.message.clone(),
            requested_at: from_ms(request.requested_at_ms),
            requested_by: RequestedBy::OtherNode,
            status: IntroductionStatus::Requested,
            outcome_note: None,
            decided_at: None,
            remote: Some(RemoteIntroduction {
                direction: Direction::Incoming,
                request_id: request.id.to_string(),
                node: from.to_string(),
                community: request.community.clone(),
                profile: request.profile.to_string(),
                employer_name: Some(request.employer.clone()),
                opening_title: request.opening.as_ref().map(|o| o.title.clone()),
                opening_soc: request.opening.as_ref().and_then(|o| o.soc.clone()),
                expires_at: None,
                delivered_at: None,
                contact: None,
                shared: Vec::new(),
                refusal: None,
                placed: None,
            }),
        },
    };
    tx.put(Table::Introduction, id, &record)?;
    Ok(Incoming::Stored(id))
}

/// What became of an answer or notice from another node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Recorded on this introduction.
    Done(u64),
    /// Already recorded, or the request was closed here first (withdrawn or timed out):
    /// acknowledged, nothing changes.
    Duplicate,
    /// Names no request this node sent to that node.
    UnknownRequest,
    /// A placement notice for a request whose answer has not arrived yet: offer it again.
    NotYet,
}

/// The outgoing introduction that `from` may answer for `id`.
fn outgoing_from(
    tx: &WriteTx<'_>,
    from: &PublicKey,
    id: &RequestId,
) -> Result<Option<Record<Introduction>>, StoreError> {
    let Some(intro) = direct::outgoing(tx, id)? else {
        return Ok(None);
    };
    let from = from.to_string();
    Ok(tx
        .get::<Record<Introduction>>(Table::Introduction, intro)?
        .filter(|r| {
            r.data
                .remote
                .as_ref()
                .is_some_and(|m| m.direction == Direction::Outgoing && m.node == from)
        }))
}

/// Records the home node's answer on the outgoing introduction it names. An answer after
/// the request timed out or was withdrawn here changes nothing: the employer must not get
/// contact details for a request it no longer has open.
pub fn apply_answer(
    tx: &mut WriteTx<'_>,
    from: &PublicKey,
    answer: &IntroAnswer,
    now: DateTime<Utc>,
) -> Result<Applied, StoreError> {
    let Some(mut record) = outgoing_from(tx, from, &answer.id)? else {
        return apply_cancel(tx, from, answer, now);
    };
    if record.data.status != IntroductionStatus::Requested {
        return Ok(Applied::Duplicate);
    }
    let Some(remote) = record.data.remote.as_mut() else {
        return Ok(Applied::UnknownRequest);
    };
    if remote.expires_at.is_some_and(|e| e <= now) {
        record.data.status = IntroductionStatus::Expired;
    } else {
        record.data.status = match &answer.outcome {
            AnswerOutcome::Accepted(c) => {
                remote.contact = Some(SharedContact {
                    name: c.name.clone(),
                    email: c.email.clone(),
                    phone: c.phone.clone(),
                });
                record.data.outcome_note = answer.note.clone();
                IntroductionStatus::Accepted
            }
            AnswerOutcome::Declined => IntroductionStatus::Declined,
            AnswerOutcome::Refused(reason) => {
                remote.refusal = Some(reason.as_str().to_owned());
                IntroductionStatus::Refused
            }
            AnswerOutcome::Expired => IntroductionStatus::Expired,
        };
    }
    record.data.decided_at = Some(now);
    record.updated_at = now;
    unindex_open(tx, &record);
    tx.put(Table::Introduction, record.id, &record)?;
    Ok(Applied::Done(record.id))
}

/// At the home node: the requesting node withdrew its request `answer.id` or it timed out
/// there (an `expired` answer from the requester). A request still open is closed as
/// `expired`, so that the operator can no longer accept it; the candidate is not touched.
/// Any other outcome from the requester, or a request `from` never sent, is unknown.
fn apply_cancel(
    tx: &mut WriteTx<'_>,
    from: &PublicKey,
    answer: &IntroAnswer,
    now: DateTime<Utc>,
) -> Result<Applied, StoreError> {
    if answer.outcome != AnswerOutcome::Expired {
        return Ok(Applied::UnknownRequest);
    }
    let Some(id) = direct::incoming(tx, from, &answer.id)? else {
        return Ok(Applied::UnknownRequest);
    };
    let Some(mut record) = tx.get::<Record<Introduction>>(Table::Introduction, id)? else {
        // Erased with its candidate meanwhile.
        return Ok(Applied::Duplicate);
    };
    if !is_incoming(&record.data) {
        return Ok(Applied::UnknownRequest);
    }
    if record.data.status != IntroductionStatus::Requested {
        return Ok(Applied::Duplicate);
    }
    record.data.status = IntroductionStatus::Expired;
    record.data.outcome_note = Some("withdrawn or timed out at the requesting node".into());
    record.data.decided_at = Some(now);
    record.updated_at = now;
    tx.put(Table::Introduction, id, &record)?;
    Ok(Applied::Done(id))
}

/// Marks the outgoing introduction a placement notice names as placed (the month the job
/// started), once.
pub fn apply_notice(
    tx: &mut WriteTx<'_>,
    from: &PublicKey,
    notice: &PlacementNotice,
    now: DateTime<Utc>,
) -> Result<Applied, StoreError> {
    let Some(mut record) = outgoing_from(tx, from, &notice.id)? else {
        return Ok(Applied::UnknownRequest);
    };
    if record.data.status == IntroductionStatus::Requested {
        return Ok(Applied::NotYet);
    }
    if record.data.status != IntroductionStatus::Accepted {
        // Only an accepted introduction can have led to a hire: acknowledged, not credited.
        return Ok(Applied::Duplicate);
    }
    let Some(remote) = record.data.remote.as_mut() else {
        return Ok(Applied::UnknownRequest);
    };
    if remote.placed.is_some() {
        return Ok(Applied::Duplicate);
    }
    remote.placed = Some(format!("{:04}-{:02}", notice.year, notice.month));
    record.updated_at = now;
    tx.put(Table::Introduction, record.id, &record)?;
    Ok(Applied::Done(record.id))
}

/// Marks an outgoing request that is still open past its deadline as expired; `false` if
/// there was nothing to do.
pub fn stage_expiry(tx: &mut WriteTx<'_>, id: u64, now: DateTime<Utc>) -> Result<bool, StoreError> {
    let Some(mut record) = tx.get::<Record<Introduction>>(Table::Introduction, id)? else {
        return Ok(false);
    };
    let overdue = record
        .data
        .remote
        .as_ref()
        .and_then(|r| r.expires_at)
        .is_some_and(|e| e <= now);
    if record.data.status != IntroductionStatus::Requested {
        // Closed without leaving the index (nothing does that now): tidy up.
        unindex_open(tx, &record);
        return Ok(false);
    }
    if !overdue {
        return Ok(false);
    }
    unindex_open(tx, &record);
    if let Some(remote) = record.data.remote.as_ref() {
        // The home node closes its side too: no acceptance after the deadline.
        stage_closed(tx, remote, now)?;
    }
    record.data.status = IntroductionStatus::Expired;
    record.data.decided_at = Some(now);
    record.updated_at = now;
    tx.put(Table::Introduction, id, &record)?;
    Ok(true)
}

/// Notes that the home node acknowledged outgoing request `id`; `true` if this was news.
pub fn stage_delivered(
    tx: &mut WriteTx<'_>,
    id: &RequestId,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let Some(intro) = direct::outgoing(tx, id)? else {
        return Ok(false);
    };
    let Some(mut record) = tx.get::<Record<Introduction>>(Table::Introduction, intro)? else {
        return Ok(false);
    };
    let Some(remote) = record.data.remote.as_mut() else {
        return Ok(false);
    };
    if remote.delivered_at.is_some() {
        return Ok(false);
    }
    remote.delivered_at = Some(now);
    tx.put(Table::Introduction, intro, &record)?;
    Ok(true)
}

/// The incoming introduction a placement of `candidate_id` came through, as the operator
/// named it (`named`): it must be an accepted one from another node for that candidate.
/// Nothing is guessed: without a name no community is credited, since the candidate's
/// accepted introductions may be for other employers than the one that hired them.
pub fn placed_through(
    tx: &WriteTx<'_>,
    candidate_id: u64,
    named: Option<u64>,
) -> Result<Option<Record<Introduction>>, PlacedThroughError> {
    let Some(id) = named else {
        return Ok(None);
    };
    match tx.get::<Record<Introduction>>(Table::Introduction, id)? {
        Some(r)
            if r.data.candidate_id == Some(candidate_id)
                && r.data.status == IntroductionStatus::Accepted
                && is_incoming(&r.data) =>
        {
            Ok(Some(r))
        }
        _ => Err(PlacedThroughError::NotFit(id)),
    }
}

/// Why a placement cannot name an introduction.
#[derive(Debug, thiserror::Error)]
pub enum PlacedThroughError {
    #[error(
        "introduction {0} is not an accepted introduction from another node for this candidate"
    )]
    NotFit(u64),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Marks an incoming introduction placed (the month the job starts) and queues the
/// placement notice for the requesting node, in the caller's write.
pub fn stage_placement_notice(
    tx: &mut WriteTx<'_>,
    mut record: Record<Introduction>,
    start: chrono::NaiveDate,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    use chrono::Datelike;
    let Some(remote) = record.data.remote.as_mut() else {
        return Ok(());
    };
    if remote.placed.is_some() {
        return Ok(());
    }
    let (year, month) = (
        u16::try_from(start.year()).unwrap_or(0),
        u8::try_from(start.month()).unwrap_or(0),
    );
    if !(2000..=2100).contains(&year) {
        // No federated introduction predates 2000: nothing to credit.
        return Ok(());
    }
    let notice = PlacementNotice {
        id: request_id(remote)?,
        year,
        month,
    };
    direct::stage_send(tx, &node_key(remote)?, &DirectMessage::Placement(notice))?;
    remote.placed = Some(format!("{year:04}-{month:02}"));
    record.updated_at = now;
    tx.put(Table::Introduction, record.id, &record)
}
