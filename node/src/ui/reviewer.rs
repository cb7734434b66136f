//! The reviewer's pages: the vetting queue (candidates with no vetting interview yet) and
//! the soft-skill rubric form. Reviewers see profiles only: the API serves them no name,
//! contact or operator's note, and these pages show none to operators either, so that a
//! rubric is filled in on skills and the interview alone.

use std::collections::BTreeSet;

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value};

use super::form::{Field, FormData, FormState};
use super::operator::{ok, CandidateItem, ListPage};
use super::session::{redirect, Session};
use super::{render, Chrome, UiError, UiState};
use crate::auth::Role;
use crate::model::Stage;

const VETTERS: &[Role] = &[Role::Operator, Role::Reviewer];

/// The most candidates and vetting records one queue page reads.
const QUEUE_SCAN: usize = 500;

#[derive(Template)]
#[template(path = "vetting_queue.html")]
struct QueuePage {
    chrome: Chrome,
    waiting: Vec<CandidateItem>,
    done: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct QueueQuery {
    done: Option<u64>,
}

#[derive(Deserialize)]
struct VettingItem {
    candidate_id: u64,
}

/// Every candidate with a vetting interview on record.
pub(crate) async fn vetted_candidates(
    state: &UiState,
    token: &str,
) -> Result<BTreeSet<u64>, UiError> {
    let mut vetted = BTreeSet::new();
    let mut after: Option<u64> = None;
    loop {
        let uri = match after {
            Some(a) => format!("/api/v1/vetting?limit={QUEUE_SCAN}&after={a}"),
            None => format!("/api/v1/vetting?limit={QUEUE_SCAN}"),
        };
        let page: ListPage<VettingItem> = ok(state.api.get(token, &uri).await?)?;
        vetted.extend(page.items.iter().map(|v| v.candidate_id));
        match page.next_after {
            Some(a) => after = Some(a),
            None => return Ok(vetted),
        }
    }
}

/// Whether `c` waits for a vetting interview: early in the pipeline with none on record.
/// (Recording one moves the candidate to `vetted`; the record is checked too, for
/// candidates vetted before that rule.)
pub(crate) fn waits_for_vetting(c: &CandidateItem, vetted: &BTreeSet<u64>) -> bool {
    matches!(c.stage, Stage::Applied | Stage::Assessed) && !vetted.contains(&c.id)
}

pub(crate) async fn queue(
    State(state): State<UiState>,
    headers: HeaderMap,
    Query(q): Query<QueueQuery>,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, "/vetting", VETTERS)?;
    let token = session.token();
    let vetted = vetted_candidates(&state, token).await?;
    let mut waiting = Vec::new();
    let mut after: Option<u64> = None;
    // Oldest applications first, up to one screenful of work.
    while waiting.len() < 50 {
        let uri = match after {
            Some(a) => format!("/api/v1/candidates?limit={QUEUE_SCAN}&after={a}"),
            None => format!("/api/v1/candidates?limit={QUEUE_SCAN}"),
        };
        let page: ListPage<CandidateItem> = ok(state.api.get(token, &uri).await?)?;
        waiting.extend(
            page.items
                .into_iter()
                .filter(|c| waits_for_vetting(c, &vetted)),
        );
        match page.next_after {
            Some(a) => after = Some(a),
            None => break,
        }
    }
    waiting.truncate(50);
    // The queue is blind for every role (module docs).
    for c in &mut waiting {
        c.personal = None;
    }
    Ok(render(&QueuePage {
        chrome: Chrome::signed_in(&state, &session, "Vetting queue", "/vetting"),
        waiting,
        done: q.done,
    }))
}

const RUBRIC: [(&str, &str, &str); 5] = [
    (
        "communication",
        "Communication",
        "Explains their work clearly; listens and asks good questions.",
    ),
    (
        "teamwork",
        "Teamwork",
        "Works well with others; gives and takes feedback.",
    ),
    (
        "problem_solving",
        "Problem solving",
        "Breaks problems down; reasons through the unfamiliar.",
    ),
    (
        "reliability",
        "Reliability",
        "Follows through; is where they said they would be.",
    ),
    (
        "learning_agility",
        "Learning agility",
        "Picks up new tools and ideas quickly.",
    ),
];

const RECOMMENDATIONS: [(&str, &str); 4] = [
    ("strongly_recommend", "Strongly recommend"),
    ("recommend", "Recommend"),
    ("maybe", "Maybe"),
    ("not_yet", "Not yet"),
];

pub(crate) struct RubricRow {
    pub(crate) label: &'static str,
    pub(crate) hint: &'static str,
    pub(crate) field: Field,
}

#[derive(Template)]
#[template(path = "rubric.html")]
struct RubricPage {
    chrome: Chrome,
    candidate: CandidateItem,
    form: FormState,
    rubric: Vec<RubricRow>,
    scores: [&'static str; 5],
    recommendations: &'static [(&'static str, &'static str)],
}

async fn rubric_page(
    state: &UiState,
    session: &Session,
    id: u64,
    form: FormState,
    status: StatusCode,
) -> Result<Response, UiError> {
    let mut candidate: CandidateItem = ok(state
        .api
        .get(session.token(), &format!("/api/v1/candidates/{id}"))
        .await?)?;
    candidate.personal = None;
    let rubric = RUBRIC
        .iter()
        .map(|(name, label, hint)| RubricRow {
            label,
            hint,
            field: form.field(&format!("rubric.{name}")),
        })
        .collect();
    let mut res = render(&RubricPage {
        chrome: Chrome::signed_in(
            state,
            session,
            &format!("Vetting: candidate {id}"),
            "/vetting",
        ),
        candidate,
        form,
        rubric,
        scores: ["1", "2", "3", "4", "5"],
        recommendations: &RECOMMENDATIONS,
    });
    *res.status_mut() = status;
    Ok(res)
}

pub(crate) async fn rubric_form(
    State(state): State<UiState>,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, &format!("/vetting/{id}"), VETTERS)?;
    let today = chrono::Utc::now().date_naive().to_string();
    let form = FormState::with(&[("reviewer", &session.username), ("interviewed_on", &today)]);
    rubric_page(&state, &session, id, form, StatusCode::OK).await
}

pub(crate) async fn vet(
    State(state): State<UiState>,
    headers: HeaderMap,
    Path(id): Path<u64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, &format!("/vetting/{id}"), VETTERS)?;
    let form = FormData::new(pairs);
    session.check_csrf(&form)?;
    let mut rubric = serde_json::Map::new();
    let mut refusal = None;
    for (name, _, _) in RUBRIC {
        let field = format!("rubric.{name}");
        match form.number(&field) {
            Ok(Some(v)) => {
                rubric.insert(name.to_owned(), json!(v));
            }
            Ok(None) => {
                refusal.get_or_insert(super::api::Refusal {
                    field: Some(field),
                    reason: "choose a score from 1 to 5".into(),
                });
            }
            Err(r) => {
                refusal.get_or_insert(r);
            }
        }
    }
    let answer = match refusal {
        Some(r) => Err(r),
        None => {
            let body = json!({
                "candidate_id": id,
                "reviewer": form.get("reviewer"),
                "interviewed_on": form.get("interviewed_on"),
                "rubric": Value::Object(rubric),
                "recommendation": form.get("recommendation"),
                "notes": form.opt("notes"),
            });
            state
                .api
                .send::<Value>(
                    Method::POST,
                    Some(session.token()),
                    "/api/v1/vetting",
                    &body,
                )
                .await?
                .map(|_| ())
        }
    };
    match answer {
        Ok(()) => Ok(redirect(&format!("/vetting?done={id}"))),
        Err(r) => {
            rubric_page(
                &state,
                &session,
                id,
                form.into_state().refused(r),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}
