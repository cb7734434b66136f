//! The operator's records of results: placements with their retention check-ins, outreach
//! (how many job seekers were reached, by channel) and the year's goals.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use chrono::{Datelike, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use super::api::Refusal;
use super::form::{Field, FormData, FormState};
use super::operator::{employer_name, ok};
use super::session::{redirect, Session};
use super::training::{all_items, dollars};
use super::{render, Chrome, UiError, UiState};
use crate::auth::Role;
use crate::model::{
    Community, Outreach, Personal, Placement, Program, Record, RetentionQuarter, YearlyGoal,
};

const OPERATOR: &[Role] = &[Role::Operator];

/// The names of the placed candidates, read from the store: the API serves them only with
/// each whole candidate record, and operators may see them.
pub(crate) fn candidate_names(
    state: &UiState,
    placements: &[Record<Placement>],
) -> Result<BTreeMap<u64, String>, UiError> {
    let mut names = BTreeMap::new();
    for p in placements {
        let id = p.data.candidate_id;
        if names.contains_key(&id) {
            continue;
        }
        let personal = state
            .app
            .store
            .get::<Personal>(crate::store::Table::CandidatePersonal, id)?;
        names.insert(
            id,
            personal.map_or_else(|| format!("Candidate {id}"), |p| p.name),
        );
    }
    Ok(names)
}

// ------------------------------------------------------------------------------------
// Placements and retention
// ------------------------------------------------------------------------------------

/// The check-in form under a placement: the quarters not yet checked.
pub(crate) struct CheckInForm {
    pub(crate) quarters: &'static [(&'static str, &'static str)],
    pub(crate) quarter: Field,
    pub(crate) checked_on: Field,
    pub(crate) employed: Field,
    pub(crate) same_employer: Field,
    /// A refusal that names no field of the form.
    pub(crate) summary: Option<String>,
}

pub(crate) struct PlacementRow {
    pub(crate) id: u64,
    pub(crate) candidate_id: u64,
    pub(crate) candidate: String,
    pub(crate) employer: String,
    pub(crate) program: Option<(u64, String)>,
    pub(crate) start: String,
    pub(crate) wage: String,
    /// Per quarter: the label and what the check found, if it was made.
    pub(crate) checks: Vec<(&'static str, Option<String>)>,
    pub(crate) check_in: Option<CheckInForm>,
}

#[derive(Template)]
#[template(path = "placements.html")]
struct PlacementsPage {
    chrome: Chrome,
    rows: Vec<PlacementRow>,
    notice: Option<String>,
    more: bool,
}

#[derive(Debug, Deserialize)]
pub(crate) struct PlacementsQuery {
    checked: Option<u64>,
}

const OPEN_BOTH: [(&str, &str); 2] = [("q2", "2nd quarter"), ("q4", "4th quarter")];
const OPEN_Q2: [(&str, &str); 1] = [("q2", "2nd quarter")];
const OPEN_Q4: [(&str, &str); 1] = [("q4", "4th quarter")];

const QUARTERS: [(RetentionQuarter, &str); 2] = [
    (RetentionQuarter::Q2, "2nd quarter"),
    (RetentionQuarter::Q4, "4th quarter"),
];

/// The placements page; `kept` is a refused check-in: which placement, and its form.
async fn placements_view(
    state: &UiState,
    session: &Session,
    kept: Option<(u64, FormState)>,
    notice: Option<String>,
) -> Result<Response, UiError> {
    let token = session.token();
    let (mut placements, more) =
        all_items::<Record<Placement>>(state, token, "/api/v1/placements").await?;
    // Newest first: the ones whose check-ins come due soonest are the recent ones.
    placements.reverse();
    let (programs, _) = all_items::<Record<Program>>(state, token, "/api/v1/programs").await?;
    let programs: BTreeMap<u64, String> =
        programs.into_iter().map(|p| (p.id, p.data.name)).collect();
    let names = candidate_names(state, &placements)?;
    let today = Utc::now().date_naive().to_string();
    let mut rows = Vec::with_capacity(placements.len());
    for p in placements {
        let d = &p.data;
        let checks = QUARTERS
            .iter()
            .map(|(q, label)| {
                let found = d.retention.iter().find(|r| r.quarter == *q).map(|r| {
                    let what = match (r.employed, r.same_employer) {
                        (true, true) => "employed, same employer",
                        (true, false) => "employed elsewhere",
                        (false, _) => "not employed",
                    };
                    format!("{what} ({})", r.checked_on.format("%-d %b %Y"))
                });
                (*label, found)
            })
            .collect();
        let done = |q: RetentionQuarter| d.retention.iter().any(|r| r.quarter == q);
        // The quarters still to check, as the select's options.
        let open: &'static [(&'static str, &'static str)] =
            match (done(RetentionQuarter::Q2), done(RetentionQuarter::Q4)) {
                (false, false) => &OPEN_BOTH,
                (false, true) => &OPEN_Q2,
                (true, false) => &OPEN_Q4,
                (true, true) => &[],
            };
        let check_in = if open.is_empty() {
            None
        } else {
            let form = match &kept {
                Some((id, form)) if *id == p.id => form.clone(),
                _ => FormState::with(&[
                    ("quarter", open[0].0),
                    ("checked_on", &today),
                    ("employed", "yes"),
                    ("same_employer", "yes"),
                ]),
            };
            // Ids unique per placement: the page has one form per placement.
            let field = |name: &str| {
                let mut f = form.field(name);
                f.id = format!("{}-{}", f.id, p.id);
                f
            };
            Some(CheckInForm {
                quarters: open,
                quarter: field("quarter"),
                checked_on: field("checked_on"),
                employed: field("employed"),
                same_employer: field("same_employer"),
                summary: form
                    .summary()
                    .filter(|_| form.summary_field().is_none())
                    .map(str::to_owned),
            })
        };
        rows.push(PlacementRow {
            id: p.id,
            candidate_id: d.candidate_id,
            candidate: names
                .get(&d.candidate_id)
                .cloned()
                .unwrap_or_else(|| format!("Candidate {}", d.candidate_id)),
            employer: employer_name(state, d.employer_id)?,
            program: d.program_id.map(|g| {
                (
                    g,
                    programs
                        .get(&g)
                        .cloned()
                        .unwrap_or_else(|| format!("Program {g}")),
                )
            }),
            start: d.start_date.format("%-d %b %Y").to_string(),
            wage: dollars(d.starting_wage_annual_usd),
            checks,
            check_in,
        });
    }
    let status = if kept.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut res = render(&PlacementsPage {
        chrome: Chrome::signed_in(state, session, "Placements", "/placements"),
        rows,
        notice,
        more,
    });
    *res.status_mut() = status;
    Ok(res)
}

pub(crate) async fn placements(
    State(state): State<UiState>,
    headers: HeaderMap,
    Query(q): Query<PlacementsQuery>,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, "/placements", OPERATOR)?;
    let notice = match q.checked {
        Some(id) => {
            let p = state
                .app
                .store
                .get::<Record<Placement>>(crate::store::Table::Placement, id)?;
            let names = candidate_names(&state, p.as_slice())?;
            names
                .into_values()
                .next()
                .map(|n| format!("The check-in for {n} is recorded."))
        }
        None => None,
    };
    placements_view(&state, &session, None, notice).await
}

/// `POST /placements/{id}/retention`: a 2nd- or 4th-quarter check-in.
pub(crate) async fn check_in(
    State(state): State<UiState>,
    headers: HeaderMap,
    Path(id): Path<u64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, "/placements", OPERATOR)?;
    let form = FormData::new(pairs);
    session.check_csrf(&form)?;
    let quarter = match form.get("quarter") {
        "q2" | "q4" => form.get("quarter"),
        _ => {
            let refusal = Refusal {
                field: Some("quarter".into()),
                reason: "choose the quarter".into(),
            };
            let kept = form.into_state().refused(refusal);
            return placements_view(&state, &session, Some((id, kept)), None).await;
        }
    };
    let body = json!({
        "quarter": quarter,
        "checked_on": form.get("checked_on"),
        "employed": form.checked("employed"),
        // Someone not employed is not with the same employer, whatever the box says.
        "same_employer": form.checked("employed") && form.checked("same_employer"),
    });
    let answer = state
        .api
        .send::<Value>(
            Method::POST,
            Some(session.token()),
            &format!("/api/v1/placements/{id}/retention"),
            &body,
        )
        .await?;
    match answer {
        Ok(_) => Ok(redirect(&format!("/placements?checked={id}"))),
        Err(r) => {
            let kept = form.into_state().refused(r);
            placements_view(&state, &session, Some((id, kept)), None).await
        }
    }
}

// ------------------------------------------------------------------------------------
// Outreach
// ------------------------------------------------------------------------------------

const CHANNELS: [(&str, &str); 8] = [
    ("event", "Event"),
    ("social_media", "Social media"),
    ("referral", "Referral"),
    ("community_partner", "Community partner"),
    ("american_job_center", "American Job Center"),
    ("library", "Library"),
    ("radio", "Radio"),
    ("other", "Other"),
];

pub(crate) struct OutreachRow {
    pub(crate) channel: &'static str,
    pub(crate) period: String,
    pub(crate) reached: u32,
    pub(crate) notes: String,
}

#[derive(Template)]
#[template(path = "outreach.html")]
struct OutreachPage {
    chrome: Chrome,
    rows: Vec<OutreachRow>,
    total: u64,
    form: FormState,
    channels: &'static [(&'static str, &'static str)],
    notice: bool,
    more: bool,
}

#[derive(Debug, Deserialize)]
pub(crate) struct OutreachQuery {
    added: Option<u64>,
}

fn channel_label(o: &Outreach) -> &'static str {
    let key = serde_json::to_value(o.channel)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    CHANNELS
        .iter()
        .find(|(k, _)| *k == key)
        .map_or("Other", |(_, l)| *l)
}

/// The outreach page: the records, newest first, with the form to add one beside them.
async fn outreach_view(
    state: &UiState,
    session: &Session,
    form: FormState,
    notice: bool,
    status: StatusCode,
) -> Result<Response, UiError> {
    let (mut records, more) =
        all_items::<Record<Outreach>>(state, session.token(), "/api/v1/outreach").await?;
    records.sort_by_key(|r| std::cmp::Reverse(r.data.period_start));
    let total = records
        .iter()
        .map(|r| u64::from(r.data.job_seekers_reached))
        .sum();
    let rows = records
        .iter()
        .map(|r| OutreachRow {
            channel: channel_label(&r.data),
            period: format!(
                "{} – {}",
                r.data.period_start.format("%-d %b %Y"),
                r.data.period_end.format("%-d %b %Y")
            ),
            reached: r.data.job_seekers_reached,
            notes: r.data.notes.clone().unwrap_or_default(),
        })
        .collect();
    let mut res = render(&OutreachPage {
        chrome: Chrome::signed_in(state, session, "Outreach", "/outreach"),
        rows,
        total,
        form,
        channels: &CHANNELS,
        notice,
        more,
    });
    *res.status_mut() = status;
    Ok(res)
}

pub(crate) async fn outreach(
    State(state): State<UiState>,
    headers: HeaderMap,
    Query(q): Query<OutreachQuery>,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, "/outreach", OPERATOR)?;
    let today = Utc::now().date_naive();
    let first = today.with_day(1).unwrap_or(today).to_string();
    let form = FormState::with(&[
        ("channel", "event"),
        ("period_start", &first),
        ("period_end", &today.to_string()),
    ]);
    outreach_view(&state, &session, form, q.added.is_some(), StatusCode::OK).await
}

pub(crate) async fn add_outreach(
    State(state): State<UiState>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, "/outreach", OPERATOR)?;
    let form = FormData::new(pairs);
    session.check_csrf(&form)?;
    let answer = match form.number("job_seekers_reached") {
        Ok(reached) => {
            let body = json!({
                "channel": form.get("channel"),
                "period_start": form.get("period_start"),
                "period_end": form.get("period_end"),
                "job_seekers_reached": reached.unwrap_or(0),
                "notes": form.opt("notes"),
            });
            state
                .api
                .send::<Record<Outreach>>(
                    Method::POST,
                    Some(session.token()),
                    "/api/v1/outreach",
                    &body,
                )
                .await?
        }
        Err(r) => Err(r),
    };
    match answer {
        Ok(created) => Ok(redirect(&format!("/outreach?added={}", created.id))),
        Err(r) => {
            outreach_view(
                &state,
                &session,
                form.into_state().refused(r),
                false,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

// ------------------------------------------------------------------------------------
// Goals
// ------------------------------------------------------------------------------------

/// Rows of segment goals the form offers at least (a community sets a few, for the groups
/// it serves most; one more empty row than those set).
const SEGMENT_ROWS: usize = 3;

/// The segments a goal may be for, as the API names them, with their words; the first
/// is "none" (an empty row).
const SEGMENTS: [(&str, &str); 10] = [
    ("", "—"),
    ("veteran", "Veterans"),
    ("opportunity_youth", "Opportunity youth"),
    ("long_term_unemployed", "Long-term unemployed"),
    ("disability", "People with disabilities"),
    ("justice_involved", "Justice-involved people"),
    ("english_learner", "English learners"),
    ("low_income", "Low-income people"),
    ("rural_resident", "Rural residents"),
    ("other", "Other"),
];

const GOAL_METRICS: [(&str, &str); 3] = [
    ("placements", "Placements"),
    ("people_trained", "People trained"),
    ("job_seekers_reached", "Job seekers reached"),
];

/// One row of segment goal inputs.
pub(crate) struct SegmentRow {
    pub(crate) number: usize,
    pub(crate) segment: Field,
    pub(crate) metric: Field,
    pub(crate) target: Field,
}

#[derive(Template)]
#[template(path = "goals.html")]
struct GoalsPage {
    chrome: Chrome,
    segment_rows: Vec<SegmentRow>,
    segments: &'static [(&'static str, &'static str)],
    goal_metrics: &'static [(&'static str, &'static str)],
    form: FormState,
    /// Every year's goals already set, newest first.
    years: Vec<YearlyGoal>,
    saved: Option<u16>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct GoalsQuery {
    year: Option<u16>,
    saved: Option<u16>,
}

async fn goals_view(
    state: &UiState,
    session: &Session,
    community: &Community,
    form: FormState,
    saved: Option<u16>,
    status: StatusCode,
) -> Result<Response, UiError> {
    let mut years = community.goals.clone();
    years.sort_by_key(|g| std::cmp::Reverse(g.year));
    // Every segment goal set, and at least one empty row to add another.
    let set = (0..)
        .take_while(|i| {
            !form
                .value(&format!("segment_goals[{i}].segment"))
                .is_empty()
        })
        .count();
    let segment_rows = (0..SEGMENT_ROWS.max(set + 1))
        .map(|i| {
            let name = |part: &str| format!("segment_goals[{i}].{part}");
            SegmentRow {
                number: i + 1,
                segment: form.field(&name("segment")),
                metric: form.field(&name("metric")),
                target: form.field(&name("target")),
            }
        })
        .collect();
    let mut res = render(&GoalsPage {
        chrome: Chrome::signed_in(state, session, "Goals", "/goals"),
        segment_rows,
        segments: &SEGMENTS,
        goal_metrics: &GOAL_METRICS,
        form,
        years,
        saved,
    });
    *res.status_mut() = status;
    Ok(res)
}

pub(crate) async fn goals(
    State(state): State<UiState>,
    headers: HeaderMap,
    Query(q): Query<GoalsQuery>,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, "/goals", OPERATOR)?;
    let community: Community = ok(state.api.get(session.token(), "/api/v1/community").await?)?;
    let year = q
        .year
        .or(q.saved)
        .unwrap_or_else(|| u16::try_from(Utc::now().year()).unwrap_or(2026));
    let goal = community.goals.iter().find(|g| g.year == year);
    let n = |f: fn(&YearlyGoal) -> u32| goal.map(|g| f(g).to_string()).unwrap_or_default();
    let values = [
        year.to_string(),
        n(|g| g.placements),
        n(|g| g.people_trained),
        n(|g| g.job_seekers_reached),
    ];
    let mut pairs: Vec<(String, String)> = [
        "year",
        "placements",
        "people_trained",
        "job_seekers_reached",
    ]
    .into_iter()
    .zip(values)
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for (i, s) in goal
        .map(|g| g.segment_goals.as_slice())
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        pairs.push((format!("segment_goals[{i}].segment"), wire(&s.segment)));
        pairs.push((format!("segment_goals[{i}].metric"), wire(&s.metric)));
        pairs.push((format!("segment_goals[{i}].target"), s.target.to_string()));
    }
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let form = FormState::with(&refs);
    goals_view(&state, &session, &community, form, q.saved, StatusCode::OK).await
}

/// A value as the API writes it (`veteran`, `people_trained`).
fn wire<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The segment goal rows of the goals form that are filled in, as the API takes them; a
/// row with a segment needs its target (the API checks the rest).
fn segment_goals(form: &FormData) -> Result<Vec<Value>, Refusal> {
    let mut out = Vec::new();
    for i in 0..50 {
        let name = |part: &str| format!("segment_goals[{i}].{part}");
        let segment = form.get(&name("segment"));
        if segment.is_empty() {
            if form.get(&name("target")).is_empty() {
                continue;
            }
            return Err(Refusal {
                field: Some(name("segment")),
                reason: "choose the group this target is for".to_owned(),
            });
        }
        out.push(json!({
            "segment": segment,
            "metric": form.get(&name("metric")),
            "target": goal_number(form, &name("target"))?,
        }));
    }
    Ok(out)
}

/// A whole number a goal needs, or a refusal naming its field.
fn goal_number(form: &FormData, name: &str) -> Result<u64, Refusal> {
    form.number(name)?.ok_or_else(|| Refusal {
        field: Some(name.to_owned()),
        reason: "enter a whole number (0 if there is no goal for this)".to_owned(),
    })
}

/// `POST /goals`: sets one year's goals and segment goals, keeping the other years',
/// through `PUT /api/v1/community` (which replaces the whole record).
pub(crate) async fn set_goals(
    State(state): State<UiState>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let session = Session::require(&state, &headers, "/goals", OPERATOR)?;
    let form = FormData::new(pairs);
    session.check_csrf(&form)?;
    let community: Community = ok(state.api.get(session.token(), "/api/v1/community").await?)?;
    let parsed = (|| {
        let year = goal_number(&form, "year")?;
        let year = u16::try_from(year).map_err(|_| Refusal {
            field: Some("year".into()),
            reason: "must be between 2000 and 2100".into(),
        })?;
        Ok::<_, Refusal>((
            year,
            goal_number(&form, "placements")?,
            goal_number(&form, "people_trained")?,
            goal_number(&form, "job_seekers_reached")?,
            segment_goals(&form)?,
        ))
    })();
    let answer = match parsed {
        Ok((year, placements, trained, reached, segments)) => {
            let mut body = serde_json::to_value(&community)
                .map_err(|e| UiError::internal("the community record as JSON", e))?;
            let mut goals: Vec<Value> = community
                .goals
                .iter()
                .filter(|g| g.year != year)
                .map(serde_json::to_value)
                .collect::<Result<_, _>>()
                .map_err(|e| UiError::internal("a goal as JSON", e))?;
            goals.push(json!({
                "year": year,
                "placements": placements,
                "people_trained": trained,
                "job_seekers_reached": reached,
                "segment_goals": segments,
            }));
            let index = goals.len() - 1;
            body["goals"] = Value::Array(goals);
            state
                .api
                .send::<Community>(
                    Method::PUT,
                    Some(session.token()),
                    "/api/v1/community",
                    &body,
                )
                .await?
                // `goals[N].placements` is this form's `placements` (N is the year just
                // added, the last); a refusal of another year's goals keeps its path.
                .map(|_| year)
                .map_err(|mut r| {
                    let prefix = format!("goals[{index}].");
                    if let Some(f) = r.field.as_deref().and_then(|f| f.strip_prefix(&prefix)) {
                        r.field = Some(f.to_owned());
                    }
                    r
                })
        }
        Err(r) => Err(r),
    };
    match answer {
        Ok(year) => Ok(redirect(&format!("/goals?saved={year}"))),
        Err(r) => {
            goals_view(
                &state,
                &session,
                &community,
                form.into_state().refused(r),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}
