//! Introductions in the browser: an employer asks to meet a candidate from its blind
//! results (a local pseudonym, or another community's shared profile) and follows its
//! requests, seeing contact details only once one is accepted; the operator works the queue
//! of requests waiting for the candidate's answer (incoming ones from other communities
//! too), recording accepted (for another community's employer, with the contact details the
//! candidate chose to share) or declined.
//!
//! What each role sees is what the API serves it: the employer's view of an introduction
//! never holds a candidate id, and holds contact details only when accepted, so these pages
//! cannot show more even by mistake.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use super::api::Refusal;
use super::candidates::{date, intro_status};
use super::form::{Field, FormData, FormState};
use super::operator::{employer_name, ok, ListPage};
use super::session::{redirect, Session};
use super::{render, Chrome, UiError, UiState};
use crate::auth::Role;
use crate::model::{Direction, Introduction, IntroductionStatus, Opening, Personal, Record};
use crate::store::Table;

const OPERATOR: &[Role] = &[Role::Operator];
const EITHER: &[Role] = &[Role::Operator, Role::Employer];

/// Pages of 500 introductions read for the operator's "recently decided" list.
const DECIDED_SCAN: usize = 10;

// ------------------------------------------------------------------------------------
// The employer's side
// ------------------------------------------------------------------------------------

/// An introduction as the API shows an employer (no candidate id, ever).
#[derive(Deserialize)]
struct EmployerIntro {
    id: u64,
    #[serde(default)]
    candidate: Option<String>,
    #[serde(default)]
    profile: Option<String>,
    #[serde(default)]
    home_community: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
    #[serde(default)]
    placed: Option<String>,
    #[serde(default)]
    expires_at: Option<DateTime<Utc>>,
    #[serde(default)]
    delivered_at: Option<DateTime<Utc>>,
    #[serde(default)]
    opening_id: Option<u64>,
    message: String,
    requested_at: DateTime<Utc>,
    status: IntroductionStatus,
    #[serde(default)]
    outcome_note: Option<String>,
    #[serde(default)]
    decided_at: Option<DateTime<Utc>>,
    #[serde(default)]
    contact: Option<ContactView>,
}

#[derive(Deserialize)]
pub(crate) struct ContactView {
    pub(crate) name: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) phone: Option<String>,
}

pub(crate) struct MyRequest {
    pub(crate) id: u64,
    pub(crate) who: String,
    pub(crate) community: Option<String>,
    pub(crate) opening: Option<String>,
    pub(crate) message: String,
    pub(crate) requested: String,
    pub(crate) decided: Option<String>,
    pub(crate) status: String,
    pub(crate) tone: &'static str,
    pub(crate) open: bool,
    pub(crate) note: Option<String>,
    pub(crate) contact: Option<ContactView>,
    pub(crate) refusal: Option<String>,
    pub(crate) placed: Option<String>,
}

#[derive(Template)]
#[template(path = "my_introductions.html")]
struct MyRequestsPage {
    chrome: Chrome,
    requests: Vec<MyRequest>,
    notice: Option<&'static str>,
}

/// The employer's own openings, by id, for labels and the request form.
async fn own_openings(
    state: &UiState,
    session: &Session,
) -> Result<BTreeMap<u64, String>, UiError> {
    let page: ListPage<Record<Opening>> = ok(state
        .api
        .get(session.token(), "/api/v1/openings?limit=500")
        .await?)?;
    Ok(page
        .items
        .into_iter()
        .map(|o| (o.id, o.data.title))
        .collect())
}

fn refusal_words(reason: &str) -> String {
    match reason {
        "profile_withdrawn" => "The candidate no longer shares their profile.".to_owned(),
        "unknown_profile" => "Their community does not know this profile.".to_owned(),
        "candidate_unavailable" => "The candidate is no longer looking.".to_owned(),
        other => other.replace('_', " "),
    }
}

async fn my_requests(
    state: &UiState,
    session: &Session,
    notice: Option<&'static str>,
) -> Result<Response, UiError> {
    let openings = own_openings(state, session).await?;
    let page: ListPage<EmployerIntro> = ok(state
        .api
        .get(session.token(), "/api/v1/introductions?limit=500")
        .await?)?;
    let mut requests: Vec<MyRequest> = page
        .items
        .into_iter()
        .map(|i| {
            let (status, tone) = intro_status(i.status);
            let mut status = status.to_owned();
            // A request to another community: say whether it has reached them yet.
            let remote = i.home_community.is_some();
            if remote && i.status == IntroductionStatus::Requested {
                let until = i
                    .expires_at
                    .map(|e| format!(" (until {})", date(e)))
                    .unwrap_or_default();
                status = match i.delivered_at {
                    Some(at) => format!(
                        "Delivered to their community {}; waiting for the candidate{until}",
                        date(at)
                    ),
                    None => format!("Sent; on its way to their community{until}"),
                };
            }
            MyRequest {
                id: i.id,
                who: i
                    .candidate
                    .or(i.profile)
                    .unwrap_or_else(|| "a candidate".to_owned()),
                community: i.home_community,
                opening: i.opening_id.map(|o| {
                    openings
                        .get(&o)
                        .cloned()
                        .unwrap_or_else(|| format!("Opening {o}"))
                }),
                message: i.message,
                requested: date(i.requested_at),
                decided: i.decided_at.map(date),
                status,
                tone,
                open: i.status == IntroductionStatus::Requested,
                note: i.outcome_note,
                contact: i.contact,
                refusal: i.refusal.as_deref().map(refusal_words),
                placed: i.placed,
            }
        })
        .collect();
    requests.reverse();
    Ok(render(&MyRequestsPage {
        chrome: Chrome::signed_in(state, session, "Introductions", "/introductions"),
        requests,
        notice,
    }))
}

#[derive(Template)]
#[template(path = "introduction_form.html")]
struct RequestFormPage {
    chrome: Chrome,
    form: FormState,
    /// `candidate` (a pseudonym) or `profile` (another community's shared profile).
    target: Field,
    remote: bool,
    opening: Field,
    message: Field,
    openings: Vec<(String, String)>,
    /// An operator asking on an employer's behalf: the employer's id and name, and the
    /// candidate's name (a local candidate named by id).
    on_behalf: Option<(u64, String)>,
    candidate_name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RequestQuery {
    candidate: Option<String>,
    /// Operators: a local candidate by id.
    candidate_id: Option<u64>,
    profile: Option<String>,
    opening_id: Option<u64>,
}

async fn request_page(
    state: &UiState,
    session: &Session,
    form: FormState,
    status: StatusCode,
) -> Result<Response, UiError> {
    let mut openings = vec![(String::new(), "No particular opening".to_owned())];
    let operator = session.caller.role == Role::Operator;
    // An operator's request is for one employer: the form offers that employer's openings.
    let on_behalf = match form.value("employer_id").parse::<u64>() {
        Ok(e) if operator => Some((e, super::operator::employer_name(state, e)?)),
        _ => None,
    };
    let listed = match &on_behalf {
        Some((e, _)) => {
            let page: ListPage<Record<Opening>> = ok(state
                .api
                .get(
                    session.token(),
                    &format!("/api/v1/openings?limit=500&employer_id={e}"),
                )
                .await?)?;
            page.items
                .into_iter()
                .map(|o| (o.id, o.data.title))
                .collect()
        }
        None => own_openings(state, session).await?,
    };
    openings.extend(
        listed
            .into_iter()
            .map(|(id, title)| (id.to_string(), title)),
    );
    let remote = !form.value("profile").is_empty();
    let by_id = operator && !remote;
    let candidate_name = match form.value("candidate_id").parse::<u64>() {
        Ok(c) if by_id => Some(
            state
                .app
                .store
                .get::<crate::model::Personal>(crate::store::Table::CandidatePersonal, c)?
                .map_or_else(|| format!("Candidate {c}"), |p| p.name),
        ),
        _ => None,
    };
    let target = if remote {
        "profile"
    } else if by_id {
        "candidate_id"
    } else {
        "candidate"
    };
    let mut res = render(&RequestFormPage {
        chrome: Chrome::signed_in(state, session, "Ask for an introduction", "/introductions"),
        target: form.field(target),
        remote,
        opening: form.field("opening_id"),
        message: form.field("message"),
        openings,
        on_behalf,
        candidate_name,
        form,
    });
    *res.status_mut() = status;
    Ok(res)
}

/// `GET /introductions/new?candidate=c-…` (or `?profile=…`), from a search result; for
/// an operator, `?candidate_id=…&opening_id=…` (or `?profile=…&opening_id=…`) from an
/// opening's matches, on behalf of the opening's employer.
pub(crate) async fn request_form(
    State(state): State<UiState>,
    headers: HeaderMap,
    Query(q): Query<RequestQuery>,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, "/search", EITHER)?;
    let opening = q.opening_id.map(|o| o.to_string()).unwrap_or_default();
    if session.caller.role == Role::Operator {
        // The employer is the opening's: an operator's request comes from its matches.
        let Some(opening_id) = q.opening_id else {
            return Ok(redirect("/openings"));
        };
        let o: Record<Opening> = ok(state
            .api
            .get(session.token(), &format!("/api/v1/openings/{opening_id}"))
            .await?)?;
        let employer = o.data.employer_id.to_string();
        let form = match (q.candidate_id, q.profile.as_deref()) {
            (Some(c), None) => FormState::with(&[
                ("candidate_id", &c.to_string()),
                ("opening_id", &opening),
                ("employer_id", &employer),
            ]),
            (None, Some(p)) => FormState::with(&[
                ("profile", p),
                ("opening_id", &opening),
                ("employer_id", &employer),
            ]),
            _ => return Ok(redirect(&format!("/openings/{opening_id}"))),
        };
        return request_page(&state, &session, form, StatusCode::OK).await;
    }
    let form = match (q.candidate.as_deref(), q.profile.as_deref()) {
        (Some(c), None) => FormState::with(&[("candidate", c), ("opening_id", &opening)]),
        (None, Some(p)) => FormState::with(&[("profile", p), ("opening_id", &opening)]),
        // Nobody to ask for: the form is reached from a result.
        _ => return Ok(redirect("/search")),
    };
    request_page(&state, &session, form, StatusCode::OK).await
}

/// `POST /introductions`: the employer's request.
pub(crate) async fn request(
    State(state): State<UiState>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, "/introductions", EITHER)?;
    let form = FormData::new(pairs);
    session.check_csrf(&form)?;
    let operator = session.caller.role == Role::Operator;
    let numbers = form.number("opening_id").and_then(|opening| {
        if operator {
            Ok((
                opening,
                form.number("employer_id")?,
                form.number("candidate_id")?,
            ))
        } else {
            Ok((opening, None, None))
        }
    });
    let answer = match numbers {
        Ok((opening, employer, candidate_id)) => {
            let mut body = json!({"message": form.get("message"), "opening_id": opening});
            // The API takes the employer and the candidate's id from operators only; an
            // employer's request is for itself and names the pseudonym it was shown.
            if operator {
                body["employer_id"] = json!(employer);
            }
            match (form.opt("profile"), candidate_id) {
                (Some(p), _) => body["profile"] = json!(p),
                (None, Some(c)) => body["candidate_id"] = json!(c),
                (None, None) => body["candidate"] = json!(form.get("candidate")),
            }
            state
                .api
                .send::<Value>(
                    Method::POST,
                    Some(session.token()),
                    "/api/v1/introductions",
                    &body,
                )
                .await?
        }
        Err(r) => Err(r),
    };
    match answer {
        Ok(_) => Ok(redirect("/introductions?done=requested")),
        Err(r) => {
            request_page(
                &state,
                &session,
                form.into_state().refused(r),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

// ------------------------------------------------------------------------------------
// The operator's queue
// ------------------------------------------------------------------------------------

pub(crate) struct QueueRow {
    pub(crate) id: u64,
    pub(crate) employer: String,
    /// The other community, for a request across the federation.
    pub(crate) community: Option<String>,
    pub(crate) candidate_id: Option<u64>,
    pub(crate) candidate: String,
    pub(crate) opening: Option<String>,
    pub(crate) message: String,
    pub(crate) requested: String,
    pub(crate) incoming: bool,
    pub(crate) outgoing: bool,
    pub(crate) status: &'static str,
    pub(crate) tone: &'static str,
    pub(crate) decided: Option<String>,
    pub(crate) note: Field,
    pub(crate) shares: Vec<ShareBox>,
    pub(crate) error: Option<String>,
}

/// One contact detail the candidate may choose to send with an accepted request from
/// another community.
pub(crate) struct ShareBox {
    pub(crate) value: &'static str,
    pub(crate) label: &'static str,
    pub(crate) checked: bool,
}

#[derive(Template)]
#[template(path = "introductions.html")]
struct QueuePage {
    chrome: Chrome,
    waiting: Vec<QueueRow>,
    sent: Vec<QueueRow>,
    decided: Vec<QueueRow>,
    notice: Option<&'static str>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct QueueQuery {
    done: Option<String>,
}

/// A refused outcome: which request, why, and what was typed.
struct Kept {
    id: u64,
    refusal: Refusal,
    form: FormData,
}

fn row(state: &UiState, r: Record<Introduction>, kept: Option<&Kept>) -> Result<QueueRow, UiError> {
    let i = r.data;
    let remote = i.remote.as_ref();
    let employer = match (remote, i.employer_id) {
        (_, Some(e)) => employer_name(state, e)?,
        (Some(r), None) => r
            .employer_name
            .clone()
            .unwrap_or_else(|| "An employer".to_owned()),
        (None, None) => "An employer".to_owned(),
    };
    let candidate = match (i.candidate_id, remote) {
        (Some(c), _) => state
            .app
            .store
            .get::<Personal>(Table::CandidatePersonal, c)?
            .map_or_else(|| format!("Candidate {c}"), |p| p.name),
        (None, Some(r)) => format!("Shared profile {}", r.profile),
        (None, None) => "A candidate".to_owned(),
    };
    let opening = match (i.opening_id, remote) {
        // An incoming request names the other community's opening as it travelled.
        (_, Some(r)) if r.direction == Direction::Incoming => r.opening_title.clone(),
        (Some(o), _) => Some(
            state
                .app
                .store
                .get::<Record<Opening>>(Table::Opening, o)?
                .map_or_else(|| format!("Opening {o}"), |o| o.data.title),
        ),
        (None, _) => None,
    };
    let (status, tone) = intro_status(i.status);
    let mine = kept.filter(|k| k.id == r.id);
    let note_state = match mine {
        Some(k) => FormState::with(&[("note", k.form.get("note"))]),
        None => FormState::default(),
    };
    let mut note = note_state.field("note");
    note.id = format!("note-{}", r.id);
    let incoming = remote.is_some_and(|r| r.direction == Direction::Incoming);
    let shares = [("name", "Name"), ("email", "Email"), ("phone", "Phone")]
        .into_iter()
        .map(|(value, label)| ShareBox {
            value,
            label,
            // All three unless the refused form said otherwise.
            checked: mine.is_none_or(|k| k.form.all("share").any(|v| v == value)),
        })
        .collect();
    Ok(QueueRow {
        id: r.id,
        employer,
        community: remote.map(|r| r.community.clone()),
        candidate_id: i.candidate_id,
        candidate,
        opening,
        message: i.message,
        requested: date(i.requested_at),
        incoming,
        outgoing: remote.is_some_and(|r| r.direction == Direction::Outgoing),
        status,
        tone,
        decided: i.decided_at.map(date),
        note,
        shares,
        error: mine.map(|k| k.refusal.reason.clone()),
    })
}

async fn queue_view(
    state: &UiState,
    session: &Session,
    kept: Option<Kept>,
    notice: Option<&'static str>,
) -> Result<Response, UiError> {
    let token = session.token();
    let requested: ListPage<Record<Introduction>> = ok(state
        .api
        .get(token, "/api/v1/introductions?limit=500&status=requested")
        .await?)?;
    let mut waiting = Vec::new();
    let mut sent = Vec::new();
    for r in requested.items {
        let row = row(state, r, kept.as_ref())?;
        if row.outgoing {
            sent.push(row);
        } else {
            waiting.push(row);
        }
    }
    // The latest decisions, newest first: the list is in id order, so read to its end.
    let mut decided = Vec::new();
    let mut after: Option<u64> = None;
    for _ in 0..DECIDED_SCAN {
        let uri = match after {
            Some(a) => format!("/api/v1/introductions?limit=500&after={a}"),
            None => "/api/v1/introductions?limit=500".to_owned(),
        };
        let page: ListPage<Record<Introduction>> = ok(state.api.get(token, &uri).await?)?;
        decided.extend(
            page.items
                .into_iter()
                .filter(|r| r.data.status != IntroductionStatus::Requested),
        );
        if decided.len() > 20 {
            let cut = decided.len() - 20;
            decided.drain(..cut);
        }
        match page.next_after {
            Some(a) => after = Some(a),
            None => break,
        }
    }
    decided.sort_by_key(|r| std::cmp::Reverse(r.data.decided_at));
    let decided = decided
        .into_iter()
        .map(|r| row(state, r, None))
        .collect::<Result<Vec<_>, _>>()?;
    let status = if kept.is_some() {
        StatusCode::CONFLICT
    } else {
        StatusCode::OK
    };
    let mut res = render(&QueuePage {
        chrome: Chrome::signed_in(state, session, "Introductions", "/introductions"),
        waiting,
        sent,
        decided,
        notice,
    });
    *res.status_mut() = status;
    Ok(res)
}

/// `GET /introductions`: the operator's queue, or the employer's own requests.
pub(crate) async fn list(
    State(state): State<UiState>,
    headers: HeaderMap,
    Query(q): Query<QueueQuery>,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, "/introductions", EITHER)?;
    let notice = match q.done.as_deref() {
        Some("requested") => Some(
            "Your request is sent. The community team will ask the candidate and you will see \
             the answer here.",
        ),
        Some("accepted") => Some("Accepted. The employer now sees the contact details."),
        Some("declined") => Some("Declined. The employer is told, without any details."),
        Some("withdrawn") => Some("The request is withdrawn."),
        _ => None,
    };
    if session.caller.role == Role::Employer {
        return my_requests(&state, &session, notice).await;
    }
    queue_view(&state, &session, None, notice).await
}

/// `POST /introductions/{id}/outcome`: the candidate's answer, recorded by the operator.
pub(crate) async fn outcome(
    State(state): State<UiState>,
    headers: HeaderMap,
    Path(id): Path<u64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, "/introductions", OPERATOR)?;
    let form = FormData::new(pairs);
    session.check_csrf(&form)?;
    let outcome = match form.get("outcome") {
        "accepted" => "accepted",
        "declined" => "declined",
        _ => return Err(UiError::Forbidden("Choose accept or decline.".to_owned())),
    };
    let mut body = json!({"outcome": outcome, "note": form.opt("note")});
    // Only a request from another community takes `share`: a local employer is shown
    // the candidate's details by this node itself.
    if outcome == "accepted" && form.checked("incoming") {
        let share: Vec<&str> = form
            .all("share")
            .filter(|v| matches!(*v, "name" | "email" | "phone"))
            .collect();
        body["share"] = json!(share);
    }
    let answer = state
        .api
        .send::<Value>(
            Method::POST,
            Some(session.token()),
            &format!("/api/v1/introductions/{id}/outcome"),
            &body,
        )
        .await?;
    match answer {
        Ok(_) => Ok(redirect(&format!("/introductions?done={outcome}"))),
        Err(refusal) => queue_view(&state, &session, Some(Kept { id, refusal, form }), None).await,
    }
}

/// `POST /introductions/{id}/withdraw`: the employer (its own) or the operator calls a
/// request off before an answer.
pub(crate) async fn withdraw(
    State(state): State<UiState>,
    headers: HeaderMap,
    Path(id): Path<u64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, "/introductions", EITHER)?;
    let form = FormData::new(pairs);
    session.check_csrf(&form)?;
    let answer = state
        .api
        .send::<Value>(
            Method::POST,
            Some(session.token()),
            &format!("/api/v1/introductions/{id}/withdraw"),
            &Value::Null,
        )
        .await?;
    match answer {
        Ok(_) => Ok(redirect("/introductions?done=withdrawn")),
        Err(refusal) if session.caller.role == Role::Operator => {
            queue_view(&state, &session, Some(Kept { id, refusal, form }), None).await
        }
        // The employer's list has no form to show it on: it is the only reason there is.
        Err(r) => Err(UiError::Forbidden(format!(
            "The request could not be withdrawn: {}.",
            r.reason
        ))),
    }
}
