//! The public pages: the community's front page (what the local TechHire does, its
//! partners, its progress from its own published metric reports) and the candidate
//! application form (no sign-in; the form is rate-limited; both usable on a phone).

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value};

use super::api::Refusal;
use super::form::{to_row, Field, FormData, FormState};
use super::session::{check_public_form, public_form_token, redirect, Session};
use super::{client, render, Chrome, UiError, UiState};
use crate::model::Community;

/// The version of the sharing policy the form shows; stored with each consent given.
pub(crate) const POLICY_VERSION: &str = "2026-1";

/// Rows of each repeated part of the form. A first version: enough for most applicants,
/// and operators can add more to the record later.
const SKILL_ROWS: usize = 6;

const LEVELS: [(&str, &str); 4] = [
    ("beginner", "Beginner"),
    ("intermediate", "Intermediate"),
    ("advanced", "Advanced"),
    ("expert", "Expert"),
];

const EVIDENCE: [(&str, &str); 5] = [
    ("self_reported", "I taught myself / I say so"),
    ("project", "A project I built"),
    ("work_experience", "Used it at work"),
    ("certificate", "Certificate"),
    ("assessment", "Passed a test"),
];

const REMOTE: [(&str, &str); 4] = [
    ("any", "Any"),
    ("on_site", "On site"),
    ("hybrid", "Hybrid"),
    ("remote", "Remote"),
];

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    chrome: Chrome,
    backbone: Option<String>,
    signed_in_home: Option<&'static str>,
    partners: Partners,
    progress: Option<Progress>,
}

/// The community's partners, as the public may know them: employers that signed the
/// TechHire commitment or speak for it, and the training providers.
#[derive(Default)]
pub(crate) struct Partners {
    pub(crate) employers: Vec<(String, &'static str)>,
    pub(crate) providers: Vec<(String, Option<String>)>,
}

/// The community's own published figures for a year.
pub(crate) struct Progress {
    pub(crate) year: u16,
    pub(crate) published_on: String,
    /// (metric, figure as shown, what it counts): published cells only.
    pub(crate) figures: Vec<(&'static str, String, &'static str)>,
}

/// The figures the front page may show, in order, with what each counts.
const PUBLIC_FIGURES: [(&str, &str); 6] = [
    ("applied", "people applied"),
    ("placed", "people placed in tech jobs"),
    ("placed.median_wage", "median starting wage a year"),
    ("training.completed", "people completed training"),
    ("outreach.reached", "job seekers reached"),
    (
        "employers.committed",
        "employers committed to hire on skills",
    ),
];

/// Most partners of each kind the front page lists.
const MAX_PARTNERS: usize = 60;

fn partners(store: &crate::store::Store) -> Result<Partners, UiError> {
    use crate::model::{Employer, Provider, Record};
    use crate::store::Table;
    let employers = store.list::<Record<Employer>>(Table::Employer, None, MAX_PARTNERS, |e| {
        e.data.advocate || e.data.commitment.is_some()
    })?;
    let providers =
        store.list::<Record<Provider>>(Table::Provider, None, MAX_PARTNERS, |_| true)?;
    Ok(Partners {
        employers: employers
            .items
            .into_iter()
            .map(|e| {
                let role = if e.data.advocate {
                    "Employer advocate"
                } else {
                    "Hiring commitment"
                };
                (e.data.name, role)
            })
            .collect(),
        providers: providers
            .items
            .into_iter()
            .map(|p| (p.data.name, p.data.city))
            .collect(),
    })
}

/// The community's progress as it published it: its own signed metric reports only (what
/// the federation holds from this node's key), read through the national view's rules,
/// so a withheld cell stays withheld and an unpublished figure is never shown.
fn own_progress(
    store: &crate::store::Store,
    own: Option<techhire_protocol::PublicKey>,
) -> Result<Option<Progress>, UiError> {
    use crate::metrics::national::{national_view, PeriodFilter};
    use techhire_protocol::Period;
    // A node outside a federation publishes nothing, so it has nothing to show.
    let Some(own) = own else {
        return Ok(None);
    };
    let held: Vec<_> = crate::metrics::publish::held_reports(store)?
        .into_iter()
        .filter(|h| *h.record.signer() == own)
        .collect();
    let Some(year) = held
        .iter()
        .filter(|h| matches!(h.report.period, Period::Year { .. }))
        .map(|h| h.report.period.year())
        .max()
    else {
        return Ok(None);
    };
    let view = national_view(&held, &PeriodFilter::Period(Period::Year { year }));
    let Some(report) = view.periods.first().and_then(|p| p.communities.first()) else {
        return Ok(None);
    };
    let figures = PUBLIC_FIGURES
        .iter()
        .filter_map(|(metric, words)| {
            let cell = report
                .cells
                .0
                .iter()
                .find(|c| c.metric == *metric && c.dimension.is_empty())?;
            let n = cell.value.number()?;
            let shown = match cell.value {
                techhire_protocol::Value::Amount(_) => {
                    super::training::dollars(u32::try_from(n).unwrap_or(u32::MAX))
                }
                _ => super::national::thousands(n),
            };
            Some((*metric, shown, *words))
        })
        .collect();
    let published_on = i64::try_from(report.computed_at_ms)
        .ok()
        .and_then(chrono::DateTime::<chrono::Utc>::from_timestamp_millis)
        .map_or_else(String::new, |d| d.format("%-d %B %Y").to_string());
    Ok(Some(Progress {
        year,
        published_on,
        figures,
    }))
}

pub(crate) async fn home(
    State(state): State<UiState>,
    headers: HeaderMap,
) -> Result<Response, UiError> {
    let community = state.app.store.get_meta::<Community>("community")?;
    let session = Session::current(&state, &headers)?;
    let store = state.app.store.clone();
    let own = state.app.federation.as_ref().map(|f| f.key());
    let (partners, progress) = tokio::task::spawn_blocking(move || {
        Ok::<_, UiError>((partners(&store)?, own_progress(&store, own)?))
    })
    .await
    .map_err(|e| UiError::internal("front page task", e))??;
    let page = HomePage {
        chrome: Chrome::public(&state, "Welcome", "/", String::new()),
        backbone: community.and_then(|c| c.backbone_organisation),
        signed_in_home: session.map(|s| super::home_of(s.caller.role)),
        partners,
        progress,
    };
    Ok(render(&page))
}

/// One row of the skills part of the form.
pub(crate) struct SkillRow {
    pub(crate) number: usize,
    pub(crate) skill: Field,
    pub(crate) level: Field,
    pub(crate) evidence: Field,
}

#[derive(Template)]
#[template(path = "apply.html")]
struct ApplyPage {
    chrome: Chrome,
    form: FormState,
    skills: Vec<SkillRow>,
    skill_names: Vec<String>,
    levels: &'static [(&'static str, &'static str)],
    evidence: &'static [(&'static str, &'static str)],
    remote: &'static [(&'static str, &'static str)],
    policy_version: &'static str,
}

fn apply_page(
    state: &UiState,
    headers: &HeaderMap,
    form: FormState,
    status: StatusCode,
) -> Response {
    let (csrf, set) = public_form_token(headers);
    let skills = (0..SKILL_ROWS)
        .map(|i| {
            let f = |part: &str| form.field(&format!("profile.skills[{i}].{part}"));
            SkillRow {
                number: i + 1,
                skill: f("skill"),
                level: f("level"),
                evidence: f("evidence"),
            }
        })
        .collect();
    let page = ApplyPage {
        chrome: Chrome::public(state, "Apply", "/apply", csrf),
        form,
        skills,
        skill_names: state
            .app
            .taxonomy
            .skills()
            .iter()
            .map(|s| s.label.clone())
            .collect(),
        levels: &LEVELS,
        evidence: &EVIDENCE,
        remote: &REMOTE,
        policy_version: POLICY_VERSION,
    };
    let mut res = render(&page);
    *res.status_mut() = status;
    if let Some(set) = set {
        res.headers_mut().append(header::SET_COOKIE, set);
    }
    res
}

pub(crate) async fn apply_form(State(state): State<UiState>, headers: HeaderMap) -> Response {
    let mut fresh = Vec::new();
    for i in 0..SKILL_ROWS {
        fresh.push((format!("profile.skills[{i}].level"), "beginner".to_owned()));
        fresh.push((
            format!("profile.skills[{i}].evidence"),
            "self_reported".to_owned(),
        ));
    }
    fresh.push(("profile.remote_preference".to_owned(), "any".to_owned()));
    let form = FormData::new(fresh).into_state();
    apply_page(&state, &headers, form, StatusCode::OK)
}

/// Which form row each entry sent to the API came from, per repeated part.
#[derive(Default)]
struct Rows {
    skills: Vec<usize>,
}

/// The application as the API takes it. Blank rows and blank optional parts are left out.
fn application(form: &FormData) -> Result<(Value, Rows), Refusal> {
    let mut rows = Rows::default();
    let mut skills = Vec::new();
    for i in 0..SKILL_ROWS {
        let name = |part: &str| format!("profile.skills[{i}].{part}");
        let Some(skill) = form.opt(&name("skill")) else {
            continue;
        };
        rows.skills.push(i);
        skills.push(json!({
            "skill": skill,
            "level": form.get(&name("level")),
            "evidence": form.get(&name("evidence")),
        }));
    }
    let mut profile = json!({
        "skills": skills,
        "remote_preference": form.opt("profile.remote_preference").unwrap_or("any"),
        "willing_to_relocate": form.checked("profile.willing_to_relocate"),
    });
    if let Some(role) = form.opt("profile.desired_roles[0]") {
        profile["desired_roles"] = json!([role]);
    }
    if let Some(title) = form.opt("profile.work_history[0].title") {
        let start = form.opt("profile.work_history[0].start").ok_or(Refusal {
            field: Some("profile.work_history[0].start".into()),
            reason: "give the date the job started".into(),
        })?;
        profile["work_history"] = json!([{
            "title": title,
            "employer_name": form.opt("profile.work_history[0].employer_name"),
            "start": start,
            "end": form.opt("profile.work_history[0].end"),
            "summary": form.opt("profile.work_history[0].summary"),
        }]);
    }
    if let Some(name) = form.opt("profile.projects[0].name") {
        profile["projects"] = json!([{
            "name": name,
            "url": form.opt("profile.projects[0].url"),
            "description": form.opt("profile.projects[0].description"),
        }]);
    }
    if let Some(name) = form.opt("profile.certificates[0].name") {
        profile["certificates"] = json!([{
            "name": name,
            "issuer": form.get("profile.certificates[0].issuer"),
            "issued_on": form.opt("profile.certificates[0].issued_on"),
        }]);
    }
    let mut body = json!({
        "personal": {
            "name": form.get("personal.name"),
            "email": form.get("personal.email"),
            "phone": form.opt("personal.phone"),
            "city": form.opt("personal.city"),
        },
        "profile": profile,
    });
    if form.checked("consent") {
        body["consent"] = json!({
            "policy_version": POLICY_VERSION,
            "scope": { "kind": "federation" },
        });
    }
    Ok((body, rows))
}

#[derive(Deserialize)]
struct Applied {
    id: u64,
}

pub(crate) async fn apply(
    State(state): State<UiState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let form = FormData::new(pairs);
    check_public_form(&headers, &form)?;
    let refused = |form: FormData, refusal: Refusal| {
        apply_page(
            &state,
            &headers,
            form.into_state().refused(refusal),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    };
    let (body, rows) = match application(&form) {
        Ok(b) => b,
        Err(r) => return Ok(refused(form, r)),
    };
    // The API counts the application against its rate limits (per address, per node).
    let answer = match state
        .api
        .send_public::<Applied>("/api/v1/applications", &body, client(&extensions))
        .await
    {
        // Over the limit: said on the form, which keeps everything typed.
        Err(UiError::TooMany(reason)) => {
            let kept = form.into_state().refused(Refusal {
                field: None,
                reason: format!("The form was not sent: {reason}."),
            });
            return Ok(apply_page(
                &state,
                &headers,
                kept,
                StatusCode::TOO_MANY_REQUESTS,
            ));
        }
        other => other?,
    };
    match answer {
        Ok(applied) => Ok(redirect(&format!("/apply/done?ref={}", applied.id))),
        Err(mut refusal) => {
            refusal.field = refusal
                .field
                .map(|f| to_row(&f, "profile.skills", &rows.skills).unwrap_or(f));
            Ok(refused(form, refusal))
        }
    }
}

#[derive(Template)]
#[template(path = "applied.html")]
struct AppliedPage {
    chrome: Chrome,
    reference: Option<u64>,
}

#[derive(Deserialize)]
pub(crate) struct AppliedQuery {
    #[serde(rename = "ref")]
    reference: Option<u64>,
}

pub(crate) async fn applied(
    State(state): State<UiState>,
    Query(q): Query<AppliedQuery>,
) -> Response {
    render(&AppliedPage {
        chrome: Chrome::public(&state, "Application received", "/apply", String::new()),
        reference: q.reference,
    })
}
