//! Blind search for employers (and operators): candidates by skills, ranked and explained,
//! never with a name or contact. The page shows what `GET /api/v1/search/candidates`
//! answers the signed-in person, so the blind view and the audit of who was shown to whom
//! are the API's own.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::api::Refusal;
use super::form::FormState;
use super::operator::{skill_names, view_match, MatchView, RankedPage};
use super::session::Session;
use super::{render, Chrome, UiError, UiState};
use crate::auth::Role;

const SEARCHERS: &[Role] = &[Role::Operator, Role::Employer];

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    chrome: Chrome,
    form: FormState,
    skill_names: Vec<String>,
    searched: bool,
    total: u64,
    results: Vec<MatchView>,
    /// Employers ask for introductions from their results (operators record requests for
    /// an employer through the API, naming which).
    can_request: bool,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SearchQuery {
    skills: Option<String>,
}

pub(crate) async fn search(
    State(state): State<UiState>,
    headers: HeaderMap,
    Query(q): Query<SearchQuery>,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, "/search", SEARCHERS)?;
    let skills = q.skills.as_deref().map(str::trim).unwrap_or("");
    let mut form = FormState::with(&[("skills", skills)]);
    let mut results = Vec::new();
    let mut total = 0;
    let mut status = StatusCode::OK;
    if !skills.is_empty() {
        let query: String = form_urlencoded::byte_serialize(skills.as_bytes()).collect();
        let answer = state
            .api
            .get::<RankedPage>(
                session.token(),
                &format!("/api/v1/search/candidates?limit=20&skills={query}"),
            )
            .await?;
        match answer {
            Ok(page) => {
                total = page.total;
                results = page
                    .items
                    .into_iter()
                    .map(|r| view_match(&state.app.taxonomy, r))
                    .collect();
            }
            Err(r) => {
                // `skills[2]` names an entry of the one input.
                form = form.refused(Refusal {
                    field: Some("skills".into()),
                    reason: r.reason,
                });
                status = StatusCode::UNPROCESSABLE_ENTITY;
            }
        }
    }
    let mut res = render(&SearchPage {
        chrome: Chrome::signed_in(&state, &session, "Find candidates", "/search"),
        form,
        skill_names: skill_names(&state.app.taxonomy),
        searched: !skills.is_empty(),
        total,
        results,
        can_request: session.caller.role == Role::Employer,
    });
    *res.status_mut() = status;
    Ok(res)
}
