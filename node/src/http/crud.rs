//! Generic create/read/update/list/delete routes for every [`Resource`].
//!
//! References are checked inside the write (under the store's write lock), so a record can
//! never point at one deleted a moment earlier; deleting a record that others point at is
//! refused with 409 and the names of what points at it.

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Extension, Json};
use chrono::Utc;

use super::error::{ApiError, ApiResult};
use super::extract::{parse_query, split_paging, ApiJson, ApiPath, RawQuery};
use super::{page_json, Access, AppState, Route};
use crate::auth::{Caller, Role};
use crate::model::{self, Record, Resource};
use crate::store::Table;

pub(super) fn routes<R: Resource>(read: Access, write: Access, tag: &'static str) -> Vec<Route> {
    let base = format!("/api/v1/{}", R::COLLECTION);
    let item = format!("{base}/{{id}}");
    let n = R::NAME;
    vec![
        Route::new(
            Method::GET,
            &base,
            read,
            tag,
            format!("List {n}s (paged, filtered)"),
            get(list::<R>),
        )
        .query::<R::Filter>(),
        Route::new(
            Method::POST,
            &base,
            write,
            tag,
            format!("Create a {n}"),
            post(create::<R>),
        )
        .body::<R>(),
        Route::new(
            Method::GET,
            &item,
            read,
            tag,
            format!("Read a {n}"),
            get(read_one::<R>),
        ),
        Route::new(
            Method::PUT,
            &item,
            write,
            tag,
            format!("Replace a {n}"),
            put(update::<R>),
        )
        .body::<R>(),
        Route::new(
            Method::DELETE,
            &item,
            write,
            tag,
            format!("Delete a {n}"),
            delete(remove::<R>),
        )
        .conflict("other records still refer to this one; the reason names them"),
    ]
}

/// Whether `caller` may see or change `record`: employers only their own.
fn owns<R: Resource>(caller: &Caller, record: &R) -> bool {
    match caller.role {
        Role::Employer => {
            record.owner_employer().is_some() && record.owner_employer() == caller.employer_id
        }
        Role::Operator | Role::Reviewer => true,
        Role::National => false,
    }
}

async fn list<R: Resource>(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let (paging, rest) = split_paging(&query)?;
    let mut filter: R::Filter = parse_query(&rest)?;
    R::resolve_filter(&mut filter, &state.taxonomy);
    let page = super::blocking(move || {
        state
            .store
            .list::<Record<R>>(R::TABLE, paging.after, paging.limit, |r| {
                owns(&caller, &r.data) && r.data.matches(&filter)
            })
            .map_err(ApiError::from)
    })
    .await?;
    Ok(page_json(page.items, page.next_after))
}

async fn read_one<R: Resource>(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<u64>,
) -> ApiResult<Json<Record<R>>> {
    match state.store.get::<Record<R>>(R::TABLE, id)? {
        Some(r) if owns(&caller, &r.data) => Ok(Json(r)),
        _ => Err(ApiError::not_found(R::NAME, id)),
    }
}

fn check_owner<R: Resource>(caller: &Caller, data: &R) -> ApiResult<()> {
    if owns(caller, data) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            Some("employer_id".into()),
            "an employer may only manage its own records",
        ))
    }
}

async fn create<R: Resource>(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(mut data): ApiJson<R>,
) -> ApiResult<Response> {
    data.normalise(&state.taxonomy)?;
    data.validate()?;
    check_owner(&caller, &data)?;
    let now = Utc::now();
    let record = state
        .store
        .commit(|tx| model::stage_create(tx, data, now))
        .await
        .map_err(ApiError::from)?;
    super::reindex(&state, record.data.candidate_id());
    Ok((StatusCode::CREATED, Json(record)).into_response())
}

async fn update<R: Resource>(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<u64>,
    ApiJson(mut data): ApiJson<R>,
) -> ApiResult<Json<Record<R>>> {
    data.normalise(&state.taxonomy)?;
    data.validate()?;
    check_owner(&caller, &data)?;
    let now = Utc::now();
    let record = state
        .store
        .commit(|tx| {
            let old = match tx.get::<Record<R>>(R::TABLE, id)? {
                Some(old) if owns(&caller, &old.data) => old,
                _ => return Err(ApiError::not_found(R::NAME, id)),
            };
            let refs = model::check_references(tx, &data.references())?;
            data.check_with(tx)?;
            tx.set_refs(R::TABLE, id, &refs)?;
            let record = Record {
                id,
                created_at: old.created_at,
                updated_at: now,
                data,
            };
            tx.put(R::TABLE, id, &record)?;
            Ok::<_, ApiError>((old.data.candidate_id(), record))
        })
        .await?;
    let (before, record) = record;
    super::reindex(&state, before.into_iter().chain(record.data.candidate_id()));
    Ok(Json(record))
}

async fn remove<R: Resource>(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<u64>,
) -> ApiResult<StatusCode> {
    let now = Utc::now();
    let candidate = state
        .store
        .commit(|tx| {
            let candidate = match tx.get::<Record<R>>(R::TABLE, id)? {
                Some(old) if owns(&caller, &old.data) => old.data.candidate_id(),
                _ => return Err(ApiError::not_found(R::NAME, id)),
            };
            let mut referrers = Vec::new();
            for (table, rid) in tx.referrers(R::TABLE, id)? {
                // An expired session no longer holds its employer or account in place.
                if table == Table::Token && crate::auth::token_expired(tx, rid, now)? {
                    tx.set_refs(table, rid, &[])?;
                    continue;
                }
                referrers.push((table, rid));
            }
            if !referrers.is_empty() {
                return Err(referenced(R::NAME, &referrers));
            }
            tx.remove(R::TABLE, id)?;
            Ok::<_, ApiError>(candidate)
        })
        .await?;
    super::reindex(&state, candidate);
    Ok(StatusCode::NO_CONTENT)
}

/// 409 naming what still points at a record.
pub(super) fn referenced(name: &str, referrers: &[(Table, u64)]) -> ApiError {
    let list: Vec<String> = referrers
        .iter()
        .take(10)
        .map(|(t, id)| format!("{} {id}", t.label()))
        .collect();
    let more = if referrers.len() > 10 {
        format!(" and {} more", referrers.len() - 10)
    } else {
        String::new()
    };
    ApiError::conflict(
        None,
        format!(
            "this {name} is still referenced by {}{more}; delete or change those first",
            list.join(", ")
        ),
    )
}
