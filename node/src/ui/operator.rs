//! The operator's pages: the dashboard (pipeline funnel, goals against progress),
//! candidates, employers and openings with their forms, an opening's ranked matches with
//! explanations, and recording a placement from them.

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Datelike, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use techhire_protocol::suppression::Raw;
use techhire_protocol::Period;

use super::api::Refusal;
use super::form::{Field, FormData, FormState};
use super::session::{redirect, Session};
use super::{charts, render, Chrome, UiError, UiState};
use crate::auth::Role;
use crate::matching::{Explanation, Fit, SkillKey};
use crate::model::{
    Community, Employer, Introduction, Level, Opening, Personal, Profile, Recommendation, Record,
    Stage, StageChange,
};
use crate::skills::{Taxonomy, SOC_CODES};

const OPERATOR: &[Role] = &[Role::Operator];
/// Openings and their matches: operators see every employer's, employers their own (the
/// API decides which; another employer's opening is a 404 for them).
const OPENING_READERS: &[Role] = &[Role::Operator, Role::Employer];

/// A page of a list route, as the API answers it.
#[derive(Deserialize)]
pub(crate) struct ListPage<T> {
    pub(crate) items: Vec<T>,
    pub(crate) next_after: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    after: Option<u64>,
    added: Option<u64>,
}

fn page_uri(base: &str, after: Option<u64>) -> String {
    match after {
        Some(a) => format!("{base}?limit=50&after={a}"),
        None => format!("{base}?limit=50"),
    }
}

// ------------------------------------------------------------------------------------
// Dashboard
// ------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    chrome: Chrome,
    year: i32,
    funnel_svg: String,
    funnel: Vec<(&'static str, u64)>,
    goals_svg: Option<String>,
    goals: Vec<(&'static str, u64, u64)>,
    attention: Attention,
    activity: Vec<Activity>,
}

/// What waits for the community team: each a count with the page that deals with it.
pub(crate) struct Attention {
    pub(crate) introductions: usize,
    pub(crate) vetting: usize,
    pub(crate) unmatched: Vec<UnmatchedSkill>,
}

impl Attention {
    pub(crate) fn is_empty(&self) -> bool {
        self.introductions == 0 && self.vetting == 0 && self.unmatched.is_empty()
    }
}

/// Free text no taxonomy skill matched (`GET /api/v1/skills/unmatched`).
#[derive(Deserialize)]
pub(crate) struct UnmatchedSkill {
    pub(crate) text: String,
    #[serde(default)]
    pub(crate) example: Option<String>,
    pub(crate) candidates: u64,
    pub(crate) openings: u64,
    pub(crate) programs: u64,
}

impl UnmatchedSkill {
    pub(crate) fn label(&self) -> &str {
        self.example.as_deref().unwrap_or(&self.text)
    }

    pub(crate) fn uses(&self) -> String {
        let mut parts = Vec::new();
        for (n, one, many) in [
            (self.candidates, "candidate", "candidates"),
            (self.openings, "opening", "openings"),
            (self.programs, "program", "programs"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {}", if n == 1 { one } else { many }));
            }
        }
        parts.join(", ")
    }
}

/// One line of recent activity.
pub(crate) struct Activity {
    at: DateTime<Utc>,
    pub(crate) when: String,
    pub(crate) text: String,
    pub(crate) href: String,
}

/// Lines of recent activity on the dashboard.
const ACTIVITY_LINES: usize = 10;

/// The dashboard's "needs attention" box and recent activity, read through the API.
async fn attention_and_activity(
    state: &UiState,
    session: &Session,
) -> Result<(Attention, Vec<Activity>), UiError> {
    let token = session.token();
    let (candidates, _) = super::candidates::all_candidates(state, token, None).await?;
    let vetted = super::reviewer::vetted_candidates(state, token).await?;
    let requested: ListPage<Record<Introduction>> = ok(state
        .api
        .get(token, "/api/v1/introductions?limit=500&status=requested")
        .await?)?;
    #[derive(Deserialize)]
    struct Unmatched {
        items: Vec<UnmatchedSkill>,
    }
    let unmatched: Unmatched = ok(state
        .api
        .get(token, "/api/v1/skills/unmatched?limit=5")
        .await?)?;
    let when = |at: DateTime<Utc>| at.format("%-d %b, %H:%M").to_string();
    let mut activity: Vec<Activity> = Vec::new();
    for c in &candidates {
        let name = match c.name() {
            "" => format!("Candidate {}", c.id),
            n => n.to_owned(),
        };
        for h in c.stage_history.iter().rev().take(ACTIVITY_LINES) {
            let text = match h.stage {
                Stage::Applied => format!("{name} applied"),
                s => format!("{name} moved to {}", stage_label(s).to_lowercase()),
            };
            activity.push(Activity {
                at: h.at,
                when: when(h.at),
                text,
                href: format!("/candidates/{}", c.id),
            });
        }
    }
    let names: std::collections::BTreeMap<u64, String> = candidates
        .iter()
        .map(|c| (c.id, c.name().to_owned()))
        .collect();
    let mut introductions = 0;
    for i in &requested.items {
        let outgoing = i
            .data
            .remote
            .as_ref()
            .is_some_and(|r| r.direction == crate::model::Direction::Outgoing);
        if outgoing {
            // Waiting on another community, not on this team.
            continue;
        }
        introductions += 1;
        let employer = match (&i.data.remote, i.data.employer_id) {
            (_, Some(e)) => employer_name(state, e)?,
            (Some(r), None) => format!(
                "{} ({})",
                r.employer_name.as_deref().unwrap_or("An employer"),
                r.community
            ),
            (None, None) => "An employer".to_owned(),
        };
        let candidate = i
            .data
            .candidate_id
            .and_then(|c| names.get(&c).cloned())
            .unwrap_or_else(|| "a candidate".to_owned());
        activity.push(Activity {
            at: i.data.requested_at,
            when: when(i.data.requested_at),
            text: format!("{employer} asked to meet {candidate}"),
            href: format!("/introductions#intro-{}", i.id),
        });
    }
    activity.sort_by_key(|a| std::cmp::Reverse(a.at));
    activity.truncate(ACTIVITY_LINES);
    let attention = Attention {
        introductions,
        vetting: candidates
            .iter()
            .filter(|c| super::reviewer::waits_for_vetting(c, &vetted))
            .count(),
        unmatched: unmatched.items,
    };
    Ok((attention, activity))
}

/// The pipeline stages of the funnel, as `docs/metrics.md` defines them.
const FUNNEL: [(&str, &str); 6] = [
    ("applied", "Applied"),
    ("assessed", "Assessed"),
    ("vetted", "Vetted"),
    ("matched", "Matched"),
    ("introduced", "Introduced"),
    ("placed", "Placed"),
];

pub(crate) async fn dashboard(
    State(state): State<UiState>,
    headers: HeaderMap,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, "/dashboard", OPERATOR)?;
    let year = Utc::now().year();
    let store = state.app.store.clone();
    let Ok(y) = u16::try_from(year) else {
        return Err(UiError::internal("dashboard", "the year is out of range"));
    };
    // The community's own figures, computed as the metric reports are (same definitions),
    // read before suppression: operators see their own records anyway.
    let (figures, community) = tokio::task::spawn_blocking(move || {
        let plan = crate::metrics::compute::plan_year(&store, y, 3, &[])
            .map_err(|e| UiError::internal("computing the year's figures", e))?;
        let community = store.get_meta::<Community>("community")?;
        let year_period = Period::Year { year: y };
        let figures: Vec<(String, u64)> = plan
            .cells
            .iter()
            .zip(&plan.plan.cells)
            .filter(|(id, _)| id.period == year_period && id.dimension.is_empty())
            .map(|(id, raw)| {
                let v = match raw {
                    Raw::People(v) | Raw::Count(v) | Raw::Amount(v) => *v,
                };
                (id.metric.clone(), v)
            })
            .collect();
        Ok::<_, UiError>((figures, community))
    })
    .await
    .map_err(|e| UiError::internal("dashboard task", e))??;
    let figure = |metric: &str| {
        figures
            .iter()
            .find(|(m, _)| m == metric)
            .map_or(0, |(_, v)| *v)
    };
    let funnel: Vec<(&'static str, u64)> = FUNNEL
        .iter()
        .map(|(metric, label)| (*label, figure(metric)))
        .collect();
    let goal = community.and_then(|c| c.goals.into_iter().find(|g| i32::from(g.year) == year));
    let goals: Vec<(&'static str, u64, u64)> = match &goal {
        Some(g) => vec![
            ("Placements", u64::from(g.placements), figure("placed")),
            (
                "People trained",
                u64::from(g.people_trained),
                figure("training.completed"),
            ),
            (
                "Job seekers reached",
                u64::from(g.job_seekers_reached),
                figure("outreach.reached"),
            ),
        ],
        None => Vec::new(),
    };
    let (attention, activity) = attention_and_activity(&state, &session).await?;
    let page = DashboardPage {
        chrome: Chrome::signed_in(&state, &session, "Dashboard", "/dashboard"),
        attention,
        activity,
        year,
        funnel_svg: charts::funnel(&funnel)?,
        goals_svg: if goals.is_empty() {
            None
        } else {
            Some(charts::goals(&goals)?)
        },
        funnel,
        goals,
    };
    Ok(render(&page))
}

// ------------------------------------------------------------------------------------
// Candidates
// ------------------------------------------------------------------------------------

/// A candidate as the API shows operators: the record with the personal data beside it.
#[derive(Deserialize)]
pub(crate) struct CandidateItem {
    pub(crate) id: u64,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) stage: Stage,
    pub(crate) profile: Profile,
    #[serde(default)]
    pub(crate) personal: Option<Personal>,
    #[serde(default)]
    pub(crate) stage_history: Vec<StageChange>,
}

impl CandidateItem {
    pub(crate) fn applied_on(&self) -> String {
        self.created_at.format("%-d %b %Y").to_string()
    }

    pub(crate) fn name(&self) -> &str {
        self.personal.as_ref().map_or("", |p| p.name.as_str())
    }

    pub(crate) fn skills(&self) -> String {
        let names: Vec<&str> = self
            .profile
            .skills
            .iter()
            .map(|s| s.skill.as_str())
            .collect();
        names.join(", ")
    }
}

pub(crate) fn stage_label(stage: Stage) -> &'static str {
    match stage {
        Stage::Applied => "Applied",
        Stage::Assessed => "Assessed",
        Stage::Vetted => "Vetted",
        Stage::Matched => "Matched",
        Stage::Introduced => "Introduced",
        Stage::Placed => "Placed",
        Stage::Withdrawn => "Withdrawn",
        Stage::NotHired => "Not hired",
    }
}

/// An answer that a page with no form to show a refusal on cannot do without.
pub(crate) fn ok<T>(answer: Result<T, Refusal>) -> Result<T, UiError> {
    answer.map_err(|r| UiError::internal("a page's own API request was refused", r.reason))
}

// ------------------------------------------------------------------------------------
// Employers
// ------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "employers.html")]
struct EmployersPage {
    chrome: Chrome,
    employers: Vec<Record<Employer>>,
    next_after: Option<u64>,
    added: Option<String>,
}

pub(crate) fn size_label(e: &Employer) -> String {
    serde_json::to_value(e.size_band)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

pub(crate) async fn employers(
    State(state): State<UiState>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, "/employers", OPERATOR)?;
    let page: ListPage<Record<Employer>> = ok(state
        .api
        .get(session.token(), &page_uri("/api/v1/employers", q.after))
        .await?)?;
    let added = match q.added {
        Some(id) => state
            .app
            .store
            .get::<Record<Employer>>(crate::store::Table::Employer, id)?
            .map(|e| e.data.name),
        None => None,
    };
    Ok(render(&EmployersPage {
        chrome: Chrome::signed_in(&state, &session, "Employers", "/employers"),
        employers: page.items,
        next_after: page.next_after,
        added,
    }))
}

const SIZE_BANDS: [(&str, &str); 5] = [
    ("1-9", "1 to 9 people"),
    ("10-49", "10 to 49"),
    ("50-249", "50 to 249"),
    ("250-999", "250 to 999"),
    ("1000+", "1,000 or more"),
];

#[derive(Template)]
#[template(path = "employer_form.html")]
struct EmployerFormPage {
    chrome: Chrome,
    form: FormState,
    sizes: &'static [(&'static str, &'static str)],
}

fn employer_page(
    state: &UiState,
    session: &Session,
    form: FormState,
    status: StatusCode,
) -> Response {
    let mut res = render(&EmployerFormPage {
        chrome: Chrome::signed_in(state, session, "Add an employer", "/employers"),
        form,
        sizes: &SIZE_BANDS,
    });
    *res.status_mut() = status;
    res
}

pub(crate) async fn employer_form(
    State(state): State<UiState>,
    headers: HeaderMap,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, "/employers/new", OPERATOR)?;
    let form = FormState::with(&[("size_band", "10-49")]);
    Ok(employer_page(&state, &session, form, StatusCode::OK))
}

fn employer_body(form: &FormData) -> Result<Value, Refusal> {
    let mut body = json!({
        "name": form.get("name"),
        "industry": form.opt("industry"),
        "size_band": form.get("size_band"),
        "advocate": form.checked("advocate"),
    });
    if let Some(name) = form.opt("contacts[0].name") {
        body["contacts"] = json!([{
            "name": name,
            "email": form.get("contacts[0].email"),
            "phone": form.opt("contacts[0].phone"),
            "title": form.opt("contacts[0].title"),
        }]);
    }
    if let Some(signed_on) = form.opt("commitment.signed_on") {
        body["commitment"] = json!({
            "signed_on": signed_on,
            "interview_non_traditional": form.checked("commitment.interview_non_traditional"),
            "hiring_target": form.number("commitment.hiring_target")?,
        });
    }
    Ok(body)
}

pub(crate) async fn create_employer(
    State(state): State<UiState>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, "/employers/new", OPERATOR)?;
    let form = FormData::new(pairs);
    session.check_csrf(&form)?;
    let answer = match employer_body(&form) {
        Ok(body) => {
            state
                .api
                .send::<Record<Employer>>(
                    Method::POST,
                    Some(session.token()),
                    "/api/v1/employers",
                    &body,
                )
                .await?
        }
        Err(r) => Err(r),
    };
    match answer {
        Ok(created) => Ok(redirect(&format!("/employers?added={}", created.id))),
        Err(r) => Ok(employer_page(
            &state,
            &session,
            form.into_state().refused(r),
            StatusCode::UNPROCESSABLE_ENTITY,
        )),
    }
}

// ------------------------------------------------------------------------------------
// Openings
// ------------------------------------------------------------------------------------

/// Rows of required skills on the opening form.
const REQUIREMENT_ROWS: usize = 5;

const LEVELS: [(&str, &str); 4] = [
    ("beginner", "Beginner"),
    ("intermediate", "Intermediate"),
    ("advanced", "Advanced"),
    ("expert", "Expert"),
];

const REMOTE_POLICIES: [(&str, &str); 3] = [
    ("on_site", "On site"),
    ("hybrid", "Hybrid"),
    ("remote", "Remote"),
];

pub(crate) struct OpeningRow {
    pub(crate) record: Record<Opening>,
    pub(crate) employer: String,
}

impl OpeningRow {
    pub(crate) fn status(&self) -> String {
        serde_json::to_value(self.record.data.status)
            .ok()
            .and_then(|v| v.as_str().map(|s| s.replace('_', " ")))
            .unwrap_or_default()
    }
}

#[derive(Template)]
#[template(path = "openings.html")]
struct OpeningsPage {
    chrome: Chrome,
    /// Employers list their own openings here; adding one is the community team's job.
    is_operator: bool,
    openings: Vec<OpeningRow>,
    next_after: Option<u64>,
}

/// The names of employers, by id, read from the store for labels.
pub(crate) fn employer_name(state: &UiState, id: u64) -> Result<String, UiError> {
    Ok(state
        .app
        .store
        .get::<Record<Employer>>(crate::store::Table::Employer, id)?
        .map(|e| e.data.name)
        .unwrap_or_else(|| format!("Employer {id}")))
}

pub(crate) async fn openings(
    State(state): State<UiState>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, "/openings", OPENING_READERS)?;
    let page: ListPage<Record<Opening>> = ok(state
        .api
        .get(session.token(), &page_uri("/api/v1/openings", q.after))
        .await?)?;
    let mut rows = Vec::with_capacity(page.items.len());
    for record in page.items {
        let employer = employer_name(&state, record.data.employer_id)?;
        rows.push(OpeningRow { record, employer });
    }
    Ok(render(&OpeningsPage {
        chrome: Chrome::signed_in(&state, &session, "Openings", "/openings"),
        is_operator: session.caller.role == Role::Operator,
        openings: rows,
        next_after: page.next_after,
    }))
}

pub(crate) struct RequirementRow {
    pub(crate) number: usize,
    pub(crate) skill: Field,
    pub(crate) level: Field,
}

#[derive(Template)]
#[template(path = "opening_form.html")]
struct OpeningFormPage {
    chrome: Chrome,
    form: FormState,
    employers: Vec<(u64, String)>,
    requirements: Vec<RequirementRow>,
    skill_names: Vec<String>,
    soc_codes: &'static [(&'static str, &'static str)],
    levels: &'static [(&'static str, &'static str)],
    remote: &'static [(&'static str, &'static str)],
}

pub(crate) fn skill_names(taxonomy: &Taxonomy) -> Vec<String> {
    taxonomy.skills().iter().map(|s| s.label.clone()).collect()
}

async fn opening_page(
    state: &UiState,
    session: &Session,
    form: FormState,
    status: StatusCode,
) -> Result<Response, UiError> {
    // An employer adds openings for itself only (the API holds it to that); operators for
    // any employer.
    let employers: Vec<(u64, String)> = match session.caller.employer_id {
        Some(own) if session.caller.role == Role::Employer => {
            vec![(own, employer_name(state, own)?)]
        }
        _ => {
            let page: ListPage<Record<Employer>> = ok(state
                .api
                .get(session.token(), "/api/v1/employers?limit=500")
                .await?)?;
            page.items
                .into_iter()
                .map(|e| (e.id, e.data.name))
                .collect()
        }
    };
    let requirements = (0..REQUIREMENT_ROWS)
        .map(|i| RequirementRow {
            number: i + 1,
            skill: form.field(&format!("required_skills[{i}].skill")),
            level: form.field(&format!("required_skills[{i}].min_level")),
        })
        .collect();
    let mut res = render(&OpeningFormPage {
        chrome: Chrome::signed_in(state, session, "Add an opening", "/openings"),
        employers,
        requirements,
        skill_names: skill_names(&state.app.taxonomy),
        soc_codes: &SOC_CODES,
        levels: &LEVELS,
        remote: &REMOTE_POLICIES,
        form,
    });
    *res.status_mut() = status;
    Ok(res)
}

pub(crate) async fn opening_form(
    State(state): State<UiState>,
    headers: HeaderMap,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, "/openings/new", OPENING_READERS)?;
    let mut defaults: Vec<(String, String)> = vec![
        ("soc_code".into(), "15-1254".into()),
        ("remote".into(), "hybrid".into()),
        ("positions".into(), "1".into()),
    ];
    for i in 0..REQUIREMENT_ROWS {
        defaults.push((
            format!("required_skills[{i}].min_level"),
            "intermediate".into(),
        ));
    }
    let form = FormData::new(defaults).into_state();
    opening_page(&state, &session, form, StatusCode::OK).await
}

fn opening_body(form: &FormData) -> Result<(Value, Vec<usize>), Refusal> {
    let mut rows = Vec::new();
    let mut required = Vec::new();
    for i in 0..REQUIREMENT_ROWS {
        let Some(skill) = form.opt(&format!("required_skills[{i}].skill")) else {
            continue;
        };
        rows.push(i);
        required.push(json!({
            "skill": skill,
            "min_level": form.get(&format!("required_skills[{i}].min_level")),
        }));
    }
    let employer_id = form.number("employer_id")?.ok_or(Refusal {
        field: Some("employer_id".into()),
        reason: "choose the employer".into(),
    })?;
    let body = json!({
        "employer_id": employer_id,
        "title": form.get("title"),
        "soc_code": form.get("soc_code"),
        "description": form.opt("description"),
        "required_skills": required,
        "location": form.opt("location"),
        "remote": form.get("remote"),
        "salary_min_usd": form.number("salary_min_usd")?,
        "salary_max_usd": form.number("salary_max_usd")?,
        "positions": form.number("positions")?.unwrap_or(1),
    });
    Ok((body, rows))
}

pub(crate) async fn create_opening(
    State(state): State<UiState>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, "/openings/new", OPENING_READERS)?;
    let form = FormData::new(pairs);
    session.check_csrf(&form)?;
    let answer = match opening_body(&form) {
        Ok((body, rows)) => state
            .api
            .send::<Record<Opening>>(
                Method::POST,
                Some(session.token()),
                "/api/v1/openings",
                &body,
            )
            .await?
            .map_err(|mut r| {
                r.field = r
                    .field
                    .map(|f| super::form::to_row(&f, "required_skills", &rows).unwrap_or(f));
                r
            }),
        Err(r) => Err(r),
    };
    match answer {
        Ok(created) => Ok(redirect(&format!("/openings/{}", created.id))),
        Err(r) => {
            opening_page(
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
// An opening and its matches
// ------------------------------------------------------------------------------------

/// A page of ranked blind candidates, as the API answers it.
#[derive(Deserialize)]
pub(crate) struct RankedPage {
    pub(crate) total: u64,
    pub(crate) items: Vec<Ranked>,
}

/// One ranked candidate: only the fields the pages show.
#[derive(Deserialize)]
pub(crate) struct Ranked {
    /// The pseudonym (employers) or profile id.
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) candidate_id: Option<u64>,
    pub(crate) home_community: String,
    /// Set for another community's shared profile: what an introduction request names.
    #[serde(default)]
    pub(crate) profile: Option<String>,
    #[serde(default)]
    pub(crate) home_region: Option<String>,
    pub(crate) score: u32,
    pub(crate) explanation: Explanation,
    #[serde(default)]
    pub(crate) skills: Vec<RankedSkill>,
    #[serde(default)]
    pub(crate) vetting: Option<Recommendation>,
    #[serde(default)]
    pub(crate) work_history: Vec<RankedWork>,
    #[serde(default)]
    pub(crate) certificates: Vec<RankedCertificate>,
}

#[derive(Deserialize)]
pub(crate) struct RankedSkill {
    pub(crate) skill: String,
    pub(crate) level: Level,
}

#[derive(Deserialize)]
pub(crate) struct RankedWork {
    pub(crate) title: String,
    pub(crate) months: u32,
}

#[derive(Deserialize)]
pub(crate) struct RankedCertificate {
    pub(crate) name: String,
    pub(crate) issuer: String,
}

/// One line of an explanation: a skill of the opening and how the candidate meets it.
pub(crate) struct FitLine {
    pub(crate) skill: String,
    pub(crate) fit: &'static str,
    /// `good`, `partial` or `missing`, for the badge's colour (with the word beside it).
    pub(crate) tone: &'static str,
}

/// A ranked candidate ready for a page.
pub(crate) struct MatchView {
    pub(crate) ranked: Ranked,
    /// Operators see the name of their own candidates (it is theirs to see).
    pub(crate) name: Option<String>,
    pub(crate) percent: String,
    pub(crate) fits: Vec<FitLine>,
    pub(crate) vetting: &'static str,
    pub(crate) place_form: Option<PlaceForm>,
}

impl MatchView {
    /// The query of the introduction form for this result: the pseudonym of a local
    /// candidate, or the shared profile of another community's.
    pub(crate) fn request_query(&self) -> String {
        let (key, value) = match &self.ranked.profile {
            Some(p) => ("profile", p.as_str()),
            None => ("candidate", self.ranked.id.as_str()),
        };
        let value: String = form_urlencoded::byte_serialize(value.as_bytes()).collect();
        format!("{key}={value}")
    }

    pub(crate) fn skills(&self) -> String {
        let list: Vec<String> = self
            .ranked
            .skills
            .iter()
            .map(|s| format!("{} ({})", s.skill, level_label(&s.level)))
            .collect();
        list.join(", ")
    }

    pub(crate) fn components(&self) -> String {
        let c = &self.ranked.explanation.components;
        format!(
            "required skills {} · nice to have {} · vetting {} · place {}",
            points(c.required),
            points(c.nice_to_have),
            points(c.vetting),
            points(c.place)
        )
    }
}

/// Points out of 10,000 as a percentage with one decimal.
fn points(p: u32) -> String {
    format!("{}.{}", p / 100, (p % 100) / 10)
}

pub(crate) fn level_label(l: &Level) -> &'static str {
    match l {
        Level::Beginner => "beginner",
        Level::Intermediate => "intermediate",
        Level::Advanced => "advanced",
        Level::Expert => "expert",
    }
}

pub(crate) fn recommendation_label(r: Option<Recommendation>) -> &'static str {
    match r {
        None => "Not vetted yet",
        Some(Recommendation::NotYet) => "Not yet",
        Some(Recommendation::Maybe) => "Maybe",
        Some(Recommendation::Recommend) => "Recommended",
        Some(Recommendation::StronglyRecommend) => "Strongly recommended",
    }
}

/// The explanation of a ranked candidate, one line per skill of the opening.
pub(crate) fn view_match(taxonomy: &Taxonomy, ranked: Ranked) -> MatchView {
    let label = |k: &SkillKey| match k {
        SkillKey::Id(id) => taxonomy
            .get(id)
            .map_or_else(|| id.clone(), |s| s.label.clone()),
        SkillKey::Text(t) => t.clone(),
    };
    let fits = ranked
        .explanation
        .required
        .iter()
        .map(|f| {
            let (fit, tone) = match f.fit {
                Fit::Matched => ("meets the level", "good"),
                Fit::Partial => ("one level below", "partial"),
                Fit::BelowLevel => ("below the level", "missing"),
                Fit::Missing => ("missing", "missing"),
            };
            FitLine {
                skill: format!("{} ({}+)", label(&f.skill), level_label(&f.min_level)),
                fit,
                tone,
            }
        })
        .collect();
    MatchView {
        percent: points(ranked.score),
        vetting: recommendation_label(ranked.vetting),
        fits,
        name: None,
        place_form: None,
        ranked,
    }
}

/// The placement form under one match.
pub(crate) struct PlaceForm {
    pub(crate) candidate_id: u64,
    pub(crate) start_date: Field,
    pub(crate) wage: Field,
    /// The training program to credit (the program's "hiring channel" record).
    pub(crate) program: Field,
    /// The introduction from another community this hire came through, if any.
    pub(crate) introduction: Field,
    /// The candidate's accepted introductions from other communities: (id, words), the
    /// first "none". Only one named here credits that community (the API guesses none).
    pub(crate) introductions: Vec<(String, String)>,
    pub(crate) summary: Option<String>,
}

#[derive(Template)]
#[template(path = "opening.html")]
struct OpeningPage {
    chrome: Chrome,
    /// Employers ask for introductions from their opening's matches.
    can_request: bool,
    /// Operators ask on the opening's employer's behalf.
    operator_request: bool,
    /// The programs a placement may credit: (id, name), the first "none".
    programs: Vec<(String, String)>,
    opening: Record<Opening>,
    employer: String,
    remote: String,
    requirements: Vec<String>,
    total: u64,
    matches: Vec<MatchView>,
    placed: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct OpeningQuery {
    placed: Option<u64>,
}

/// The accepted introductions from other communities a placement may name, per local
/// candidate: (id, words) with "none" first. The API credits only an accepted incoming
/// introduction for the same candidate, so only those are offered.
async fn placement_introductions(
    state: &UiState,
    token: &str,
) -> Result<std::collections::BTreeMap<u64, Vec<(String, String)>>, UiError> {
    let (accepted, _) = super::training::all_items::<Record<Introduction>>(
        state,
        token,
        "/api/v1/introductions?status=accepted",
    )
    .await?;
    let mut out: std::collections::BTreeMap<u64, Vec<(String, String)>> =
        std::collections::BTreeMap::new();
    for r in accepted {
        let i = r.data;
        let (Some(cid), Some(remote)) = (i.candidate_id, i.remote.as_ref()) else {
            continue;
        };
        if remote.direction != crate::model::Direction::Incoming {
            continue;
        }
        let employer = remote.employer_name.as_deref().unwrap_or("an employer");
        let mut words = format!("{} — {employer}", remote.community);
        if let Some(t) = &remote.opening_title {
            words.push_str(&format!(", {t}"));
        }
        if let Some(d) = i.decided_at {
            words.push_str(&format!(" (accepted {})", d.format("%-d %b %Y")));
        }
        out.entry(cid)
            .or_insert_with(|| vec![(String::new(), "No, not through an introduction".to_owned())])
            .push((r.id.to_string(), words));
    }
    Ok(out)
}

async fn opening_view(
    state: &UiState,
    session: &Session,
    id: u64,
    placing: Option<(u64, FormState)>,
    placed: Option<u64>,
) -> Result<Response, UiError> {
    let opening: Record<Opening> = ok(state
        .api
        .get(session.token(), &format!("/api/v1/openings/{id}"))
        .await?)?;
    let ranked: RankedPage = ok(state
        .api
        .get(
            session.token(),
            &format!("/api/v1/openings/{id}/matches?limit=20"),
        )
        .await?)?;
    let today = Utc::now().date_naive().to_string();
    let is_operator = session.caller.role == Role::Operator;
    let mut programs = vec![(String::new(), "None".to_owned())];
    if is_operator {
        let (list, _) = super::training::all_items::<Record<crate::model::Program>>(
            state,
            session.token(),
            "/api/v1/programs",
        )
        .await?;
        programs.extend(list.into_iter().map(|p| (p.id.to_string(), p.data.name)));
    }
    let through = if is_operator {
        placement_introductions(state, session.token()).await?
    } else {
        std::collections::BTreeMap::new()
    };
    let mut matches = Vec::with_capacity(ranked.items.len());
    for r in ranked.items {
        let mut view = view_match(&state.app.taxonomy, r);
        if let Some(cid) = view.ranked.candidate_id {
            let personal = state
                .app
                .store
                .get::<Personal>(crate::store::Table::CandidatePersonal, cid)?;
            view.name = personal.map(|p| p.name);
            let form = match &placing {
                Some((c, form)) if *c == cid => form.clone(),
                _ => FormState::with(&[("start_date", &today)]),
            };
            let field = |name: &str| {
                let mut f = form.field(name);
                f.id = format!("{}-{cid}", f.id);
                f
            };
            view.place_form = Some(PlaceForm {
                candidate_id: cid,
                start_date: field("start_date"),
                wage: field("starting_wage_annual_usd"),
                program: field("program_id"),
                introduction: field("introduction_id"),
                introductions: through.get(&cid).cloned().unwrap_or_default(),
                summary: form
                    .summary()
                    .filter(|_| form.summary_field().is_none())
                    .map(str::to_owned),
            });
        }
        matches.push(view);
    }
    let requirements = opening
        .data
        .required_skills
        .iter()
        .map(|r| format!("{} ({}+)", r.skill, level_label(&r.min_level)))
        .collect();
    let remote = serde_json::to_value(opening.data.remote)
        .ok()
        .and_then(|v| v.as_str().map(|s| s.replace('_', " ")))
        .unwrap_or_default();
    // The person just placed may have left the ranking (placed candidates are not matched).
    let placed = match placed {
        Some(c) => Some(
            state
                .app
                .store
                .get::<Personal>(crate::store::Table::CandidatePersonal, c)?
                .map_or_else(|| format!("candidate {c}"), |p| p.name),
        ),
        None => None,
    };
    let status = if placing.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut res = render(&OpeningPage {
        chrome: Chrome::signed_in(state, session, &opening.data.title, "/openings"),
        can_request: session.caller.role == Role::Employer,
        operator_request: is_operator,
        programs,
        employer: employer_name(state, opening.data.employer_id)?,
        remote,
        requirements,
        total: ranked.total,
        matches,
        placed,
        opening,
    });
    *res.status_mut() = status;
    Ok(res)
}

pub(crate) async fn opening(
    State(state): State<UiState>,
    headers: HeaderMap,
    Path(id): Path<u64>,
    Query(q): Query<OpeningQuery>,
) -> Result<Response, UiError> {
    let session = Session::require(
        &state,
        &headers,
        &format!("/openings/{id}"),
        OPENING_READERS,
    )?;
    opening_view(&state, &session, id, None, q.placed).await
}

pub(crate) async fn place(
    State(state): State<UiState>,
    headers: HeaderMap,
    Path(id): Path<u64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, &format!("/openings/{id}"), OPERATOR)?;
    let form = FormData::new(pairs);
    session.check_csrf(&form)?;
    let opening: Record<Opening> = ok(state
        .api
        .get(session.token(), &format!("/api/v1/openings/{id}"))
        .await?)?;
    let candidate_id = match form.number("candidate_id") {
        Ok(Some(c)) => c,
        _ => return Err(UiError::NotFound),
    };
    let numbers = form
        .number("starting_wage_annual_usd")
        .and_then(|wage| Ok((wage, form.number("program_id")?)))
        .and_then(|(wage, program)| Ok((wage, program, form.number("introduction_id")?)));
    let answer = match numbers {
        Ok((wage, program, introduction)) => {
            let body = json!({
                "candidate_id": candidate_id,
                "employer_id": opening.data.employer_id,
                "opening_id": id,
                "start_date": form.get("start_date"),
                "starting_wage_annual_usd": wage.unwrap_or(0),
                "soc_code": opening.data.soc_code,
                "program_id": program,
                "introduction_id": introduction,
            });
            state
                .api
                .send::<Value>(
                    Method::POST,
                    Some(session.token()),
                    "/api/v1/placements",
                    &body,
                )
                .await?
        }
        Err(r) => Err(r),
    };
    match answer {
        Ok(_) => Ok(redirect(&format!("/openings/{id}?placed={candidate_id}"))),
        Err(r) => {
            let kept = form.into_state().refused(r);
            opening_view(&state, &session, id, Some((candidate_id, kept)), None).await
        }
    }
}
