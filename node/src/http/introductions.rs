//! Introduction routes: how an employer gets from a blind search result to a conversation.
//!
//! An employer names a candidate only by the pseudonym its results showed (decoded with its
//! own audience, so another employer's pseudonym names nobody) and never sees the local id.
//! Its view of an introduction is built field by field; the candidate's name, email and
//! phone appear in it only once the operator has recorded that the candidate accepted, and
//! are read from the personal record at that moment (a corrected email reaches the
//! employer; a deleted candidate takes their introductions with them).
//!
//! Across the federation: an employer names another node's shared profile in `profile`
//! instead of a candidate; the request is queued for the profile's home node in the same
//! write as the introduction (`federation/direct.rs` delivers it), and is refused at once
//! (409) if the profile this node holds is withdrawn, expired or unknown. At the home node
//! the request appears in the operator's queue like a local one; recording its outcome (or
//! withdrawing it) queues the answer, with the contact details the candidate chose to share
//! on acceptance. At the requesting node those details are shown to the employer that
//! asked (and operators) only, and only once accepted.

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::error::{ApiError, ApiResult};
use super::extract::{parse_query, split_paging, ApiJson, ApiPath, RawQuery};
use super::{page_json, AppState, Route, OPERATOR, OPERATOR_EMPLOYER};
use crate::auth::{Caller, Role};
use crate::federation::direct::RemoteProfile;
use crate::model::{
    self, Introduction, IntroductionError, IntroductionFilter, IntroductionRequest,
    IntroductionStatus, NewIntroduction, NewOutgoing, OutcomeInput, Personal, Record, RequestedBy,
    Stage,
};
use crate::pseudonym::{Audience, Pseudonyms};
use crate::store::{Store, Table};
use techhire_protocol::{ProfileId, PublicKey, TombstoneReason};

const COLLECTION: &str = "/api/v1/introductions";

pub(super) fn routes() -> Vec<Route> {
    let t = "introductions";
    let item = format!("{COLLECTION}/{{id}}");
    vec![
        Route::new(
            Method::GET,
            COLLECTION,
            OPERATOR_EMPLOYER,
            t,
            "List introduction requests (employers: their own, without candidate ids)",
            get(list),
        )
        .query::<IntroductionFilter>(),
        Route::new(
            Method::POST,
            COLLECTION,
            OPERATOR_EMPLOYER,
            t,
            "Request an introduction to a candidate (employers name the pseudonym they were shown), or to another node's shared profile (`profile`, with its `home_node` as search results show it)",
            post(create),
        )
        .body::<IntroductionRequest>()
        .conflict(
            "the candidate is withdrawn, not hired or placed, or the same request is already open; for a shared profile: it is withdrawn, expired or unknown here, several nodes hold its id and `home_node` was left out, or the node has not joined a federation",
        ),
        Route::new(
            Method::GET,
            &item,
            OPERATOR_EMPLOYER,
            t,
            "Read an introduction (employers see contact details once it is accepted)",
            get(read_one),
        ),
        Route::new(
            Method::POST,
            format!("{item}/outcome"),
            OPERATOR,
            t,
            "Record the candidate's answer to an introduction: accepted or declined",
            post(record_outcome),
        )
        .body::<OutcomeInput>()
        .conflict(
            "the introduction already has an outcome or was withdrawn, the candidate can no longer be introduced, or the candidate's home node decides it",
        ),
        Route::new(
            Method::POST,
            format!("{item}/withdraw"),
            OPERATOR_EMPLOYER,
            t,
            "Withdraw an introduction request that has no outcome yet",
            post(withdraw),
        )
        .conflict("the introduction already has an outcome or was withdrawn"),
    ]
}

/// An introduction as operators see it: the whole record, plus the pseudonym its employer
/// knows the candidate by (to match what the employer says on the phone).
#[derive(Debug, Serialize)]
struct OperatorView {
    #[serde(flatten)]
    record: Record<Introduction>,
    /// `None` when one side is another node's (no local employer or candidate).
    candidate: Option<String>,
}

/// An introduction as its employer sees it. Listed field by field instead of flattening
/// the record with some fields hidden, so that `candidate_id`, or a field added to
/// [`Introduction`] later, cannot reach employers by default.
#[derive(Debug, Serialize)]
struct EmployerView {
    id: u64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    employer_id: Option<u64>,
    /// The pseudonym this employer was shown (a candidate of this node).
    #[serde(skip_serializing_if = "Option::is_none")]
    candidate: Option<String>,
    /// The shared profile asked for (a candidate of another node), with its community.
    #[serde(skip_serializing_if = "Option::is_none")]
    profile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    home_community: Option<String>,
    /// Why the home node refused the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    refusal: Option<String>,
    /// The month the candidate started a job through this introduction (`YYYY-MM`).
    #[serde(skip_serializing_if = "Option::is_none")]
    placed: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<DateTime<Utc>>,
    /// A request to another community: when its node acknowledged it (it is in their
    /// operator's queue); absent while it is on its way.
    #[serde(skip_serializing_if = "Option::is_none")]
    delivered_at: Option<DateTime<Utc>>,
    opening_id: Option<u64>,
    message: String,
    requested_at: DateTime<Utc>,
    requested_by: RequestedBy,
    status: IntroductionStatus,
    /// Only once accepted: an operator's note on a declined request could describe the
    /// candidate, and the result must stay blind.
    outcome_note: Option<String>,
    decided_at: Option<DateTime<Utc>>,
    /// Only once accepted.
    contact: Option<CandidateContact>,
}

/// What an employer learns about a candidate who accepted an introduction.
#[derive(Debug, Serialize)]
struct CandidateContact {
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
enum View {
    Operator(OperatorView),
    Employer(EmployerView),
}

/// Whether `caller` may see (and, for employers, withdraw) `intro`.
fn visible(caller: &Caller, intro: &Introduction) -> bool {
    match caller.role {
        Role::Operator => true,
        Role::Employer => caller.employer_id.is_some() && caller.employer_id == intro.employer_id,
        Role::Reviewer | Role::National => false,
    }
}

fn view(
    store: &Store,
    pseudonyms: &Pseudonyms,
    caller: &Caller,
    record: Record<Introduction>,
) -> ApiResult<View> {
    let i = &record.data;
    let candidate = match (i.employer_id, i.candidate_id) {
        (Some(e), Some(c)) => Some(pseudonyms.encode(Audience::Employer(e), c)),
        _ => None,
    };
    if caller.role == Role::Operator {
        return Ok(View::Operator(OperatorView { record, candidate }));
    }
    let accepted = i.status == IntroductionStatus::Accepted;
    let contact = match (accepted, &i.remote, i.candidate_id) {
        (false, _, _) => None,
        // Another node's candidate: what they chose to share, as it arrived.
        (true, Some(remote), _) => remote.contact.clone().map(|c| CandidateContact {
            name: c.name,
            email: c.email,
            phone: c.phone,
        }),
        (true, None, Some(candidate_id)) => store
            .get::<Personal>(Table::CandidatePersonal, candidate_id)?
            .map(|p| CandidateContact {
                name: Some(p.name),
                email: Some(p.email),
                phone: p.phone,
            }),
        (true, None, None) => None,
    };
    let Record {
        id,
        created_at,
        updated_at,
        data,
    } = record;
    let remote = data.remote;
    Ok(View::Employer(EmployerView {
        id,
        created_at,
        updated_at,
        employer_id: data.employer_id,
        candidate,
        profile: remote.as_ref().map(|r| r.profile.clone()),
        home_community: remote.as_ref().map(|r| r.community.clone()),
        refusal: remote.as_ref().and_then(|r| r.refusal.clone()),
        placed: remote.as_ref().and_then(|r| r.placed.clone()),
        expires_at: remote.as_ref().and_then(|r| r.expires_at),
        delivered_at: remote.as_ref().and_then(|r| r.delivered_at),
        opening_id: data.opening_id,
        message: data.message,
        requested_at: data.requested_at,
        requested_by: data.requested_by,
        status: data.status,
        outcome_note: if accepted { data.outcome_note } else { None },
        decided_at: data.decided_at,
        contact,
    }))
}

/// Which request field named the candidate, so that errors blame the one the caller sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NamedBy {
    Pseudonym,
    Id,
}

impl NamedBy {
    fn field(self) -> &'static str {
        match self {
            NamedBy::Pseudonym => "candidate",
            NamedBy::Id => "candidate_id",
        }
    }
}

/// Who a request is made for and by whom: an employer asks for itself, an operator names
/// the employer; nobody else asks.
fn requester(caller: &Caller, input: &IntroductionRequest) -> ApiResult<(u64, RequestedBy)> {
    match caller.role {
        Role::Employer => {
            if input.employer_id.is_some() {
                return Err(ApiError::forbidden(
                    Some("employer_id".into()),
                    "an employer requests introductions for itself only: leave employer_id out",
                ));
            }
            let own = caller.employer_id.ok_or_else(|| {
                ApiError::forbidden(None, "this employer token belongs to no employer")
            })?;
            Ok((own, RequestedBy::Employer))
        }
        Role::Operator => {
            let employer_id = input.employer_id.ok_or_else(|| {
                ApiError::bad_body(
                    Some("employer_id".into()),
                    "missing field `employer_id`: name the employer the request is made for",
                )
            })?;
            Ok((employer_id, RequestedBy::Operator))
        }
        Role::Reviewer | Role::National => Err(ApiError::forbidden(
            None,
            "only operators and employers request introductions",
        )),
    }
}

/// The request with its employer and candidate as local ids. Employers act for the
/// employer their token belongs to and name candidates by pseudonym only; operators say
/// which employer they record the request for.
fn resolve(
    pseudonyms: &Pseudonyms,
    caller: &Caller,
    input: IntroductionRequest,
) -> ApiResult<(NewIntroduction, NamedBy)> {
    if caller.role == Role::Employer && input.candidate_id.is_some() {
        return Err(ApiError::forbidden(
            Some("candidate_id".into()),
            "employers name a candidate by the pseudonym their search results showed, in `candidate`",
        ));
    }
    let (employer_id, requested_by) = requester(caller, &input)?;
    input.validate()?;
    let (candidate_id, named_by) = match (&input.candidate, input.candidate_id) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "candidate",
                "give either candidate (a pseudonym) or candidate_id, not both",
            ))
        }
        (None, None) => {
            let field = match requested_by {
                RequestedBy::Employer | RequestedBy::OtherNode => "candidate",
                RequestedBy::Operator => "candidate_id",
            };
            return Err(ApiError::bad_body(
                Some(field.into()),
                format!("missing field `{field}`"),
            ));
        }
        // The pseudonym is read for the request's employer: one made for another employer
        // decodes to an unrelated number, which names no candidate.
        (Some(p), None) => match pseudonyms.decode(Audience::Employer(employer_id), p) {
            Some(id) => (id, NamedBy::Pseudonym),
            None => {
                return Err(ApiError::invalid(
                    "candidate",
                    "is not a candidate pseudonym (c- followed by 16 hex digits, as search results show them)",
                ))
            }
        },
        (None, Some(id)) => (id, NamedBy::Id),
    };
    let new = NewIntroduction {
        employer_id,
        candidate_id,
        opening_id: input.opening_id,
        message: input.message,
        requested_by,
    };
    Ok((new, named_by))
}

fn stage_words(stage: Stage) -> &'static str {
    match stage {
        Stage::Withdrawn => "withdrawn from the program",
        Stage::NotHired => "marked not hired",
        Stage::Placed => "already placed",
        Stage::Applied | Stage::Assessed | Stage::Vetted | Stage::Matched | Stage::Introduced => {
            "in a stage that allows introductions"
        }
    }
}

/// The answer to a refused request. `named_by` is how the request named the candidate, or
/// `None` for routes on an existing introduction.
fn refusal(e: IntroductionError, named_by: Option<NamedBy>) -> ApiError {
    match e {
        IntroductionError::UnknownCandidate => match named_by {
            Some(NamedBy::Pseudonym) => ApiError::invalid(
                "candidate",
                "no candidate has this pseudonym for this employer",
            ),
            Some(NamedBy::Id) => ApiError::invalid("candidate_id", "no candidate with this id"),
            None => ApiError::conflict(None, "the candidate no longer exists"),
        },
        IntroductionError::CandidateUnavailable(stage) => {
            let (field, what) = match named_by {
                Some(n) => (Some(n.field().to_string()), "cannot be introduced"),
                None => (
                    None,
                    "cannot be introduced any more; record the outcome as declined",
                ),
            };
            ApiError::conflict(
                field,
                format!("the candidate is {} and {what}", stage_words(stage)),
            )
        }
        IntroductionError::AlreadyRequested(id) => ApiError::conflict(
            None,
            format!(
                "introduction {id} already asks for this candidate for the same employer and opening; wait for its outcome or withdraw it"
            ),
        ),
        IntroductionError::NotOpen(status) => ApiError::conflict(
            None,
            format!(
                "the introduction is already {}; only a requested one can get an outcome or be withdrawn",
                match status {
                    IntroductionStatus::Requested => "requested",
                    IntroductionStatus::Accepted => "accepted",
                    IntroductionStatus::Declined => "declined",
                    IntroductionStatus::Withdrawn => "withdrawn",
                    IntroductionStatus::Refused => "refused by the candidate's home node",
                    IntroductionStatus::Expired => "expired (or withdrawn or timed out at the node that asked, which no longer waits for an answer)",
                }
            ),
        ),
        IntroductionError::DecidedElsewhere => ApiError::conflict(
            None,
            "this introduction asks for another node's candidate: that node's operator records the outcome, which arrives here by itself",
        ),
        IntroductionError::NothingToShare => ApiError::invalid(
            "share",
            "the candidate's personal record holds none of the chosen contact details: choose at least one it has (name, email, phone)",
        ),
        IntroductionError::Invalid(f) => f.into(),
        IntroductionError::Store(s) => s.into(),
    }
}

async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let (paging, rest) = split_paging(&query)?;
    let filter: IntroductionFilter = parse_query(&rest)?;
    // A filter on the local id would let an employer line its pseudonyms up with local ids.
    if caller.role != Role::Operator && filter.candidate_id.is_some() {
        return Err(ApiError::forbidden(
            Some("candidate_id".into()),
            "employers filter by the pseudonym they were shown, in `candidate`",
        ));
    }
    let (items, next_after) = super::blocking(move || {
        let page = state.store.list::<Record<Introduction>>(
            Table::Introduction,
            paging.after,
            paging.limit,
            |r| {
                let i = &r.data;
                visible(&caller, i)
                    && i.matches(&filter)
                    && filter.candidate.as_deref().is_none_or(|p| {
                        i.employer_id.is_some_and(|e| {
                            state.pseudonyms.decode(Audience::Employer(e), p) == i.candidate_id
                        })
                    })
            },
        )?;
        let items = page
            .items
            .into_iter()
            .map(|r| view(&state.store, &state.pseudonyms, &caller, r))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((items, page.next_after))
    })
    .await?;
    Ok(page_json(items, next_after))
}

async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(input): ApiJson<IntroductionRequest>,
) -> ApiResult<Response> {
    if input.profile.is_some() {
        return create_remote(state, caller, input).await;
    }
    if input.home_node.is_some() {
        return Err(ApiError::invalid(
            "home_node",
            "names the home node of a shared profile: give it with profile, or leave it out",
        ));
    }
    let (new, named_by) = resolve(&state.pseudonyms, &caller, input)?;
    let now = Utc::now();
    let record = state
        .store
        .commit(|tx| {
            model::stage_introduction(tx, new, now).map_err(|e| refusal(e, Some(named_by)))
        })
        .await?;
    let view = view(&state.store, &state.pseudonyms, &caller, record)?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

async fn read_one(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<u64>,
) -> ApiResult<Json<View>> {
    match state
        .store
        .get::<Record<Introduction>>(Table::Introduction, id)?
    {
        Some(r) if visible(&caller, &r.data) => {
            Ok(Json(view(&state.store, &state.pseudonyms, &caller, r)?))
        }
        // Another employer's introduction is answered as if it did not exist.
        _ => Err(ApiError::not_found("introduction", id)),
    }
}

async fn record_outcome(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<u64>,
    ApiJson(input): ApiJson<OutcomeInput>,
) -> ApiResult<Json<View>> {
    input.validate()?;
    let now = Utc::now();
    let record = state
        .store
        .commit(|tx| {
            let Some(mut r) = tx.get::<Record<Introduction>>(Table::Introduction, id)? else {
                return Err(ApiError::not_found("introduction", id));
            };
            model::stage_outcome(tx, &mut r, input, now).map_err(|e| refusal(e, None))?;
            Ok(r)
        })
        .await?;
    // Acceptance moves the candidate to `introduced`.
    super::reindex(&state, record.data.candidate_id);
    if model::is_incoming(&record.data) {
        // The answer was queued with the outcome: send it now rather than at the next tick.
        if let Some(f) = &state.federation {
            f.direct().deliver_now();
        }
    }
    Ok(Json(view(
        &state.store,
        &state.pseudonyms,
        &caller,
        record,
    )?))
}

/// A request for another node's shared profile: checked against what this node holds of
/// the profile, stored, and queued for the home node in one write.
async fn create_remote(
    state: AppState,
    caller: Caller,
    input: IntroductionRequest,
) -> ApiResult<Response> {
    let text = input.profile.clone().unwrap_or_default();
    if input.candidate.is_some() || input.candidate_id.is_some() {
        return Err(ApiError::invalid(
            "profile",
            "give either profile (another node's shared profile) or a candidate, not both",
        ));
    }
    let (employer_id, requested_by) = requester(&caller, &input)?;
    input.validate()?;
    let profile: ProfileId = text.parse().map_err(|_| {
        ApiError::invalid(
            "profile",
            "is not a shared profile id (32 lowercase hex digits, as search results show them)",
        )
    })?;
    let Some(federation) = state.federation.clone() else {
        return Err(ApiError::conflict(
            Some("profile".into()),
            "this node has not joined a federation, so it cannot reach another node's candidate",
        ));
    };
    let own_community = federation.direct().community().ok_or_else(|| {
        ApiError::conflict(
            None,
            "this node holds no valid membership certificate of its own, so other nodes would refuse its request",
        )
    })?;
    let home_node: Option<PublicKey> = match input.home_node.as_deref() {
        Some(text) => Some(text.parse().map_err(|_| {
            ApiError::invalid(
                "home_node",
                "is not a node key (64 lowercase hex digits, as search results show home_node)",
            )
        })?),
        None => None,
    };
    let own = federation.key();
    let store = state.store.clone();
    let found = super::blocking(move || {
        Ok(crate::federation::direct::find_profile_at(
            &store,
            &own,
            home_node.as_ref(),
            &profile,
            crate::federation::now_ms(),
        )?)
    })
    .await?;
    let (home, home_community) = match found {
        RemoteProfile::Live { origin, profile } => (origin, profile.home_community),
        RemoteProfile::Withdrawn { tombstone, .. } => {
            let why = match tombstone.reason {
                TombstoneReason::Withdrawn => "the candidate withdrew their consent to share it",
                TombstoneReason::Deleted => "the candidate was deleted at their home node",
                TombstoneReason::Expired => "their consent expired",
            };
            return Err(ApiError::conflict(
                Some("profile".into()),
                format!("profile_withdrawn: this profile was withdrawn ({why}); it can no longer be introduced"),
            ));
        }
        RemoteProfile::Expired { .. } => {
            return Err(ApiError::conflict(
                Some("profile".into()),
                "profile_expired: the candidate's consent to share this profile has expired",
            ))
        }
        RemoteProfile::Unknown => {
            return Err(ApiError::conflict(
                Some("profile".into()),
                "unknown_profile: this node holds no shared profile with this id (from that home_node)",
            ))
        }
        RemoteProfile::Ambiguous { origins } => {
            return Err(ApiError::conflict(
                Some("home_node".into()),
                format!("ambiguous_profile: {origins} nodes hold a shared profile with this id; name its home node in home_node (as search results show it)"),
            ))
        }
    };
    let now = Utc::now();
    let timeout = chrono::Duration::from_std(federation.direct().timeout)
        .unwrap_or_else(|_| chrono::Duration::days(30));
    let new = NewOutgoing {
        employer_id,
        opening_id: input.opening_id,
        message: input.message,
        requested_by,
        profile,
        home,
        home_community,
        own_community,
        expires_at: now + timeout,
    };
    let record = state
        .store
        .commit(|tx| model::stage_outgoing(tx, new, now).map_err(|e| refusal(e, None)))
        .await?;
    federation.direct().deliver_now();
    let view = view(&state.store, &state.pseudonyms, &caller, record)?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

async fn withdraw(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<u64>,
) -> ApiResult<Json<View>> {
    let now = Utc::now();
    let record = state
        .store
        .commit(|tx| {
            let mut r = match tx.get::<Record<Introduction>>(Table::Introduction, id)? {
                Some(r) if visible(&caller, &r.data) => r,
                _ => return Err(ApiError::not_found("introduction", id)),
            };
            model::stage_withdrawal(tx, &mut r, now).map_err(|e| refusal(e, None))?;
            Ok(r)
        })
        .await?;
    if record.data.remote.is_some() {
        // The other node is told at once (the message was queued with the change).
        if let Some(f) = &state.federation {
            f.direct().deliver_now();
        }
    }
    Ok(Json(view(
        &state.store,
        &state.pseudonyms,
        &caller,
        record,
    )?))
}
