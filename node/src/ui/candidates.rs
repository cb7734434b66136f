//! The operator's candidate pages: the board by pipeline stage, and one candidate's
//! profile (skills with evidence, assessments, vetting, consent with its history and what
//! is shared, stage history, introductions and placements) with the forms that change the
//! stage and give or withdraw consent, and the download of everything held on them.
//!
//! Every read and write goes through the API with the operator's session token; the only
//! thing read from the store directly is the sharing state, which the API serves only
//! inside the export (reading the whole export, search audit included, for every page view
//! would be wasteful).

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use super::form::{Field, FormData, FormState};
use super::operator::{
    level_label, ok, recommendation_label, stage_label, CandidateItem, ListPage,
};
use super::public::POLICY_VERSION;
use super::session::{redirect, Session};
use super::{render, Chrome, UiError, UiState};
use crate::auth::Role;
use crate::model::{
    Candidate, ConsentScope, Evidence, Introduction, IntroductionStatus, Personal, Placement,
    Recommendation, Record, Stage, Vetting,
};
use crate::sharing::SharingState;

const OPERATOR: &[Role] = &[Role::Operator];

/// The most candidates the board reads (pages of 500): enough for a community's year, and
/// a bound on what one page view costs.
const BOARD_SCAN: usize = 20;
/// Cards shown per column; the rest are one click away in the column's own list.
const CARDS_PER_COLUMN: usize = 25;

/// Every stage an operator can move a candidate to, in pipeline order.
pub(crate) const STAGES: [(Stage, &str); 8] = [
    (Stage::Applied, "applied"),
    (Stage::Assessed, "assessed"),
    (Stage::Vetted, "vetted"),
    (Stage::Matched, "matched"),
    (Stage::Introduced, "introduced"),
    (Stage::Placed, "placed"),
    (Stage::Withdrawn, "withdrawn"),
    (Stage::NotHired, "not_hired"),
];

fn stage_value(stage: Stage) -> &'static str {
    STAGES
        .iter()
        .find(|(s, _)| *s == stage)
        .map_or("applied", |(_, v)| v)
}

/// Every candidate the API lists to this session, up to [`BOARD_SCAN`] pages.
pub(crate) async fn all_candidates(
    state: &UiState,
    token: &str,
    stage: Option<&str>,
) -> Result<(Vec<CandidateItem>, bool), UiError> {
    let mut out = Vec::new();
    let mut after: Option<u64> = None;
    let filter = stage.map(|s| format!("&stage={s}")).unwrap_or_default();
    for _ in 0..BOARD_SCAN {
        let uri = match after {
            Some(a) => format!("/api/v1/candidates?limit=500{filter}&after={a}"),
            None => format!("/api/v1/candidates?limit=500{filter}"),
        };
        let page: ListPage<CandidateItem> = ok(state.api.get(token, &uri).await?)?;
        out.extend(page.items);
        match page.next_after {
            Some(a) => after = Some(a),
            None => return Ok((out, false)),
        }
    }
    Ok((out, true))
}

// ------------------------------------------------------------------------------------
// The board
// ------------------------------------------------------------------------------------

pub(crate) struct Column {
    pub(crate) value: &'static str,
    pub(crate) label: &'static str,
    pub(crate) total: usize,
    pub(crate) cards: Vec<CandidateItem>,
}

#[derive(Template)]
#[template(path = "candidates.html")]
struct BoardPage {
    chrome: Chrome,
    columns: Vec<Column>,
    /// One column's whole list, when `?stage=` asks for it.
    stage: Option<Column>,
    truncated: bool,
    /// A candidate was just erased.
    erased: bool,
}

#[derive(Debug, Deserialize)]
pub(crate) struct BoardQuery {
    stage: Option<String>,
    erased: Option<String>,
}

/// `GET /candidates`: the board (one column per stage, newest first in each), or with
/// `?stage=` that stage's whole list.
pub(crate) async fn board(
    State(state): State<UiState>,
    headers: HeaderMap,
    Query(q): Query<BoardQuery>,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, "/candidates", OPERATOR)?;
    let chosen = match q.stage.as_deref() {
        Some(s) => Some(
            STAGES
                .iter()
                .find(|(_, v)| *v == s)
                .ok_or(UiError::NotFound)?,
        ),
        None => None,
    };
    let (mut all, truncated) =
        all_candidates(&state, session.token(), chosen.map(|(_, v)| *v)).await?;
    // Newest first: the ones that most likely need a next step.
    all.sort_by_key(|c| std::cmp::Reverse(c.id));
    let mut by_stage: BTreeMap<&'static str, Vec<CandidateItem>> = BTreeMap::new();
    for c in all {
        by_stage.entry(stage_value(c.stage)).or_default().push(c);
    }
    let mut column = |stage: Stage, value: &'static str, limit: usize| {
        let mut cards = by_stage.remove(value).unwrap_or_default();
        let total = cards.len();
        cards.truncate(limit);
        Column {
            value,
            label: stage_label(stage),
            total,
            cards,
        }
    };
    let erased = q.erased.is_some();
    let page = match chosen {
        Some((stage, value)) => BoardPage {
            chrome: Chrome::signed_in(&state, &session, stage_label(*stage), "/candidates"),
            columns: Vec::new(),
            stage: Some(column(*stage, value, usize::MAX)),
            truncated,
            erased,
        },
        None => BoardPage {
            chrome: Chrome::signed_in(&state, &session, "Candidates", "/candidates"),
            columns: STAGES
                .iter()
                .map(|(s, v)| column(*s, v, CARDS_PER_COLUMN))
                .collect(),
            stage: None,
            truncated,
            erased,
        },
    };
    Ok(render(&page))
}

// ------------------------------------------------------------------------------------
// The profile page
// ------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct WithPersonal {
    #[serde(default)]
    personal: Option<Personal>,
}

#[derive(Deserialize)]
struct AssessmentItem {
    skill: String,
    instrument: String,
    score: u32,
    max_score: u32,
    taken_on: chrono::NaiveDate,
    assessor: String,
}

pub(crate) struct SkillLine {
    pub(crate) skill: String,
    pub(crate) level: &'static str,
    pub(crate) evidence: &'static str,
    pub(crate) known: bool,
}

pub(crate) fn evidence_label(e: Evidence) -> &'static str {
    match e {
        Evidence::SelfReported => "Self-reported",
        Evidence::Project => "A project",
        Evidence::WorkExperience => "Work experience",
        Evidence::Certificate => "Certificate",
        Evidence::Assessment => "Assessment",
    }
}

pub(crate) struct VettingLine {
    pub(crate) record: Record<Vetting>,
    pub(crate) recommendation: &'static str,
    pub(crate) tone: &'static str,
}

pub(crate) struct ConsentLine {
    pub(crate) scope: String,
    pub(crate) policy: String,
    pub(crate) given: String,
    pub(crate) withdrawn: Option<String>,
}

/// What the node has published for the candidate, in words.
pub(crate) struct Sharing {
    pub(crate) headline: String,
    pub(crate) detail: Option<String>,
    pub(crate) tone: &'static str,
}

pub(crate) struct StageLine {
    pub(crate) stage: &'static str,
    pub(crate) at: String,
    pub(crate) note: Option<String>,
}

pub(crate) struct IntroLine {
    pub(crate) id: u64,
    pub(crate) who: String,
    pub(crate) status: &'static str,
    pub(crate) tone: &'static str,
    pub(crate) requested: String,
}

pub(crate) struct PlacementLine {
    pub(crate) employer: String,
    pub(crate) start: String,
    pub(crate) wage: u32,
}

#[derive(Template)]
#[template(path = "candidate.html")]
struct ProfilePage {
    chrome: Chrome,
    record: Record<Candidate>,
    personal: Option<Personal>,
    stage: &'static str,
    skills: Vec<SkillLine>,
    assessments: Vec<AssessmentItem>,
    vettings: Vec<VettingLine>,
    consent: Option<ConsentLine>,
    consent_history: Vec<ConsentLine>,
    sharing: Sharing,
    history: Vec<StageLine>,
    introductions: Vec<IntroLine>,
    placements: Vec<PlacementLine>,
    stage_form: FormState,
    stage_field: Field,
    note_field: Field,
    stages: Vec<(&'static str, &'static str)>,
    consent_form: FormState,
    scope_field: Field,
    regions_field: Field,
    regions_hint: String,
    policy_version: &'static str,
    notice: Option<&'static str>,
    /// The erase form, after a refusal (the box not ticked, or the API's reason).
    erase_form: FormState,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ProfileQuery {
    done: Option<String>,
}

pub(crate) fn date(at: DateTime<Utc>) -> String {
    at.format("%-d %b %Y").to_string()
}

fn date_time(at: DateTime<Utc>) -> String {
    at.format("%-d %b %Y, %H:%M UTC").to_string()
}

fn scope_words(scope: &ConsentScope) -> String {
    match scope {
        ConsentScope::Federation => "every community of the federation".to_owned(),
        ConsentScope::Regions { regions } => format!("communities in {}", regions.join(", ")),
    }
}

pub(crate) fn intro_status(s: IntroductionStatus) -> (&'static str, &'static str) {
    match s {
        IntroductionStatus::Requested => ("Waiting for the candidate", "partial"),
        IntroductionStatus::Accepted => ("Accepted", "good"),
        IntroductionStatus::Declined => ("Declined", "missing"),
        IntroductionStatus::Withdrawn => ("Withdrawn", ""),
        IntroductionStatus::Refused => ("Refused by their community", "missing"),
        IntroductionStatus::Expired => ("Expired", ""),
    }
}

fn sharing_words(state: Option<&SharingState>, consent_in_force: bool) -> Sharing {
    match state {
        None if consent_in_force => Sharing {
            headline: "Consent given; not published yet".to_owned(),
            detail: Some(
                "The profile is published once the node is in a federation and the candidate \
                 is open to introductions."
                    .to_owned(),
            ),
            tone: "partial",
        },
        None => Sharing {
            headline: "Not shared: the profile stays in this community".to_owned(),
            detail: None,
            tone: "",
        },
        Some(s) if s.pending => Sharing {
            headline: "Being updated".to_owned(),
            detail: Some("A change is on its way to the federation.".to_owned()),
            tone: "partial",
        },
        Some(s) if s.live() => Sharing {
            headline: format!("Shared with {}", scope_words(&s.scope)),
            detail: Some(format!(
                "Version {}{}; lapses on {} unless consent is renewed.",
                s.version,
                s.published_at
                    .map(|at| format!(", published {}", date_time(at)))
                    .unwrap_or_default(),
                date(s.expires_at),
            )),
            tone: "good",
        },
        Some(_) => Sharing {
            headline: "Withdrawn from the federation".to_owned(),
            detail: Some("Other communities were told to delete the shared profile.".to_owned()),
            tone: "",
        },
    }
}

async fn profile_view(
    state: &UiState,
    session: &Session,
    id: u64,
    refused: Option<(&'static str, FormState)>,
    notice: Option<&'static str>,
) -> Result<Response, UiError> {
    let token = session.token();
    let record: Record<Candidate> = ok(state
        .api
        .get(token, &format!("/api/v1/candidates/{id}"))
        .await?)?;
    // The same answer read for its `personal` part (a `Record` is read in the order the
    // API writes it, so it cannot go through a `Value`, whose keys are sorted).
    let personal = ok(state
        .api
        .get::<WithPersonal>(token, &format!("/api/v1/candidates/{id}"))
        .await?)?
    .personal;
    let assessments: ListPage<AssessmentItem> = ok(state
        .api
        .get(
            token,
            &format!("/api/v1/assessments?limit=100&candidate_id={id}"),
        )
        .await?)?;
    let vettings: ListPage<Record<Vetting>> = ok(state
        .api
        .get(
            token,
            &format!("/api/v1/vetting?limit=100&candidate_id={id}"),
        )
        .await?)?;
    let intros: ListPage<Record<Introduction>> = ok(state
        .api
        .get(
            token,
            &format!("/api/v1/introductions?limit=100&candidate_id={id}"),
        )
        .await?)?;
    let placements: ListPage<Record<Placement>> = ok(state
        .api
        .get(
            token,
            &format!("/api/v1/placements?limit=100&candidate_id={id}"),
        )
        .await?)?;
    let store = state.app.store.clone();
    let sharing = tokio::task::spawn_blocking(move || crate::sharing::state_of(&store, id))
        .await
        .map_err(|e| UiError::internal("sharing state task", e))??;
    // The federation's regions, as a hint for the consent form (none outside a federation).
    let status: Result<Value, _> = state.api.get(token, "/api/v1/federation/status").await?;
    let mut regions: Vec<String> = status
        .ok()
        .and_then(|s| {
            s.get("members").and_then(Value::as_array).map(|m| {
                m.iter()
                    .filter_map(|m| m.get("region").and_then(Value::as_str).map(str::to_owned))
                    .collect()
            })
        })
        .unwrap_or_default();
    regions.sort();
    regions.dedup();

    let taxonomy = &state.app.taxonomy;
    let skills = record
        .data
        .profile
        .skills
        .iter()
        .map(|s| SkillLine {
            skill: s.skill.clone(),
            level: level_label(&s.level),
            evidence: evidence_label(s.evidence),
            known: s
                .skill_id
                .as_deref()
                .is_some_and(|i| taxonomy.get(i).is_some()),
        })
        .collect();
    let consent_line = |c: &crate::model::Consent| ConsentLine {
        scope: scope_words(&c.scope),
        policy: c.policy_version.clone(),
        given: date_time(c.given_at),
        withdrawn: c.withdrawn_at.map(date_time),
    };
    let in_force = record
        .data
        .consent
        .as_ref()
        .filter(|c| c.withdrawn_at.is_none());
    let mut introductions = Vec::new();
    for i in intros.items {
        let who = match (&i.data.remote, i.data.employer_id) {
            (Some(r), _) => format!(
                "{} ({})",
                r.employer_name.as_deref().unwrap_or("An employer"),
                r.community
            ),
            (None, Some(e)) => super::operator::employer_name(state, e)?,
            (None, None) => "An employer".to_owned(),
        };
        let (status, tone) = intro_status(i.data.status);
        introductions.push(IntroLine {
            id: i.id,
            who,
            status,
            tone,
            requested: date(i.data.requested_at),
        });
    }
    let mut placement_lines = Vec::new();
    for p in placements.items {
        placement_lines.push(PlacementLine {
            employer: super::operator::employer_name(state, p.data.employer_id)?,
            start: p.data.start_date.format("%-d %b %Y").to_string(),
            wage: p.data.starting_wage_annual_usd,
        });
    }
    // Renewing starts from the consent in force, so that it is not narrowed by accident.
    let current_scope = match in_force.map(|c| &c.scope) {
        Some(ConsentScope::Regions { regions }) => FormState::with(&[
            ("scope.kind", "regions"),
            ("scope.regions", &regions.join(", ")),
        ]),
        _ => FormState::with(&[("scope.kind", "federation")]),
    };
    let mut erase_form = FormState::default();
    let (stage_form, consent_form) = match refused {
        Some(("stage", f)) => (f, current_scope),
        Some(("erase", f)) => {
            erase_form = f;
            (
                FormState::with(&[("stage", stage_value(record.data.stage))]),
                current_scope,
            )
        }
        Some((_, f)) => (
            FormState::with(&[("stage", stage_value(record.data.stage))]),
            f,
        ),
        None => (
            FormState::with(&[("stage", stage_value(record.data.stage))]),
            current_scope,
        ),
    };
    let status = if stage_form.summary().is_some()
        || consent_form.summary().is_some()
        || erase_form.summary().is_some()
    {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let title = personal
        .as_ref()
        .map_or_else(|| format!("Candidate {id}"), |p| p.name.clone());
    let mut res = render(&ProfilePage {
        chrome: Chrome::signed_in(state, session, &title, "/candidates"),
        stage: stage_label(record.data.stage),
        skills,
        assessments: assessments.items,
        vettings: vettings
            .items
            .into_iter()
            .map(|v| {
                let tone = match v.data.recommendation {
                    Recommendation::StronglyRecommend | Recommendation::Recommend => "good",
                    Recommendation::Maybe => "partial",
                    Recommendation::NotYet => "missing",
                };
                VettingLine {
                    recommendation: recommendation_label(Some(v.data.recommendation)),
                    tone,
                    record: v,
                }
            })
            .collect(),
        consent: in_force.map(consent_line),
        consent_history: record
            .data
            .consent_history
            .iter()
            .rev()
            .map(consent_line)
            .collect(),
        sharing: sharing_words(sharing.as_ref(), in_force.is_some()),
        history: record
            .data
            .stage_history
            .iter()
            .rev()
            .map(|h| StageLine {
                stage: stage_label(h.stage),
                at: date_time(h.at),
                note: h.note.clone(),
            })
            .collect(),
        introductions,
        placements: placement_lines,
        stage_field: stage_form.field("stage"),
        note_field: stage_form.field("note"),
        stage_form,
        stages: STAGES.iter().map(|(s, v)| (*v, stage_label(*s))).collect(),
        scope_field: consent_form.field("scope.kind"),
        regions_field: consent_form.field("scope.regions"),
        consent_form,
        erase_form,
        regions_hint: if regions.is_empty() {
            "Separate regions with commas, as in AL, TN.".to_owned()
        } else {
            format!(
                "Separate regions with commas. Regions of this federation: {}.",
                regions.join(", ")
            )
        },
        policy_version: POLICY_VERSION,
        notice,
        personal,
        record,
    });
    *res.status_mut() = status;
    Ok(res)
}

/// `GET /candidates/{id}`.
pub(crate) async fn profile(
    State(state): State<UiState>,
    headers: HeaderMap,
    Path(id): Path<u64>,
    Query(q): Query<ProfileQuery>,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, &format!("/candidates/{id}"), OPERATOR)?;
    let notice = match q.done.as_deref() {
        Some("stage") => Some("The stage is changed and kept in the history."),
        Some("consent") => Some("Consent is recorded. The shared profile follows it."),
        Some("withdrawn") => {
            Some("Consent is withdrawn. Other communities are told to delete the profile.")
        }
        _ => None,
    };
    profile_view(&state, &session, id, None, notice).await
}

/// `POST /candidates/{id}/stage`: moves the candidate, with an optional note.
pub(crate) async fn set_stage(
    State(state): State<UiState>,
    headers: HeaderMap,
    Path(id): Path<u64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, &format!("/candidates/{id}"), OPERATOR)?;
    let form = FormData::new(pairs);
    session.check_csrf(&form)?;
    let body = json!({"stage": form.get("stage"), "note": form.opt("note")});
    let answer = state
        .api
        .send::<Value>(
            Method::POST,
            Some(session.token()),
            &format!("/api/v1/candidates/{id}/stage"),
            &body,
        )
        .await?;
    match answer {
        Ok(_) => Ok(redirect(&format!("/candidates/{id}?done=stage"))),
        Err(mut r) => {
            // A bad enum value is the body's fault in serde's words; it is the select's.
            if r.field.is_none() {
                r.field = Some("stage".into());
            }
            let kept = form.into_state().refused(r);
            profile_view(&state, &session, id, Some(("stage", kept)), None).await
        }
    }
}

/// `POST /candidates/{id}/consent`: records consent (the policy shown on the page) with
/// the scope chosen: the whole federation or the regions typed.
pub(crate) async fn give_consent(
    State(state): State<UiState>,
    headers: HeaderMap,
    Path(id): Path<u64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, &format!("/candidates/{id}"), OPERATOR)?;
    let form = FormData::new(pairs);
    session.check_csrf(&form)?;
    let scope = if form.get("scope.kind") == "regions" {
        let regions: Vec<&str> = form
            .get("scope.regions")
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .collect();
        json!({"kind": "regions", "regions": regions})
    } else {
        json!({"kind": "federation"})
    };
    let body = json!({"policy_version": POLICY_VERSION, "scope": scope});
    let answer = state
        .api
        .send::<Value>(
            Method::PUT,
            Some(session.token()),
            &format!("/api/v1/candidates/{id}/consent"),
            &body,
        )
        .await?;
    match answer {
        Ok(_) => Ok(redirect(&format!("/candidates/{id}?done=consent"))),
        Err(mut r) => {
            // `scope.regions[2]` is an entry of the one regions input.
            if r.field
                .as_deref()
                .is_none_or(|f| f.starts_with("scope.regions"))
            {
                r.field = Some("scope.regions".into());
            }
            let kept = form.into_state().refused(r);
            profile_view(&state, &session, id, Some(("consent", kept)), None).await
        }
    }
}

/// `POST /candidates/{id}/consent/withdraw`.
pub(crate) async fn withdraw_consent(
    State(state): State<UiState>,
    headers: HeaderMap,
    Path(id): Path<u64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, &format!("/candidates/{id}"), OPERATOR)?;
    let form = FormData::new(pairs);
    session.check_csrf(&form)?;
    let answer = state
        .api
        .send::<Value>(
            Method::DELETE,
            Some(session.token()),
            &format!("/api/v1/candidates/{id}/consent"),
            &Value::Null,
        )
        .await?;
    match answer {
        Ok(_) => Ok(redirect(&format!("/candidates/{id}?done=withdrawn"))),
        Err(r) => {
            let kept = FormState::with(&[("scope.kind", "federation")]).refused(r);
            profile_view(&state, &session, id, Some(("consent", kept)), None).await
        }
    }
}

/// `POST /candidates/{id}/erase`: erases the candidate (the API's `DELETE`: personal data,
/// profile and history go; a shared profile is withdrawn everywhere by its tombstone).
/// Cannot be undone, so the form's "yes" box must be ticked.
pub(crate) async fn erase(
    State(state): State<UiState>,
    headers: HeaderMap,
    Path(id): Path<u64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, &format!("/candidates/{id}"), OPERATOR)?;
    let form = FormData::new(pairs);
    session.check_csrf(&form)?;
    let refused = |reason: String| {
        FormState::default().refused(super::api::Refusal {
            field: None,
            reason,
        })
    };
    if form.get("confirm") != "yes" {
        let kept = refused(
            "Tick the box to confirm: an erased candidate cannot be brought back.".to_owned(),
        );
        return profile_view(&state, &session, id, Some(("erase", kept)), None).await;
    }
    let answer = state
        .api
        .send::<Value>(
            Method::DELETE,
            Some(session.token()),
            &format!("/api/v1/candidates/{id}"),
            &Value::Null,
        )
        .await?;
    match answer {
        Ok(_) => Ok(redirect("/candidates?erased=1")),
        Err(r) => {
            profile_view(
                &state,
                &session,
                id,
                Some(("erase", refused(r.reason))),
                None,
            )
            .await
        }
    }
}

/// `GET /candidates/{id}/export.json`: the API's export, as a file to save.
pub(crate) async fn export(
    State(state): State<UiState>,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, &format!("/candidates/{id}"), OPERATOR)?;
    let (_, _, bytes) = state
        .api
        .download(session.token(), &format!("/api/v1/candidates/{id}/export"))
        .await?;
    let disposition = HeaderValue::from_str(&format!(
        "attachment; filename=\"techhire-candidate-{id}.json\""
    ))
    .map_err(|e| UiError::internal("export file name", e))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}
