//! Training providers and their programs (list, add, edit), and each program's placement
//! record: the "hiring channel" it is, read from the placements that name it.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use super::api::Refusal;
use super::form::{FormData, FormState};
use super::operator::{employer_name, ok, ListPage};
use super::session::{redirect, Session};
use super::{render, Chrome, UiError, UiState};
use crate::auth::Role;
use crate::model::{Placement, Program, Provider, Record, RetentionQuarter};
use crate::skills::SOC_CODES;

/// Providers, programs and placements are the community team's records (the API's rule).
const OPERATOR: &[Role] = &[Role::Operator];

/// Pages of 500 read for a list that a page shows whole (programs, a program's placements).
const SCAN_PAGES: usize = 20;

/// Every item of an API list route (`base` without paging parameters), up to
/// [`SCAN_PAGES`] pages; the flag says whether there was more.
pub(crate) async fn all_items<T: DeserializeOwned>(
    state: &UiState,
    token: &str,
    base: &str,
) -> Result<(Vec<T>, bool), UiError> {
    let sep = if base.contains('?') { '&' } else { '?' };
    let mut out = Vec::new();
    let mut after: Option<u64> = None;
    for _ in 0..SCAN_PAGES {
        let uri = match after {
            Some(a) => format!("{base}{sep}limit=500&after={a}"),
            None => format!("{base}{sep}limit=500"),
        };
        let page: ListPage<T> = ok(state.api.get(token, &uri).await?)?;
        out.extend(page.items);
        match page.next_after {
            Some(a) => after = Some(a),
            None => return Ok((out, false)),
        }
    }
    Ok((out, true))
}

const PROVIDER_KINDS: [(&str, &str); 7] = [
    ("bootcamp", "Bootcamp"),
    ("community_college", "Community college"),
    ("online", "Online"),
    ("apprenticeship", "Apprenticeship"),
    ("university", "University"),
    ("non_profit", "Non-profit"),
    ("other", "Other"),
];

const DELIVERY: [(&str, &str); 2] = [("live", "Live teaching"), ("self_paced", "Self-paced")];

const SCHEDULE: [(&str, &str); 2] = [("part_time", "Part time"), ("full_time", "Full time")];

/// The words for a serde enum value, from the option lists the forms use.
fn label_of<T: serde::Serialize>(value: &T, options: &[(&str, &'static str)]) -> &'static str {
    let key = serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    options
        .iter()
        .find(|(k, _)| *k == key)
        .map_or("", |(_, label)| *label)
}

// ------------------------------------------------------------------------------------
// The list
// ------------------------------------------------------------------------------------

pub(crate) struct ProviderView {
    pub(crate) record: Record<Provider>,
    pub(crate) kind: &'static str,
    pub(crate) programs: Vec<ProgramRow>,
}

pub(crate) struct ProgramRow {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) skills: String,
    pub(crate) weeks: u16,
    pub(crate) placements: usize,
}

#[derive(Template)]
#[template(path = "providers.html")]
struct ProvidersPage {
    chrome: Chrome,
    providers: Vec<ProviderView>,
    notice: Option<String>,
    more: bool,
}

#[derive(Debug, Deserialize)]
pub(crate) struct NoticeQuery {
    saved: Option<String>,
}

fn skills_text(p: &Program) -> String {
    let names: Vec<&str> = p.skills_taught.iter().map(|s| s.skill.as_str()).collect();
    names.join(", ")
}

pub(crate) async fn providers(
    State(state): State<UiState>,
    headers: HeaderMap,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, "/providers", OPERATOR)?;
    let token = session.token();
    let (providers, more_p) =
        all_items::<Record<Provider>>(&state, token, "/api/v1/providers").await?;
    let (programs, more_g) =
        all_items::<Record<Program>>(&state, token, "/api/v1/programs").await?;
    let (placements, more_l) =
        all_items::<Record<Placement>>(&state, token, "/api/v1/placements").await?;
    let mut per_program: BTreeMap<u64, usize> = BTreeMap::new();
    for p in &placements {
        if let Some(g) = p.data.program_id {
            *per_program.entry(g).or_default() += 1;
        }
    }
    let mut views: Vec<ProviderView> = providers
        .into_iter()
        .map(|record| ProviderView {
            kind: label_of(&record.data.kind, &PROVIDER_KINDS),
            record,
            programs: Vec::new(),
        })
        .collect();
    for g in programs {
        if let Some(v) = views.iter_mut().find(|v| v.record.id == g.data.provider_id) {
            v.programs.push(ProgramRow {
                id: g.id,
                skills: skills_text(&g.data),
                weeks: g.data.length_weeks,
                placements: per_program.get(&g.id).copied().unwrap_or(0),
                name: g.data.name,
            });
        }
    }
    let notice = q.saved.map(|what| match what.as_str() {
        "provider" => "The training provider is saved.".to_owned(),
        "program-removed" => "The program is removed.".to_owned(),
        _ => "Saved.".to_owned(),
    });
    Ok(render(&ProvidersPage {
        chrome: Chrome::signed_in(&state, &session, "Training", "/providers"),
        providers: views,
        notice,
        more: more_p || more_g || more_l,
    }))
}

// ------------------------------------------------------------------------------------
// A provider's form
// ------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "provider_form.html")]
struct ProviderFormPage {
    chrome: Chrome,
    form: FormState,
    /// `None` when adding.
    id: Option<u64>,
    action: String,
    kinds: &'static [(&'static str, &'static str)],
}

fn provider_page(
    state: &UiState,
    session: &Session,
    id: Option<u64>,
    form: FormState,
    status: StatusCode,
) -> Response {
    let title = if id.is_some() {
        "Edit a training provider"
    } else {
        "Add a training provider"
    };
    let mut res = render(&ProviderFormPage {
        chrome: Chrome::signed_in(state, session, title, "/providers"),
        action: id.map_or_else(
            || "/providers/new".to_owned(),
            |i| format!("/providers/{i}/edit"),
        ),
        id,
        form,
        kinds: &PROVIDER_KINDS,
    });
    *res.status_mut() = status;
    res
}

pub(crate) async fn provider_new(
    State(state): State<UiState>,
    headers: HeaderMap,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, "/providers/new", OPERATOR)?;
    let form = FormState::with(&[("kind", "bootcamp")]);
    Ok(provider_page(&state, &session, None, form, StatusCode::OK))
}

pub(crate) async fn provider_edit(
    State(state): State<UiState>,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> Result<Response, UiError> {
    let path = format!("/providers/{id}/edit");
    let session = Session::require(&state, &headers, &path, OPERATOR)?;
    let p: Record<Provider> = ok(state
        .api
        .get(session.token(), &format!("/api/v1/providers/{id}"))
        .await?)?;
    let kind = serde_json::to_value(p.data.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let form = FormState::with(&[
        ("name", &p.data.name),
        ("kind", &kind),
        ("website", p.data.website.as_deref().unwrap_or("")),
        ("city", p.data.city.as_deref().unwrap_or("")),
    ]);
    Ok(provider_page(
        &state,
        &session,
        Some(id),
        form,
        StatusCode::OK,
    ))
}

fn provider_body(form: &FormData) -> Value {
    json!({
        "name": form.get("name"),
        "kind": form.get("kind"),
        "website": form.opt("website"),
        "city": form.opt("city"),
    })
}

/// `POST /providers/new` and `POST /providers/{id}/edit`.
async fn save_provider(
    state: UiState,
    headers: HeaderMap,
    id: Option<u64>,
    pairs: Vec<(String, String)>,
) -> Result<Response, UiError> {
    let path = id.map_or_else(
        || "/providers/new".to_owned(),
        |i| format!("/providers/{i}/edit"),
    );
    let session = Session::require(&state, &headers, &path, OPERATOR)?;
    let form = FormData::new(pairs);
    session.check_csrf(&form)?;
    let (method, uri) = match id {
        Some(i) => (Method::PUT, format!("/api/v1/providers/{i}")),
        None => (Method::POST, "/api/v1/providers".to_owned()),
    };
    let answer = state
        .api
        .send::<Record<Provider>>(method, Some(session.token()), &uri, &provider_body(&form))
        .await?;
    match answer {
        Ok(_) => Ok(redirect("/providers?saved=provider")),
        Err(r) => Ok(provider_page(
            &state,
            &session,
            id,
            form.into_state().refused(r),
            StatusCode::UNPROCESSABLE_ENTITY,
        )),
    }
}

pub(crate) async fn provider_create(
    State(state): State<UiState>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    save_provider(state, headers, None, pairs).await
}

pub(crate) async fn provider_update(
    State(state): State<UiState>,
    headers: HeaderMap,
    Path(id): Path<u64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    save_provider(state, headers, Some(id), pairs).await
}

// ------------------------------------------------------------------------------------
// A program's form
// ------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "program_form.html")]
struct ProgramFormPage {
    chrome: Chrome,
    form: FormState,
    id: Option<u64>,
    action: String,
    providers: Vec<(String, String)>,
    delivery: &'static [(&'static str, &'static str)],
    schedule: &'static [(&'static str, &'static str)],
}

async fn program_page(
    state: &UiState,
    session: &Session,
    id: Option<u64>,
    form: FormState,
    status: StatusCode,
) -> Result<Response, UiError> {
    let (providers, _) =
        all_items::<Record<Provider>>(state, session.token(), "/api/v1/providers").await?;
    let title = if id.is_some() {
        "Edit a program"
    } else {
        "Add a program"
    };
    let mut res = render(&ProgramFormPage {
        chrome: Chrome::signed_in(state, session, title, "/providers"),
        action: id.map_or_else(
            || "/programs/new".to_owned(),
            |i| format!("/programs/{i}/edit"),
        ),
        id,
        form,
        providers: providers
            .into_iter()
            .map(|p| (p.id.to_string(), p.data.name))
            .collect(),
        delivery: &DELIVERY,
        schedule: &SCHEDULE,
    });
    *res.status_mut() = status;
    Ok(res)
}

#[derive(Debug, Deserialize)]
pub(crate) struct NewProgramQuery {
    provider_id: Option<u64>,
}

pub(crate) async fn program_new(
    State(state): State<UiState>,
    headers: HeaderMap,
    Query(q): Query<NewProgramQuery>,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, "/programs/new", OPERATOR)?;
    let provider = q.provider_id.map(|p| p.to_string()).unwrap_or_default();
    let form = FormState::with(&[
        ("provider_id", &provider),
        ("delivery", "live"),
        ("schedule", "part_time"),
        ("tuition_usd", "0"),
    ]);
    program_page(&state, &session, None, form, StatusCode::OK).await
}

fn enum_text<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

pub(crate) async fn program_edit(
    State(state): State<UiState>,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> Result<Response, UiError> {
    let path = format!("/programs/{id}/edit");
    let session = Session::require(&state, &headers, &path, OPERATOR)?;
    let g: Record<Program> = ok(state
        .api
        .get(session.token(), &format!("/api/v1/programs/{id}"))
        .await?)?;
    let d = &g.data;
    let numbers = [
        d.provider_id.to_string(),
        d.yearly_enrolment.to_string(),
        d.yearly_completion.to_string(),
        d.length_weeks.to_string(),
        d.tuition_usd.to_string(),
    ];
    let skills = skills_text(d);
    let (delivery, schedule) = (enum_text(&d.delivery), enum_text(&d.schedule));
    let mut values: Vec<(&str, &str)> = vec![
        ("provider_id", &numbers[0]),
        ("name", &d.name),
        ("skills_taught", &skills),
        ("yearly_enrolment", &numbers[1]),
        ("yearly_completion", &numbers[2]),
        (
            "admissions_criteria",
            d.admissions_criteria.as_deref().unwrap_or(""),
        ),
        ("delivery", &delivery),
        ("length_weeks", &numbers[3]),
        ("schedule", &schedule),
        ("tuition_usd", &numbers[4]),
        ("credential", d.credential.as_deref().unwrap_or("")),
    ];
    if d.public_funding {
        values.push(("public_funding", "yes"));
    }
    if d.scholarships {
        values.push(("scholarships", "yes"));
    }
    let form = FormState::with(&values);
    program_page(&state, &session, Some(id), form, StatusCode::OK).await
}

/// The API's body for a program form. Skills are typed as one comma-separated list.
fn program_body(form: &FormData) -> Result<Value, Refusal> {
    let required = |name: &str, what: &str| -> Result<u64, Refusal> {
        form.number(name)?.ok_or_else(|| Refusal {
            field: Some(name.to_owned()),
            reason: format!("enter {what}"),
        })
    };
    let provider_id = form.number("provider_id")?.ok_or(Refusal {
        field: Some("provider_id".into()),
        reason: "choose the training provider".into(),
    })?;
    let skills: Vec<&str> = form
        .get("skills_taught")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    Ok(json!({
        "provider_id": provider_id,
        "name": form.get("name"),
        "skills_taught": skills,
        "yearly_enrolment": required("yearly_enrolment", "how many people enrol in a year")?,
        "yearly_completion": required("yearly_completion", "how many people complete it in a year")?,
        "admissions_criteria": form.opt("admissions_criteria"),
        "delivery": form.get("delivery"),
        "length_weeks": required("length_weeks", "its length in weeks")?,
        "schedule": form.get("schedule"),
        "tuition_usd": form.number("tuition_usd")?.unwrap_or(0),
        "public_funding": form.checked("public_funding"),
        "scholarships": form.checked("scholarships"),
        "credential": form.opt("credential"),
    }))
}

async fn save_program(
    state: UiState,
    headers: HeaderMap,
    id: Option<u64>,
    pairs: Vec<(String, String)>,
) -> Result<Response, UiError> {
    let path = id.map_or_else(
        || "/programs/new".to_owned(),
        |i| format!("/programs/{i}/edit"),
    );
    let session = Session::require(&state, &headers, &path, OPERATOR)?;
    let form = FormData::new(pairs);
    session.check_csrf(&form)?;
    let (method, uri) = match id {
        Some(i) => (Method::PUT, format!("/api/v1/programs/{i}")),
        None => (Method::POST, "/api/v1/programs".to_owned()),
    };
    let answer = match program_body(&form) {
        Ok(body) => state
            .api
            .send::<Record<Program>>(method, Some(session.token()), &uri, &body)
            .await?
            // The skills are one input: a refusal of any of them (`skills_taught[2].skill`)
            // belongs there.
            .map_err(|mut r| {
                if r.field
                    .as_deref()
                    .is_some_and(|f| f.starts_with("skills_taught"))
                {
                    r.field = Some("skills_taught".into());
                }
                r
            }),
        Err(r) => Err(r),
    };
    match answer {
        Ok(saved) => Ok(redirect(&format!("/programs/{}", saved.id))),
        Err(r) => {
            program_page(
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

pub(crate) async fn program_create(
    State(state): State<UiState>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    save_program(state, headers, None, pairs).await
}

pub(crate) async fn program_update(
    State(state): State<UiState>,
    headers: HeaderMap,
    Path(id): Path<u64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    save_program(state, headers, Some(id), pairs).await
}

// ------------------------------------------------------------------------------------
// A program and its placement record
// ------------------------------------------------------------------------------------

/// One line of a breakdown: a label and how many placements.
pub(crate) struct Count {
    pub(crate) label: String,
    pub(crate) placements: usize,
}

/// A retention quarter's result: of the placements checked, how many were employed.
pub(crate) struct Retention {
    pub(crate) quarter: &'static str,
    pub(crate) checked: usize,
    pub(crate) employed: usize,
    pub(crate) same_employer: usize,
}

impl Retention {
    pub(crate) fn rate(&self) -> String {
        (self.employed * 100)
            .checked_div(self.checked)
            .map_or_else(|| "—".to_owned(), |pct| format!("{pct}%"))
    }
}

/// The hiring channel: what the placements naming a program add up to.
pub(crate) struct Channel {
    pub(crate) placements: usize,
    pub(crate) median_wage: Option<u32>,
    pub(crate) by_soc: Vec<Count>,
    pub(crate) by_employer: Vec<Count>,
    pub(crate) retention: Vec<Retention>,
    pub(crate) rows: Vec<PlacementLine>,
}

pub(crate) struct PlacementLine {
    pub(crate) candidate_id: u64,
    pub(crate) candidate: String,
    pub(crate) employer: String,
    pub(crate) start: String,
    pub(crate) wage: String,
}

/// The median of a list of wages; of an even count, the mean of the two middle values.
pub(crate) fn median(values: &mut [u32]) -> Option<u32> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        ((u64::from(values[mid - 1]) + u64::from(values[mid])) / 2) as u32
    })
}

/// [`dollars`] for templates, which pass values by reference.
pub(crate) fn usd(n: &u32) -> String {
    dollars(*n)
}

pub(crate) fn dollars(n: u32) -> String {
    let digits = n.to_string();
    let mut out = String::from("$");
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn soc_label(code: &str) -> String {
    SOC_CODES
        .iter()
        .find(|(c, _)| *c == code)
        .map_or_else(|| code.to_owned(), |(c, t)| format!("{t} ({c})"))
}

/// Counts by label, most first.
fn tally(labels: impl Iterator<Item = String>) -> Vec<Count> {
    let mut map: BTreeMap<String, usize> = BTreeMap::new();
    for l in labels {
        *map.entry(l).or_default() += 1;
    }
    let mut out: Vec<Count> = map
        .into_iter()
        .map(|(label, placements)| Count { label, placements })
        .collect();
    out.sort_by_key(|c| std::cmp::Reverse(c.placements));
    out
}

/// What the placements of one program add up to; `names` labels candidates and employers.
pub(crate) fn channel(
    placements: &[Record<Placement>],
    candidate: impl Fn(u64) -> String,
    employer: impl Fn(u64) -> String,
) -> Channel {
    let mut wages: Vec<u32> = placements
        .iter()
        .map(|p| p.data.starting_wage_annual_usd)
        .collect();
    let retention = [
        (RetentionQuarter::Q2, "2nd quarter"),
        (RetentionQuarter::Q4, "4th quarter"),
    ]
    .into_iter()
    .map(|(q, quarter)| {
        let checks: Vec<_> = placements
            .iter()
            .filter_map(|p| p.data.retention.iter().find(|r| r.quarter == q))
            .collect();
        Retention {
            quarter,
            checked: checks.len(),
            employed: checks.iter().filter(|c| c.employed).count(),
            same_employer: checks
                .iter()
                .filter(|c| c.employed && c.same_employer)
                .count(),
        }
    })
    .collect();
    Channel {
        placements: placements.len(),
        median_wage: median(&mut wages),
        by_soc: tally(placements.iter().map(|p| soc_label(&p.data.soc_code))),
        by_employer: tally(placements.iter().map(|p| employer(p.data.employer_id))),
        retention,
        rows: placements
            .iter()
            .map(|p| PlacementLine {
                candidate_id: p.data.candidate_id,
                candidate: candidate(p.data.candidate_id),
                employer: employer(p.data.employer_id),
                start: p.data.start_date.format("%-d %b %Y").to_string(),
                wage: dollars(p.data.starting_wage_annual_usd),
            })
            .collect(),
    }
}

#[derive(Template)]
#[template(path = "program.html")]
struct ProgramPage {
    chrome: Chrome,
    program: Record<Program>,
    provider: String,
    delivery: &'static str,
    schedule: &'static str,
    skills: String,
    channel: Channel,
    more: bool,
    /// The remove form, after a refusal (box not ticked, or placements name the program).
    remove_form: FormState,
}

pub(crate) async fn program(
    State(state): State<UiState>,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, &format!("/programs/{id}"), OPERATOR)?;
    program_view(&state, &session, id, FormState::default()).await
}

/// `POST /programs/{id}/remove`: the API's `DELETE`, which refuses while placements name
/// the program (their hiring-channel record would lose it). The "yes" box must be ticked.
pub(crate) async fn program_remove(
    State(state): State<UiState>,
    headers: HeaderMap,
    Path(id): Path<u64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, &format!("/programs/{id}"), OPERATOR)?;
    let form = FormData::new(pairs);
    session.check_csrf(&form)?;
    let refused = |reason: String| {
        FormState::default().refused(Refusal {
            field: None,
            reason,
        })
    };
    if form.get("confirm") != "yes" {
        let kept = refused("Tick the box to confirm the removal.".to_owned());
        return program_view(&state, &session, id, kept).await;
    }
    let answer = state
        .api
        .send::<Value>(
            Method::DELETE,
            Some(session.token()),
            &format!("/api/v1/programs/{id}"),
            &Value::Null,
        )
        .await?;
    match answer {
        Ok(_) => Ok(redirect("/providers?saved=program-removed")),
        Err(r) => program_view(&state, &session, id, refused(r.reason)).await,
    }
}

async fn program_view(
    state: &UiState,
    session: &Session,
    id: u64,
    remove_form: FormState,
) -> Result<Response, UiError> {
    let token = session.token();
    let program: Record<Program> = ok(state
        .api
        .get(token, &format!("/api/v1/programs/{id}"))
        .await?)?;
    let provider: Record<Provider> = ok(state
        .api
        .get(
            token,
            &format!("/api/v1/providers/{}", program.data.provider_id),
        )
        .await?)?;
    let (placements, more) = all_items::<Record<Placement>>(
        state,
        token,
        &format!("/api/v1/placements?program_id={id}"),
    )
    .await?;
    let names = super::placements::candidate_names(state, &placements)?;
    let mut employers: BTreeMap<u64, String> = BTreeMap::new();
    for p in &placements {
        if let std::collections::btree_map::Entry::Vacant(e) = employers.entry(p.data.employer_id) {
            e.insert(employer_name(state, p.data.employer_id)?);
        }
    }
    let channel = channel(
        &placements,
        |c| {
            names
                .get(&c)
                .cloned()
                .unwrap_or_else(|| format!("Candidate {c}"))
        },
        |e| {
            employers
                .get(&e)
                .cloned()
                .unwrap_or_else(|| format!("Employer {e}"))
        },
    );
    let status = if remove_form.summary().is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut res = render(&ProgramPage {
        chrome: Chrome::signed_in(state, session, &program.data.name, "/providers"),
        provider: provider.data.name,
        delivery: label_of(&program.data.delivery, &DELIVERY),
        schedule: label_of(&program.data.schedule, &SCHEDULE),
        skills: skills_text(&program.data),
        channel,
        more,
        program,
        remove_form,
    });
    *res.status_mut() = status;
    Ok(res)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::RetentionCheck;

    fn placement(employer: u64, soc: &str, wage: u32, q2: Option<bool>) -> Record<Placement> {
        let now = chrono::Utc::now();
        Record {
            id: 1,
            created_at: now,
            updated_at: now,
            data: Placement {
                candidate_id: 7,
                employer_id: employer,
                opening_id: None,
                start_date: chrono::NaiveDate::from_ymd_opt(2025, 1, 6).unwrap(),
                starting_wage_annual_usd: wage,
                soc_code: soc.into(),
                program_id: Some(1),
                retention: q2
                    .map(|employed| RetentionCheck {
                        quarter: RetentionQuarter::Q2,
                        checked_on: chrono::NaiveDate::from_ymd_opt(2025, 5, 1).unwrap(),
                        employed,
                        same_employer: employed,
                    })
                    .into_iter()
                    .collect(),
                introduction_id: None,
            },
        }
    }

    #[test]
    fn a_channel_adds_up_its_placements() {
        let list = [
            placement(1, "15-1254", 50_000, Some(true)),
            placement(1, "15-1254", 40_000, Some(false)),
            placement(2, "15-1232", 61_000, None),
        ];
        let c = channel(&list, |c| format!("c{c}"), |e| format!("e{e}"));
        assert_eq!(c.placements, 3);
        assert_eq!(c.median_wage, Some(50_000));
        assert_eq!(c.by_employer[0].label, "e1");
        assert_eq!(c.by_employer[0].placements, 2);
        assert!(
            c.by_soc[0].label.contains("15-1254"),
            "{}",
            c.by_soc[0].label
        );
        assert_eq!((c.retention[0].checked, c.retention[0].employed), (2, 1));
        assert_eq!(c.retention[0].rate(), "50%");
        assert_eq!(
            c.retention[1].rate(),
            "—",
            "nobody checked in the 4th quarter"
        );
    }

    #[test]
    fn medians_and_dollars() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3, 1, 2]), Some(2));
        assert_eq!(median(&mut [40_000, 50_000]), Some(45_000));
        assert_eq!(dollars(52_000), "$52,000");
        assert_eq!(dollars(999), "$999");
    }
}
