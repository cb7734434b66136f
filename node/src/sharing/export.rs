//! A candidate's own data: everything the node holds on them in one JSON document (the
//! operator answers a subject access request with it), with the profile part also as a
//! JSON Resume document (<https://jsonresume.org/schema>) the candidate can take elsewhere.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::{json, Map, Value};
use techhire_protocol::{
    profile_feed_key, PublicKey, RecordKind, Scope, SharedProfile, SignedRecord, Tombstone,
};

use super::{state_of, SharingState};
use crate::federation::feed;
use crate::model::{Candidate, Level, Personal, Program, Provider, Record, Shown, ShownFilter};
use crate::store::{Store, StoreError, Table, MAX_SCAN};

/// Everything the node holds on one candidate.
#[derive(Debug, Serialize)]
pub struct Export {
    pub exported_at: DateTime<Utc>,
    /// Profile, stage history (with the operators' notes), consent and its history.
    pub candidate: Record<Candidate>,
    pub personal: Option<Personal>,
    pub assessments: Vec<Value>,
    pub vetting: Vec<Value>,
    pub placements: Vec<Value>,
    pub introductions: Vec<Value>,
    /// Any other record that refers to the candidate, by table.
    pub other_records: Vec<OtherRecord>,
    /// The search audit entries that showed the candidate to an employer.
    pub search_audit: Vec<Shown>,
    /// What the node has published for them (`None`: never shared).
    pub sharing: Option<SharingState>,
    /// The latest record published under their profile id, as it went out.
    pub shared_profile: Option<PublishedRecord>,
    /// The profile part as a JSON Resume document.
    pub json_resume: Value,
}

#[derive(Debug, Serialize)]
pub struct OtherRecord {
    pub table: &'static str,
    pub id: u64,
    pub record: Value,
}

/// A record of the node's own feed.
#[derive(Debug, Serialize)]
pub struct PublishedRecord {
    pub seq: u64,
    pub timestamp_ms: u64,
    /// `profile` or `tombstone`.
    pub kind: &'static str,
    pub payload: Value,
}

/// The export of `candidate`, or `None` if there is no such candidate. `own` is this node's
/// key (the origin of its feed). Reads the whole search audit (it has no index by
/// candidate), page by page: an operator's occasional request, not a hot path.
pub fn export(
    store: &Store,
    own: Option<&PublicKey>,
    candidate: u64,
    now: DateTime<Utc>,
) -> Result<Option<Export>, StoreError> {
    let Some(record) = store.get::<Record<Candidate>>(Table::Candidate, candidate)? else {
        return Ok(None);
    };
    let personal: Option<Personal> = store.get(Table::CandidatePersonal, candidate)?;
    let mut assessments = Vec::new();
    let mut vetting = Vec::new();
    let mut placements = Vec::new();
    let mut introductions = Vec::new();
    let mut other_records = Vec::new();
    for (table, id) in store.referrers(Table::Candidate, candidate)? {
        let Some(value) = store.get::<Value>(table, id)? else {
            continue;
        };
        match table {
            Table::Assessment => assessments.push(value),
            Table::Vetting => vetting.push(value),
            Table::Placement => placements.push(value),
            Table::Introduction => introductions.push(value),
            other => other_records.push(OtherRecord {
                table: other.label(),
                id,
                record: value,
            }),
        }
    }
    let search_audit = audit(store, candidate)?;
    let sharing = state_of(store, candidate)?;
    let shared_profile = match (&sharing, own) {
        (Some(s), Some(own)) => published(store, own, s)?,
        _ => None,
    };
    let json_resume = json_resume(store, &record, personal.as_ref())?;
    Ok(Some(Export {
        exported_at: now,
        candidate: record,
        personal,
        assessments,
        vetting,
        placements,
        introductions,
        other_records,
        search_audit,
        sharing,
        shared_profile,
        json_resume,
    }))
}

fn audit(store: &Store, candidate: u64) -> Result<Vec<Shown>, StoreError> {
    let filter = ShownFilter {
        candidate_id: Some(candidate),
        ..ShownFilter::default()
    };
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = store.list::<Shown>(Table::Shown, after, MAX_SCAN, |s| s.matches(&filter))?;
        out.extend(page.items);
        match page.next_after {
            Some(next) => after = Some(next),
            None => return Ok(out),
        }
    }
}

/// The record `state` last confirmed, if the feed still holds it under the same id.
fn published(
    store: &Store,
    own: &PublicKey,
    state: &SharingState,
) -> Result<Option<PublishedRecord>, StoreError> {
    let Some(seq) = state.published_seq else {
        return Ok(None);
    };
    let found = feed::fetch(store, own, seq.saturating_sub(1), 1)?;
    let Some(record) = found
        .into_iter()
        .find(|r| r.seq() == seq && profile_feed_key(r) == Some(state.profile_id))
    else {
        return Ok(None);
    };
    Ok(Some(published_record(&record)))
}

fn published_record(record: &SignedRecord) -> PublishedRecord {
    let (kind, payload) = match record.kind() {
        RecordKind::PROFILE => (
            "profile",
            SharedProfile::decode(record.payload()).map_or(Value::Null, |p| profile_json(&p)),
        ),
        _ => (
            "tombstone",
            Tombstone::decode(record.payload()).map_or(Value::Null, |t| {
                json!({"id": t.id.to_string(), "reason": format!("{:?}", t.reason).to_lowercase()})
            }),
        ),
    };
    PublishedRecord {
        seq: record.seq(),
        timestamp_ms: record.timestamp_ms(),
        kind,
        payload,
    }
}

/// A shared profile as JSON, field for field.
pub fn profile_json(p: &SharedProfile) -> Value {
    json!({
        "id": p.id.to_string(),
        "version": p.version,
        "home_community": p.home_community,
        "home_region": p.home_region,
        "scope": match &p.scope {
            Scope::Federation => json!({"kind": "federation"}),
            Scope::Regions(r) => json!({"kind": "regions", "regions": r}),
        },
        "expires_at_ms": p.expires_at_ms,
        "skills": p.skills.iter().map(|s| json!({
            "skill_id": s.skill_id, "level": s.level, "evidence": s.evidence
        })).collect::<Vec<_>>(),
        "assessments": p.assessments.iter().map(|a| json!({
            "skill_id": a.skill_id, "instrument": a.instrument, "percent": a.percent, "year": a.year
        })).collect::<Vec<_>>(),
        "training": p.training.as_ref().map(|t| json!({
            "program": t.program, "provider": t.provider, "provider_kind": t.provider_kind
        })),
        "certificates": p.certificates.iter().map(|c| json!({
            "name": c.name, "issuer": c.issuer, "year": c.year
        })).collect::<Vec<_>>(),
        "work": p.work.iter().map(|w| json!({"title": w.title, "months": w.months})).collect::<Vec<_>>(),
        "projects": p.projects.iter().map(|pr| json!({
            "name": pr.name, "description": pr.description, "skills": pr.skills
        })).collect::<Vec<_>>(),
        "desired_roles": p.desired_roles,
        "desired_occupations": p.desired_occupations,
        "remote": p.remote,
        "relocate": p.relocate,
    })
}

/// A JSON object of the pairs whose value is not null (JSON Resume's fields are optional
/// strings, objects and arrays; null is not among their types).
fn object(pairs: Vec<(&str, Value)>) -> Value {
    Value::Object(
        pairs
            .into_iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.to_owned(), v))
            .collect::<Map<_, _>>(),
    )
}

fn date(d: Option<NaiveDate>) -> Value {
    d.map_or(Value::Null, |d| {
        Value::String(d.format("%Y-%m-%d").to_string())
    })
}

fn level(l: Level) -> &'static str {
    match l {
        Level::Beginner => "Beginner",
        Level::Intermediate => "Intermediate",
        Level::Advanced => "Advanced",
        Level::Expert => "Expert",
    }
}

/// The candidate's personal data and profile as a JSON Resume (schema 1.0.0) document:
/// `basics`, `work`, `projects`, `skills`, `certificates`, and `education` for the
/// training program.
pub fn json_resume(
    store: &Store,
    candidate: &Record<Candidate>,
    personal: Option<&Personal>,
) -> Result<Value, StoreError> {
    let p = &candidate.data.profile;
    let basics = object(vec![
        ("name", json!(personal.map(|x| &x.name))),
        (
            "label",
            if p.desired_roles.is_empty() {
                Value::Null
            } else {
                json!(p.desired_roles.join(" / "))
            },
        ),
        ("email", json!(personal.map(|x| &x.email))),
        ("phone", json!(personal.and_then(|x| x.phone.as_ref()))),
        (
            "location",
            personal
                .and_then(|x| x.city.as_ref())
                .map_or(Value::Null, |c| json!({ "city": c })),
        ),
    ]);
    let work: Vec<Value> = p
        .work_history
        .iter()
        .map(|w| {
            object(vec![
                ("name", json!(w.employer_name)),
                ("position", json!(w.title)),
                ("startDate", date(Some(w.start))),
                ("endDate", date(w.end)),
                ("summary", json!(w.summary)),
            ])
        })
        .collect();
    let projects: Vec<Value> = p
        .projects
        .iter()
        .map(|pr| {
            object(vec![
                ("name", json!(pr.name)),
                ("description", json!(pr.description)),
                ("url", json!(pr.url)),
                (
                    "keywords",
                    json!(pr.skills.iter().map(|s| &s.skill).collect::<Vec<_>>()),
                ),
            ])
        })
        .collect();
    let skills: Vec<Value> = p
        .skills
        .iter()
        .map(|s| {
            object(vec![
                ("name", json!(s.skill)),
                ("level", json!(level(s.level))),
                ("keywords", json!(s.skill_id.iter().collect::<Vec<_>>())),
            ])
        })
        .collect();
    let certificates: Vec<Value> = p
        .certificates
        .iter()
        .map(|c| {
            object(vec![
                ("name", json!(c.name)),
                ("issuer", json!(c.issuer)),
                ("date", date(c.issued_on)),
            ])
        })
        .collect();
    let mut education = Vec::new();
    if let Some(program) = p.program_id {
        if let Some(program) = store.get::<Record<Program>>(Table::Program, program)? {
            let provider =
                store.get::<Record<Provider>>(Table::Provider, program.data.provider_id)?;
            education.push(object(vec![
                (
                    "institution",
                    json!(provider.map(|x| x.data.name).unwrap_or_default()),
                ),
                ("area", json!(program.data.name)),
                ("studyType", json!(program.data.credential)),
                ("startDate", date(p.training_started_on)),
                ("endDate", date(p.training_completed_on)),
            ]));
        }
    }
    Ok(json!({
        "$schema": "https://raw.githubusercontent.com/jsonresume/resume-schema/v1.0.0/schema.json",
        "basics": basics,
        "work": work,
        "projects": projects,
        "skills": skills,
        "certificates": certificates,
        "education": education,
        "meta": {"lastModified": candidate.updated_at.to_rfc3339()},
    }))
}
