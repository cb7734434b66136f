//! Employer search and matches: blind, ranked, explained and audited.
//!
//! `GET /api/v1/search/candidates` finds candidates holding every listed skill;
//! `GET /api/v1/openings/{id}/matches` ranks candidates for an opening;
//! `GET /api/v1/candidates/{id}/openings` ranks open openings for a candidate. Results about
//! candidates are *blind* ([`BlindCandidate`]): a pseudonym made for the caller, and the
//! candidate's skills, evidence, training, certificates, projects and work titles; never a
//! name, contact, address, segments, age or the local id (operators see the local id too).
//!
//! Results include the shared profiles of other member nodes that this node holds, ranked
//! with the local candidates by the same score (`index/remote.rs`); each result names its
//! home community, and a remote one its profile id (what an introduction request names) and
//! home node, with the blind fields its shared profile carries (read back from the feed).
//!
//! Every page of candidates shown to an employer is written to the audit
//! ([`model::Shown`]: local ids, and remote profile ids) and made durable before the page is
//! sent; `GET /api/v1/search/audit` lets the operator read it per opening, employer or
//! candidate.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Json};
use chrono::{Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ApiResult};
use super::extract::{parse_query, split_paging, ApiPath, RawQuery};
use super::{blocking, page_json, AppState, Route, OPERATOR, OPERATOR_EMPLOYER};
use techhire_protocol::{RecordKind, SharedProfile};

use crate::auth::{Caller, Role};
use crate::federation;
use crate::index::{
    self, CandidateIndex, Hit, RemoteKey, Results, Search, SkillFilter, Subject, MAX_SEARCH_SKILLS,
};
use crate::matching::{self, Demand, Explanation, SkillKey, Supply};
use crate::model::{
    self, Assessment, Candidate, Community, Evidence, Level, Opening, OpeningStatus, Program,
    Provider, Recommendation, Record, RemotePreference, Shown, ShownFilter,
};
use crate::pseudonym::Audience;
use crate::skills::{Match, Taxonomy};
use crate::store::{Store, Table, MAX_SCAN};

/// Default and largest page of ranked results.
const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 100;
/// Ranked results are paged by position; past this depth, refine the search instead.
const MAX_DEPTH: usize = 1_000;

pub(super) fn routes() -> Vec<Route> {
    vec![
        Route::new(
            Method::GET,
            "/api/v1/search/candidates",
            OPERATOR_EMPLOYER,
            "search",
            "Blind search: candidates holding every listed skill, ranked, with explanations",
            get(search_candidates),
        )
        .query::<SearchQuery>(),
        Route::new(
            Method::GET,
            "/api/v1/openings/{id}/matches",
            OPERATOR_EMPLOYER,
            "search",
            "Blind, ranked candidates for an opening (employers: their own openings)",
            get(opening_matches),
        )
        .query::<PageQuery>(),
        Route::new(
            Method::GET,
            "/api/v1/candidates/{id}/openings",
            OPERATOR,
            "search",
            "Open openings ranked for a candidate, with explanations",
            get(candidate_openings),
        )
        .query::<PageQuery>(),
        Route::new(
            Method::GET,
            "/api/v1/search/audit",
            OPERATOR,
            "search",
            "Which candidates were shown to which employer, per opening or search (paged)",
            get(audit),
        )
        .query::<ShownFilter>(),
    ]
}

/// The query of `GET /api/v1/search/candidates`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(super) struct SearchQuery {
    /// Comma-separated skills, each a taxonomy id or a name (normalised as everywhere),
    /// optionally with a minimum level after a colon: `python:advanced,sql,react`.
    /// 1 to 20 skills; a candidate must hold every one at or above its level.
    skills: Option<String>,
    /// The weakest evidence accepted for the listed skills: `self_reported`, `project`,
    /// `work_experience`, `certificate` or `assessment`.
    evidence: Option<Evidence>,
    /// Only candidates open to remote work, ranked for a remote job.
    remote: Option<bool>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    limit: Option<usize>,
    /// Results to skip, for the next page (at most 1,000 deep).
    #[param(minimum = 0, maximum = 999, default = 0)]
    offset: Option<usize>,
}

/// Paging of a ranked list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(super) struct PageQuery {
    #[param(minimum = 1, maximum = 100, default = 20)]
    limit: Option<usize>,
    #[param(minimum = 0, maximum = 999, default = 0)]
    offset: Option<usize>,
}

/// Where a page of ranked results starts and how long it is.
#[derive(Debug, Clone, Copy)]
struct Window {
    offset: usize,
    limit: usize,
}

impl Window {
    fn new(limit: Option<usize>, offset: Option<usize>) -> ApiResult<Window> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::bad_query(
                Some("limit".into()),
                format!("must be a whole number from 1 to {MAX_LIMIT}"),
            ));
        }
        let offset = offset.unwrap_or(0);
        // Checked: a huge offset would wrap in a release build (and panic in a debug one).
        if offset
            .checked_add(limit)
            .is_none_or(|depth| depth > MAX_DEPTH)
        {
            return Err(ApiError::bad_query(
                Some("offset".into()),
                format!(
                    "offset + limit may be at most {MAX_DEPTH}; narrow the search to see further"
                ),
            ));
        }
        Ok(Window { offset, limit })
    }

    fn depth(self) -> usize {
        self.offset + self.limit
    }
}

/// A ranked page of blind candidates.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct CandidatePage {
    /// How many candidates qualified in all (not only on this page).
    pub(super) total: u64,
    pub(super) offset: usize,
    pub(super) limit: usize,
    pub(super) items: Vec<BlindCandidate>,
}

/// A candidate as an employer sees them: no name, contact, address, segments, age or
/// local id. Either a candidate of this community or, with `profile` set, a shared profile
/// of another member node.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct BlindCandidate {
    /// For a candidate of this community, a pseudonym made for the caller; give it to
    /// request an introduction. For a remote profile, its profile id (as in `profile`).
    pub(super) id: String,
    /// The local candidate id, for operators only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) candidate_id: Option<u64>,
    /// A remote profile's id (32 hex digits): what an introduction request names. Absent
    /// for a candidate of this community.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) profile: Option<String>,
    /// The key of a remote profile's home node. Absent for a candidate of this community.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) home_node: Option<String>,
    /// The community the candidate belongs to: this one, or a remote profile's.
    pub(super) home_community: String,
    /// That community's region, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) home_region: Option<String>,
    /// 0 to 10,000; see docs/matching.md.
    pub(super) score: u32,
    pub(super) explanation: Explanation,
    pub(super) skills: Vec<BlindSkill>,
    pub(super) assessments: Vec<BlindAssessment>,
    pub(super) vetting: Option<Recommendation>,
    pub(super) training: Option<BlindTraining>,
    pub(super) certificates: Vec<BlindCertificate>,
    pub(super) projects: Vec<BlindProject>,
    pub(super) work_history: Vec<BlindWork>,
    pub(super) desired_roles: Vec<String>,
    pub(super) remote_preference: RemotePreference,
    pub(super) willing_to_relocate: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub(super) struct BlindSkill {
    pub(super) skill: String,
    pub(super) skill_id: Option<String>,
    pub(super) level: Level,
    pub(super) evidence: Evidence,
}

#[derive(Debug, Serialize, ToSchema)]
pub(super) struct BlindAssessment {
    pub(super) skill: String,
    pub(super) instrument: String,
    /// The score as a share of the maximum, in percent.
    pub(super) percent: u32,
    pub(super) year: i32,
}

#[derive(Debug, Serialize, ToSchema)]
pub(super) struct BlindTraining {
    pub(super) program: String,
    pub(super) provider: String,
    pub(super) credential: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(super) struct BlindCertificate {
    pub(super) name: String,
    pub(super) issuer: String,
    pub(super) year: Option<i32>,
}

/// A project without its link, which could lead to the person.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct BlindProject {
    pub(super) name: String,
    pub(super) description: Option<String>,
    pub(super) skills: Vec<String>,
}

/// A job title and how long it was held; not the employer, which could identify.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct BlindWork {
    pub(super) title: String,
    /// Whole months, up to today for a current job.
    pub(super) months: u32,
}

/// Turns the `skills` parameter into filters; every error names the entry at fault.
fn parse_skills(taxonomy: &Taxonomy, raw: Option<&str>) -> ApiResult<Vec<SkillFilter>> {
    let field = |i: usize| Some(format!("skills[{i}]"));
    let raw = raw.map(str::trim).unwrap_or_default();
    if raw.is_empty() {
        return Err(ApiError::bad_query(
            Some("skills".into()),
            "name at least one skill, e.g. skills=python:intermediate,sql",
        ));
    }
    let entries: Vec<&str> = raw.split(',').collect();
    if entries.len() > MAX_SEARCH_SKILLS {
        return Err(ApiError::bad_query(
            Some("skills".into()),
            format!("at most {MAX_SEARCH_SKILLS} skills"),
        ));
    }
    let mut out: Vec<SkillFilter> = Vec::with_capacity(entries.len());
    for (i, entry) in entries.into_iter().enumerate() {
        let (name, level) = match entry.rsplit_once(':') {
            Some((name, level)) => (name.trim(), Some(level.trim())),
            None => (entry.trim(), None),
        };
        if name.is_empty() || name.chars().count() > 100 {
            return Err(ApiError::bad_query(
                field(i),
                "each skill must be 1 to 100 characters",
            ));
        }
        let min_level = match level {
            None => Level::Beginner,
            Some(l) => parse_level(l).ok_or_else(|| {
                ApiError::bad_query(
                    field(i),
                    format!("unknown level {l:?}; use beginner, intermediate, advanced or expert"),
                )
            })?,
        };
        let id = match taxonomy.get(name) {
            Some(skill) => skill.id.clone(),
            None => match taxonomy.normalise(name) {
                Match::Known { id, .. } => id,
                Match::Unknown(_) => {
                    return Err(ApiError::bad_query(
                        field(i),
                        format!(
                            "unknown skill {name:?}; find its id with GET /api/v1/skills?q={}",
                            form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>()
                        ),
                    ))
                }
            },
        };
        let skill = SkillKey::Id(id);
        if out.iter().any(|f| f.skill == skill) {
            return Err(ApiError::bad_query(
                field(i),
                format!("{name:?} is listed twice"),
            ));
        }
        out.push(SkillFilter { skill, min_level });
    }
    Ok(out)
}

fn parse_level(text: &str) -> Option<Level> {
    serde_json::from_value(serde_json::Value::String(text.to_ascii_lowercase())).ok()
}

async fn search_candidates(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<CandidatePage>> {
    let q: SearchQuery = parse_query(&query)?;
    let window = Window::new(q.limit, q.offset)?;
    let search = Search {
        skills: parse_skills(&state.taxonomy, q.skills.as_deref())?,
        min_evidence: q.evidence,
        remote: q.remote.unwrap_or(false),
    };
    answer(state, caller, window, None, Some(query), move |index| {
        index.search(&search, window.depth())
    })
    .await
}

async fn opening_matches(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<u64>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<CandidatePage>> {
    let q: PageQuery = parse_query(&query)?;
    let window = Window::new(q.limit, q.offset)?;
    let opening = match state.store.get::<Record<Opening>>(Table::Opening, id)? {
        // Another employer's opening answers as if it did not exist.
        Some(o)
            if caller.role != Role::Employer || caller.employer_id == Some(o.data.employer_id) =>
        {
            o
        }
        _ => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                Some("id".into()),
                format!("no opening with id {id} that you may match against"),
            ))
        }
    };
    let demand = Demand::from_opening_in(&state.taxonomy, &opening.data);
    answer(state, caller, window, Some(id), None, move |index| {
        index.matches(&demand, window.depth())
    })
    .await
}

/// Runs `rank` on the index and builds the blind page (one trip to a blocking thread for
/// both), writes the audit entry for an employer, and answers.
async fn answer(
    state: AppState,
    caller: Caller,
    window: Window,
    opening_id: Option<u64>,
    query: Option<String>,
    rank: impl FnOnce(&CandidateIndex) -> Results + Send + 'static,
) -> ApiResult<Json<CandidatePage>> {
    let audience = match (caller.role, caller.employer_id) {
        (Role::Employer, Some(e)) => Audience::Employer(e),
        (Role::Operator, _) => Audience::Operator,
        _ => {
            return Err(ApiError::forbidden(
                None,
                "this role may not search candidates",
            ))
        }
    };
    let (total, items) = {
        let state = state.clone();
        blocking(move || {
            let Results { total, hits } = rank(&state.index);
            let hits: Vec<Hit> = hits.into_iter().skip(window.offset).collect();
            Ok((total, blind_page(&state, audience, hits)?))
        })
        .await?
    };
    if let Audience::Employer(employer_id) = audience {
        if !items.is_empty() {
            let shown: Vec<u64> = items.iter().filter_map(|b| b.candidate_id).collect();
            let profiles: Vec<String> = items.iter().filter_map(|b| b.profile.clone()).collect();
            state
                .store
                .commit(|tx| {
                    model::stage_shown(
                        tx,
                        Utc::now(),
                        employer_id,
                        opening_id,
                        query,
                        shown,
                        profiles,
                    )
                })
                .await?;
        }
    }
    let items = items
        .into_iter()
        .map(|mut b| {
            if audience != Audience::Operator {
                b.candidate_id = None;
            }
            b
        })
        .collect();
    Ok(Json(CandidatePage {
        total,
        offset: window.offset,
        limit: window.limit,
        items,
    }))
}

/// The blind view of each hit. Carries the local id for the audit; [`answer`] removes it
/// before an employer sees the page.
fn blind_page(
    state: &AppState,
    audience: Audience,
    hits: Vec<Hit>,
) -> ApiResult<Vec<BlindCandidate>> {
    let mut training: HashMap<u64, Option<BlindTraining>> = HashMap::new();
    let today = Utc::now().date_naive();
    let now_ms = federation::now_ms();
    let community = state.store.get_meta::<Community>("community")?;
    let (home_community, home_region) = match community {
        Some(c) => (c.name, c.region),
        None => (String::new(), None),
    };
    let mut out = Vec::with_capacity(hits.len());
    for hit in hits {
        let id = match hit.subject {
            Subject::Local(id) => id,
            Subject::Remote(key) => {
                // A profile superseded, withdrawn or expired since the query ran is left
                // out, like a deleted candidate.
                if let Some(view) = hit
                    .seq
                    .map(|seq| remote_profile(&state.store, &key, seq, now_ms))
                    .transpose()?
                    .flatten()
                {
                    out.push(blind_remote(&state.taxonomy, &key, view, hit.found));
                }
                continue;
            }
        };
        // A candidate deleted since the query ran is simply left out.
        let Some(record) = state.store.get::<Record<Candidate>>(Table::Candidate, id)? else {
            continue;
        };
        let profile = &record.data.profile;
        let assessments = assessments_of(&state.store, id)?;
        let program = match profile.program_id {
            Some(p) => match training.get(&p) {
                Some(t) => t.as_ref().map(BlindTraining::clone_view),
                None => {
                    let t = training_of(&state.store, p)?;
                    let view = t.as_ref().map(BlindTraining::clone_view);
                    training.insert(p, t);
                    view
                }
            },
            None => None,
        };
        out.push(BlindCandidate {
            id: state.pseudonyms.encode(audience, id),
            candidate_id: Some(id),
            profile: None,
            home_node: None,
            home_community: home_community.clone(),
            home_region: home_region.clone(),
            score: hit.found.score,
            vetting: hit.found.explanation.vetting.recommendation,
            explanation: hit.found.explanation,
            skills: profile
                .skills
                .iter()
                .map(|c| BlindSkill {
                    skill: c.skill.clone(),
                    skill_id: c.skill_id.clone(),
                    level: c.level,
                    evidence: c.evidence,
                })
                .collect(),
            assessments: assessments
                .iter()
                .map(|a| BlindAssessment {
                    skill: a.skill.clone(),
                    instrument: a.instrument.clone(),
                    percent: percent(a.score, a.max_score),
                    year: a.taken_on.year(),
                })
                .collect(),
            training: program,
            certificates: profile
                .certificates
                .iter()
                .map(|c| BlindCertificate {
                    name: c.name.clone(),
                    issuer: c.issuer.clone(),
                    year: c.issued_on.map(|d| d.year()),
                })
                .collect(),
            projects: profile
                .projects
                .iter()
                .map(|p| BlindProject {
                    name: p.name.clone(),
                    description: p.description.clone(),
                    skills: p.skills.iter().map(|s| s.skill.clone()).collect(),
                })
                .collect(),
            work_history: profile
                .work_history
                .iter()
                .map(|w| BlindWork {
                    title: w.title.clone(),
                    months: months_between(w.start, w.end.unwrap_or(today)),
                })
                .collect(),
            desired_roles: profile.desired_roles.clone(),
            remote_preference: profile.remote_preference,
            willing_to_relocate: profile.willing_to_relocate,
        });
    }
    Ok(out)
}

/// The shared profile `key` as record `seq` of its origin's feed holds it; `None` if the
/// feed no longer holds that record (a later version or the tombstone replaced it) or its
/// consent has ended by `now_ms`.
fn remote_profile(
    store: &Store,
    key: &RemoteKey,
    seq: u64,
    now_ms: u64,
) -> ApiResult<Option<SharedProfile>> {
    let found = federation::fetch(store, &key.origin, seq.saturating_sub(1), 1)?;
    let Some(record) = found
        .into_iter()
        .next()
        .filter(|r| r.seq() == seq && r.kind() == RecordKind::PROFILE)
    else {
        return Ok(None);
    };
    match SharedProfile::decode(record.payload()) {
        Ok(p) if p.id == key.profile && p.expires_at_ms > now_ms => Ok(Some(p)),
        Ok(_) => Ok(None),
        Err(e) => {
            // It was verified and decoded when stored and when indexed: say so, show the
            // rest of the page.
            tracing::error!(origin = %key.origin, seq, error = %e,
                "a stored shared profile no longer decodes");
            Ok(None)
        }
    }
}

/// A remote profile's blind view: what its shared profile carries (no vetting, no
/// credential, assessments as a percent), skills named by this node's taxonomy where it
/// knows the id.
fn blind_remote(
    taxonomy: &Taxonomy,
    key: &RemoteKey,
    p: SharedProfile,
    found: matching::Match,
) -> BlindCandidate {
    let name = |id: &str| {
        taxonomy
            .get(id)
            .map_or_else(|| id.to_owned(), |s| s.label.clone())
    };
    let profile_id = key.profile.to_string();
    BlindCandidate {
        id: profile_id.clone(),
        candidate_id: None,
        profile: Some(profile_id),
        home_node: Some(key.origin.to_string()),
        home_community: p.home_community,
        home_region: Some(p.home_region),
        score: found.score,
        vetting: None,
        explanation: found.explanation,
        skills: p
            .skills
            .iter()
            .filter_map(|s| {
                Some(BlindSkill {
                    skill: name(&s.skill_id),
                    skill_id: Some(s.skill_id.clone()),
                    level: index::level_of(s.level)?,
                    evidence: index::evidence_of(s.evidence)?,
                })
            })
            .collect(),
        assessments: p
            .assessments
            .iter()
            .map(|a| BlindAssessment {
                skill: name(&a.skill_id),
                instrument: a.instrument.clone(),
                percent: u32::from(a.percent),
                year: i32::from(a.year),
            })
            .collect(),
        training: p.training.map(|t| BlindTraining {
            program: t.program,
            provider: t.provider,
            credential: None,
        }),
        certificates: p
            .certificates
            .into_iter()
            .map(|c| BlindCertificate {
                name: c.name,
                issuer: c.issuer,
                year: c.year.map(i32::from),
            })
            .collect(),
        projects: p
            .projects
            .into_iter()
            .map(|pr| BlindProject {
                name: pr.name,
                description: (!pr.description.is_empty()).then_some(pr.description),
                skills: pr.skills.iter().map(|s| name(s)).collect(),
            })
            .collect(),
        work_history: p
            .work
            .into_iter()
            .map(|w| BlindWork {
                title: w.title,
                months: u32::from(w.months),
            })
            .collect(),
        desired_roles: p.desired_roles,
        remote_preference: index::remote_of(p.remote),
        willing_to_relocate: p.relocate,
    }
}

impl BlindTraining {
    fn clone_view(&self) -> BlindTraining {
        BlindTraining {
            program: self.program.clone(),
            provider: self.provider.clone(),
            credential: self.credential.clone(),
        }
    }
}

fn assessments_of(store: &Store, candidate: u64) -> ApiResult<Vec<Assessment>> {
    let mut out = Vec::new();
    for (table, id) in store.referrers(Table::Candidate, candidate)? {
        if table == Table::Assessment {
            out.extend(store.get::<Record<Assessment>>(table, id)?.map(|r| r.data));
        }
    }
    Ok(out)
}

fn training_of(store: &Store, program_id: u64) -> ApiResult<Option<BlindTraining>> {
    let Some(program) = store.get::<Record<Program>>(Table::Program, program_id)? else {
        return Ok(None);
    };
    let provider = store
        .get::<Record<Provider>>(Table::Provider, program.data.provider_id)?
        .map(|p| p.data.name)
        .unwrap_or_default();
    Ok(Some(BlindTraining {
        program: program.data.name,
        provider,
        credential: program.data.credential,
    }))
}

fn percent(score: u32, max: u32) -> u32 {
    if max == 0 {
        0
    } else {
        u32::try_from(u64::from(score) * 100 / u64::from(max)).unwrap_or(100)
    }
}

fn months_between(start: NaiveDate, end: NaiveDate) -> u32 {
    let months = (end.year() - start.year()) * 12 + end.month() as i32 - start.month() as i32;
    u32::try_from(months).unwrap_or(0)
}

/// One opening ranked for a candidate.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct OpeningMatch {
    pub(super) opening_id: u64,
    pub(super) employer_id: u64,
    pub(super) title: String,
    pub(super) soc_code: String,
    pub(super) score: u32,
    pub(super) explanation: Explanation,
}

/// A ranked page of openings.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct OpeningPage {
    /// Open openings considered.
    pub(super) total: u64,
    pub(super) offset: usize,
    pub(super) limit: usize,
    pub(super) items: Vec<OpeningMatch>,
}

async fn candidate_openings(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<u64>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<OpeningPage>> {
    let q: PageQuery = parse_query(&query)?;
    let window = Window::new(q.limit, q.offset)?;
    let page = blocking(move || {
        let Some(indexed) = index::load(&state.store, &state.taxonomy, id)? else {
            return Err(ApiError::not_found("candidate", id));
        };
        rank_openings(&state, &indexed.supply, window)
    })
    .await?;
    Ok(Json(page))
}

/// Ranks every open opening for `supply`. Openings are few (thousands, not millions), so
/// they are read and scored directly rather than indexed.
fn rank_openings(state: &AppState, supply: &Supply, window: Window) -> ApiResult<OpeningPage> {
    let mut openings: HashMap<u64, Opening> = HashMap::new();
    for item in state.store.scan::<Record<Opening>>(Table::Opening) {
        let (id, record) = item?;
        if record.data.status == OpeningStatus::Open {
            openings.insert(id, record.data);
        }
    }
    let demands: Vec<(u64, Demand)> = openings
        .iter()
        .map(|(id, o)| (*id, Demand::from_opening_in(&state.taxonomy, o)))
        .collect();
    let ranked = matching::rank_openings(supply, demands, window.depth());
    let items = ranked
        .into_iter()
        .skip(window.offset)
        .filter_map(|(id, found)| {
            let o = openings.get(&id)?;
            Some(OpeningMatch {
                opening_id: id,
                employer_id: o.employer_id,
                title: o.title.clone(),
                soc_code: o.soc_code.clone(),
                score: found.score,
                explanation: found.explanation,
            })
        })
        .collect();
    Ok(OpeningPage {
        total: openings.len() as u64,
        offset: window.offset,
        limit: window.limit,
        items,
    })
}

/// The audit, newest last. With `opening_id` it reads that opening's entries through the
/// by-opening index; otherwise it scans entries in id order (short pages possible, as on
/// every list).
async fn audit(State(state): State<AppState>, RawQuery(query): RawQuery) -> ApiResult<Response> {
    let (paging, rest) = split_paging(&query)?;
    let filter: ShownFilter = parse_query(&rest)?;
    let page = blocking(move || {
        let store = &state.store;
        if let Some(opening) = filter.opening_id {
            let after = paging.after.map(|a| model::shown_index_name(opening, a));
            let ids = store.index_range(
                Table::ShownByOpening,
                &opening.to_be_bytes(),
                after.as_ref().map(|a| &a[..]),
                MAX_SCAN,
            )?;
            let scanned_all = ids.len() < MAX_SCAN;
            let (mut items, mut last, mut last_read) = (Vec::new(), None, None);
            for (_, id) in ids {
                let Some(shown) = store.get::<Shown>(Table::Shown, id)? else {
                    continue;
                };
                if shown.matches(&filter) {
                    if items.len() == paging.limit {
                        return Ok((items, last));
                    }
                    last = Some(id);
                    items.push(shown);
                }
                last_read = Some(id);
            }
            // As on every list: a filter that matches little stops after MAX_SCAN entries
            // with a short page and where to go on.
            return Ok((items, if scanned_all { None } else { last_read }));
        }
        let page = store.list::<Shown>(Table::Shown, paging.after, paging.limit, |s| {
            s.matches(&filter)
        })?;
        Ok::<_, ApiError>((page.items, page.next_after))
    })
    .await?;
    Ok(page_json(page.0, page.1))
}
