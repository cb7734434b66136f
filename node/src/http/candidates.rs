//! Candidate routes. Personal data is a separate record: reviewers are served the profile
//! alone, and only operators read or write the personal part.

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::error::{ApiError, ApiResult};
use super::extract::{parse_query, split_paging, ApiJson, ApiPath, RawQuery};
use super::{page_json, AppState, Route, OPERATOR, OPERATOR_REVIEWER};
use crate::auth::{Caller, Role};
use crate::model::{
    self, Application, Candidate, CandidateFilter, CandidateInput, Consent, ConsentInput, Personal,
    Profile, Record, StageChange, StageInput,
};
use crate::store::{Store, Table, WriteTx};

pub(super) fn routes() -> Vec<Route> {
    let t = "candidates";
    vec![
        Route::new(
            Method::GET,
            "/api/v1/candidates",
            OPERATOR_REVIEWER,
            t,
            "List candidates (reviewers see no personal data)",
            get(list),
        )
        .query::<CandidateFilter>(),
        Route::new(
            Method::POST,
            "/api/v1/candidates",
            OPERATOR,
            t,
            "Create a candidate",
            post(create),
        )
        .body::<CandidateInput>(),
        Route::new(
            Method::GET,
            "/api/v1/candidates/{id}",
            OPERATOR_REVIEWER,
            t,
            "Read a candidate (reviewers see no personal data)",
            get(read_one),
        ),
        Route::new(
            Method::PUT,
            "/api/v1/candidates/{id}",
            OPERATOR,
            t,
            "Replace a candidate's personal data and profile",
            put(update),
        )
        .body::<CandidateInput>(),
        Route::new(
            Method::DELETE,
            "/api/v1/candidates/{id}",
            OPERATOR,
            t,
            "Delete a candidate with their assessments, vetting, placements and introductions",
            delete(remove),
        ),
        Route::new(
            Method::POST,
            "/api/v1/candidates/{id}/stage",
            OPERATOR,
            t,
            "Move a candidate to a pipeline stage",
            post(set_stage),
        )
        .body::<StageInput>()
        .conflict("the candidate is already in that stage"),
        Route::new(
            Method::PUT,
            "/api/v1/candidates/{id}/consent",
            OPERATOR,
            t,
            "Record consent to share the profile across regions",
            put(give_consent),
        )
        .body::<ConsentInput>(),
        Route::new(
            Method::DELETE,
            "/api/v1/candidates/{id}/consent",
            OPERATOR,
            t,
            "Withdraw consent to share",
            delete(withdraw_consent),
        )
        .success(StatusCode::OK)
        .conflict("the candidate has no consent in force to withdraw"),
        Route::new(
            Method::GET,
            "/api/v1/candidates/{id}/export",
            OPERATOR,
            t,
            "Everything the node holds on a candidate, with the profile as a JSON Resume",
            get(export),
        ),
    ]
}

/// A candidate as the API shows it; `personal` only for operators.
#[derive(Debug, Serialize)]
struct CandidateView {
    #[serde(flatten)]
    record: Record<Candidate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    personal: Option<Personal>,
}

fn view(
    store: &Store,
    caller: &Caller,
    mut record: Record<Candidate>,
) -> Result<CandidateView, ApiError> {
    let personal = match caller.role {
        Role::Operator => store.get::<Personal>(Table::CandidatePersonal, record.id)?,
        Role::Reviewer | Role::Employer | Role::National => {
            // Operators' notes on stage changes are free text and may name or describe the
            // person ("called Jane at …"): they stay with the personal data.
            for change in &mut record.data.stage_history {
                change.note = None;
            }
            None
        }
    };
    Ok(CandidateView { record, personal })
}

async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let (paging, rest) = split_paging(&query)?;
    let mut filter: CandidateFilter = parse_query(&rest)?;
    filter.resolve(&state.taxonomy);
    let (items, next_after) = super::blocking(move || {
        let page = state.store.list::<Record<Candidate>>(
            Table::Candidate,
            paging.after,
            paging.limit,
            |c| c.data.matches(&filter),
        )?;
        let items = page
            .items
            .into_iter()
            .map(|r| view(&state.store, &caller, r))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((items, page.next_after))
    })
    .await?;
    Ok(page_json(items, next_after))
}

async fn read_one(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<u64>,
) -> ApiResult<Json<CandidateView>> {
    let record = state
        .store
        .get::<Record<Candidate>>(Table::Candidate, id)?
        .ok_or_else(|| ApiError::not_found("candidate", id))?;
    Ok(Json(view(&state.store, &caller, record)?))
}

/// Checks a candidate's input, after settling its skills against the node's taxonomy.
fn validate_input(state: &AppState, personal: &Personal, profile: &mut Profile) -> ApiResult<()> {
    personal.validate()?;
    profile.normalise(&state.taxonomy)?;
    profile.validate()?;
    Ok(())
}

async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(mut input): ApiJson<CandidateInput>,
) -> ApiResult<Response> {
    validate_input(&state, &input.personal, &mut input.profile)?;
    let now = Utc::now();
    let CandidateInput { personal, profile } = input;
    let record = state
        .store
        .commit(|tx| model::stage_candidate(tx, &personal, profile, None, now))
        .await
        .map_err(ApiError::from)?;
    super::reindex(&state, [record.id]);
    let view = view(&state.store, &caller, record)?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// The public application form: creates a candidate in the `applied` stage.
pub(super) async fn apply(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    ApiJson(mut input): ApiJson<Application>,
) -> ApiResult<Response> {
    validate_input(&state, &input.personal, &mut input.profile)?;
    if let Some(c) = &input.consent {
        c.validate("consent.")?;
    }
    // Counted after validation: a person correcting a refused form is not held back.
    state
        .limits
        .apply(super::limits::client_address(&extensions))?;
    let now = Utc::now();
    let Application {
        personal,
        profile,
        consent,
    } = input;
    let consent = consent.map(|c| Consent {
        policy_version: c.policy_version,
        scope: c.scope,
        given_at: now,
        withdrawn_at: None,
    });
    let record = state
        .store
        .commit(|tx| model::stage_candidate(tx, &personal, profile, consent, now))
        .await
        .map_err(ApiError::from)?;
    super::refresh_index(&state, record.id);
    super::share(&state, record.id).await;
    // The applicant learns only their reference number, nothing the node holds.
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "id": record.id, "stage": record.data.stage })),
    )
        .into_response())
}

/// Reads a candidate inside a write, or answers 404.
fn load(tx: &WriteTx<'_>, id: u64) -> ApiResult<Record<Candidate>> {
    tx.get::<Record<Candidate>>(Table::Candidate, id)?
        .ok_or_else(|| ApiError::not_found("candidate", id))
}

/// Runs `change` on a stored candidate in one durable write and returns the result. An
/// error from `change` abandons the whole write. The shared profile follows before the
/// answer, so that an acknowledged withdrawal has its tombstone out.
async fn modify(
    state: &AppState,
    id: u64,
    change: impl FnOnce(&mut WriteTx<'_>, &mut Record<Candidate>, DateTime<Utc>) -> ApiResult<()>,
) -> ApiResult<Record<Candidate>> {
    let now = Utc::now();
    let record = state
        .store
        .commit(|tx| {
            let mut c = load(tx, id)?;
            change(tx, &mut c, now)?;
            c.updated_at = now;
            tx.put(Table::Candidate, id, &c)?;
            Ok::<_, ApiError>(c)
        })
        .await?;
    super::refresh_index(state, id);
    super::share(state, id).await;
    Ok(record)
}

async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<u64>,
    ApiJson(mut input): ApiJson<CandidateInput>,
) -> ApiResult<Json<CandidateView>> {
    validate_input(&state, &input.personal, &mut input.profile)?;
    let CandidateInput { personal, profile } = input;
    let record = modify(&state, id, |tx, c, _| {
        let refs = model::check_references(tx, &profile.references())?;
        tx.set_refs(Table::Candidate, id, &refs)?;
        tx.put(Table::CandidatePersonal, id, &personal)?;
        c.data.profile = profile;
        Ok(())
    })
    .await?;
    Ok(Json(view(&state.store, &caller, record)?))
}

async fn set_stage(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<u64>,
    ApiJson(input): ApiJson<StageInput>,
) -> ApiResult<Json<CandidateView>> {
    input.validate()?;
    let record = modify(&state, id, |_, c, now| {
        if c.data.stage == input.stage {
            return Err(ApiError::conflict(
                Some("stage".into()),
                format!("the candidate is already in the {:?} stage", input.stage).to_lowercase(),
            ));
        }
        c.data.stage = input.stage;
        c.data.stage_history.push(StageChange {
            stage: input.stage,
            at: now,
            note: input.note,
        });
        Ok(())
    })
    .await?;
    Ok(Json(view(&state.store, &caller, record)?))
}

async fn give_consent(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<u64>,
    ApiJson(input): ApiJson<ConsentInput>,
) -> ApiResult<Json<CandidateView>> {
    input.validate("")?;
    let record = modify(&state, id, |_, c, now| {
        let consent = Consent {
            policy_version: input.policy_version,
            scope: input.scope,
            given_at: now,
            withdrawn_at: None,
        };
        c.data.consent_history.push(consent.clone());
        c.data.consent = Some(consent);
        Ok(())
    })
    .await?;
    Ok(Json(view(&state.store, &caller, record)?))
}

async fn withdraw_consent(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<u64>,
) -> ApiResult<Json<CandidateView>> {
    let record = modify(&state, id, |_, c, now| match c.data.consent.as_mut() {
        Some(consent) if consent.withdrawn_at.is_none() => {
            consent.withdrawn_at = Some(now);
            if let Some(last) = c.data.consent_history.last_mut() {
                last.withdrawn_at = Some(now);
            }
            Ok(())
        }
        _ => Err(ApiError::conflict(
            None,
            "the candidate has no consent in force to withdraw",
        )),
    })
    .await?;
    Ok(Json(view(&state.store, &caller, record)?))
}

/// Deletes the candidate, their personal data and every record about them, in one write.
/// Every record about a candidate (assessments, vetting, placements, introductions) holds a
/// reference to them, so the reverse references find them all: an erased candidate leaves
/// nothing behind, and a new kind of record is covered once it records its references.
/// Then their shared profile, if any, is withdrawn (a `deleted` tombstone) and the link
/// from its id to them dropped; without a federation that waits for the first sweep after
/// the node joins (the link holds no personal data). The search audit keeps the bare
/// local id of what employers were shown. An answer to another node's introduction request
/// that has not left yet is dropped (it may carry contact details) and the request refused
/// as `profile_withdrawn`.
async fn remove(State(state): State<AppState>, ApiPath(id): ApiPath<u64>) -> ApiResult<StatusCode> {
    state
        .store
        .commit(|tx| {
            load(tx, id)?;
            let now = Utc::now();
            for (table, rid) in tx.referrers(Table::Candidate, id)? {
                if table == Table::Introduction {
                    // An answer still queued for another node may carry their contact
                    // details: it is replaced by one without.
                    if let Some(intro) =
                        tx.get::<crate::model::Record<crate::model::Introduction>>(table, rid)?
                    {
                        crate::model::stage_erasure(tx, &intro, now)?;
                    }
                }
                tx.remove(table, rid)?;
            }
            tx.remove(Table::Candidate, id)?;
            tx.delete(Table::CandidatePersonal, id);
            Ok::<_, ApiError>(())
        })
        .await?;
    super::refresh_index(&state, id);
    super::share(&state, id).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Everything the node holds on the candidate (see `sharing::export`).
async fn export(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<u64>,
) -> ApiResult<Json<crate::sharing::Export>> {
    let own = match &state.federation {
        Some(f) => Some(f.key()),
        None => state.info.node_key.parse().ok(),
    };
    let found = super::blocking(move || {
        Ok(crate::sharing::export(
            &state.store,
            own.as_ref(),
            id,
            Utc::now(),
        )?)
    })
    .await?;
    found
        .map(Json)
        .ok_or_else(|| ApiError::not_found("candidate", id))
}
