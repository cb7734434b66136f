//! Builds a candidate's [`SharedProfile`] from what the node holds: the skills profile,
//! assessments and training. Reads neither `Personal` nor stage notes, vetting notes or
//! work summaries (free text about the person), so it cannot copy them.
//!
//! Only what the protocol can carry is shared: skills and assessments need a taxonomy id
//! (free text the taxonomy did not recognise is left out), texts are cut to the protocol's
//! byte limits, lists to its counts. Work history is titles and whole months, without
//! employers; projects without links.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sha2::{Digest, Sha256};
use techhire_protocol::profile::{
    MAX_DESIRED, MAX_PROFILE_ASSESSMENTS, MAX_PROFILE_CERTIFICATES, MAX_PROFILE_COMMUNITY_BYTES,
    MAX_PROFILE_PROJECTS, MAX_PROFILE_REGION_BYTES, MAX_PROFILE_SKILLS, MAX_PROFILE_TEXT_BYTES,
    MAX_PROFILE_WORK, MAX_PROFILE_YEAR, MAX_PROJECT_DESCRIPTION_BYTES, MAX_PROJECT_SKILLS,
    MAX_SKILL_ID_BYTES, MIN_PROFILE_YEAR,
};
use techhire_protocol::{
    ProfileId, Scope, SharedAssessment, SharedCertificate, SharedProfile, SharedProject,
    SharedSkill, SharedTraining, SharedWork,
};

use crate::model::{
    Assessment, Candidate, Evidence, Level, Program, Provider, ProviderKind, Record,
    RemotePreference,
};
use crate::store::{Store, StoreError, Table};

/// The community and region a node publishes profiles under, within the protocol's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    pub community: String,
    pub region: String,
}

impl Home {
    /// `None` if either is empty.
    pub fn new(community: &str, region: &str) -> Option<Home> {
        Some(Home {
            community: fit(community, MAX_PROFILE_COMMUNITY_BYTES)?,
            region: fit(region, MAX_PROFILE_REGION_BYTES)?,
        })
    }
}

/// `text` trimmed and cut to at most `max` bytes on a character boundary; `None` if empty.
fn fit(text: &str, max: usize) -> Option<String> {
    let text = text.trim();
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let cut = text[..end].trim_end();
    (!cut.is_empty()).then(|| cut.to_owned())
}

fn skill_id(id: Option<&str>) -> Option<String> {
    id.filter(|s| !s.is_empty() && s.len() <= MAX_SKILL_ID_BYTES)
        .map(str::to_owned)
}

fn level(l: Level) -> u8 {
    match l {
        Level::Beginner => 1,
        Level::Intermediate => 2,
        Level::Advanced => 3,
        Level::Expert => 4,
    }
}

fn evidence(e: Evidence) -> u8 {
    match e {
        Evidence::SelfReported => 0,
        Evidence::Project => 1,
        Evidence::WorkExperience => 2,
        Evidence::Certificate => 3,
        Evidence::Assessment => 4,
    }
}

fn provider_kind(k: ProviderKind) -> u8 {
    match k {
        ProviderKind::Bootcamp => 0,
        ProviderKind::CommunityCollege => 1,
        ProviderKind::Online => 2,
        ProviderKind::Apprenticeship => 3,
        ProviderKind::University => 4,
        ProviderKind::NonProfit => 5,
        ProviderKind::Other => 6,
    }
}

fn remote(r: RemotePreference) -> u8 {
    match r {
        RemotePreference::OnSite => 0,
        RemotePreference::Hybrid => 1,
        RemotePreference::Remote => 2,
        RemotePreference::Any => 3,
    }
}

fn year(date: NaiveDate) -> Option<u16> {
    u16::try_from(date.year())
        .ok()
        .filter(|y| (MIN_PROFILE_YEAR..=MAX_PROFILE_YEAR).contains(y))
}

/// Whole months from `start` to `end` (0 if `end` is earlier).
pub(crate) fn months(start: NaiveDate, end: NaiveDate) -> u16 {
    let mut m = (end.year() - start.year()) * 12 + end.month() as i32 - start.month() as i32;
    if end.day() < start.day() {
        m -= 1;
    }
    u16::try_from(m.max(0)).unwrap_or(u16::MAX)
}

/// The shared profile of `candidate` under `id` and `version`. `today` ends the current
/// jobs' durations.
#[allow(clippy::too_many_arguments)]
pub fn build(
    store: &Store,
    candidate: &Record<Candidate>,
    id: ProfileId,
    version: u32,
    home: &Home,
    scope: Scope,
    expires_at: DateTime<Utc>,
    today: NaiveDate,
) -> Result<SharedProfile, StoreError> {
    let p = &candidate.data.profile;

    // One entry per skill id (the protocol refuses repeats): the strongest claim.
    let mut skills: BTreeMap<String, SharedSkill> = BTreeMap::new();
    for c in &p.skills {
        let Some(skill_id) = skill_id(c.skill_id.as_deref()) else {
            continue;
        };
        let claim = SharedSkill {
            skill_id: skill_id.clone(),
            level: level(c.level),
            evidence: evidence(c.evidence),
        };
        let stronger = skills
            .get(&skill_id)
            .is_none_or(|s| (claim.level, claim.evidence) > (s.level, s.evidence));
        if stronger {
            skills.insert(skill_id, claim);
        }
    }
    let mut skills: Vec<SharedSkill> = skills.into_values().collect();
    if skills.len() > MAX_PROFILE_SKILLS {
        // Keep the strongest, then put them back in id order.
        skills.sort_by_key(|s| std::cmp::Reverse((s.level, s.evidence)));
        skills.truncate(MAX_PROFILE_SKILLS);
        skills.sort_by(|a, b| a.skill_id.cmp(&b.skill_id));
    }

    let mut assessments = Vec::new();
    for (table, rid) in store.referrers(Table::Candidate, candidate.id)? {
        if table != Table::Assessment {
            continue;
        }
        let Some(a) = store.get::<Record<Assessment>>(Table::Assessment, rid)? else {
            continue;
        };
        let a = a.data;
        // The assessor is a person: not shared.
        let (Some(skill_id), Some(instrument), Some(year)) = (
            skill_id(a.skill_id.as_deref()),
            fit(&a.instrument, MAX_PROFILE_TEXT_BYTES),
            year(a.taken_on),
        ) else {
            continue;
        };
        if a.max_score == 0 {
            continue;
        }
        let percent = (u64::from(a.score.min(a.max_score)) * 100 + u64::from(a.max_score) / 2)
            / u64::from(a.max_score);
        assessments.push(SharedAssessment {
            skill_id,
            instrument,
            percent: u8::try_from(percent).unwrap_or(100),
            year,
        });
    }
    // The most recent ones, if there are too many (referrers come in id order).
    let excess = assessments.len().saturating_sub(MAX_PROFILE_ASSESSMENTS);
    assessments.drain(..excess);

    let training = match p.program_id {
        Some(program) => training(store, program)?,
        None => None,
    };

    let certificates = p
        .certificates
        .iter()
        .filter_map(|c| {
            Some(SharedCertificate {
                name: fit(&c.name, MAX_PROFILE_TEXT_BYTES)?,
                issuer: fit(&c.issuer, MAX_PROFILE_TEXT_BYTES).unwrap_or_default(),
                year: c.issued_on.and_then(year),
            })
        })
        .take(MAX_PROFILE_CERTIFICATES)
        .collect();

    let work = p
        .work_history
        .iter()
        .filter_map(|w| {
            Some(SharedWork {
                title: fit(&w.title, MAX_PROFILE_TEXT_BYTES)?,
                months: months(w.start, w.end.unwrap_or(today)),
            })
        })
        .take(MAX_PROFILE_WORK)
        .collect();

    let projects = p
        .projects
        .iter()
        .filter_map(|pr| {
            let mut ids: Vec<String> = Vec::new();
            for s in &pr.skills {
                if let Some(id) = skill_id(s.skill_id.as_deref()) {
                    if !ids.contains(&id) && ids.len() < MAX_PROJECT_SKILLS {
                        ids.push(id);
                    }
                }
            }
            Some(SharedProject {
                name: fit(&pr.name, MAX_PROFILE_TEXT_BYTES)?,
                description: pr
                    .description
                    .as_deref()
                    .and_then(|d| fit(d, MAX_PROJECT_DESCRIPTION_BYTES))
                    .unwrap_or_default(),
                skills: ids,
            })
        })
        .take(MAX_PROFILE_PROJECTS)
        .collect();

    let desired_roles = p
        .desired_roles
        .iter()
        .filter_map(|r| fit(r, MAX_PROFILE_TEXT_BYTES))
        .take(MAX_DESIRED)
        .collect();

    let mut profile = SharedProfile {
        id,
        version,
        home_community: home.community.clone(),
        home_region: home.region.clone(),
        scope,
        expires_at_ms: u64::try_from(expires_at.timestamp_millis()).unwrap_or(0),
        skills,
        assessments,
        training,
        certificates,
        work,
        projects,
        desired_roles,
        // The local profile has no occupation field yet: nothing to share.
        desired_occupations: Vec::new(),
        remote: remote(p.remote_preference),
        relocate: p.willing_to_relocate,
    };
    profile.sort();
    Ok(profile)
}

/// The program and its provider, by name; `None` if either is gone or unnamed.
fn training(store: &Store, program: u64) -> Result<Option<SharedTraining>, StoreError> {
    let Some(program) = store.get::<Record<Program>>(Table::Program, program)? else {
        return Ok(None);
    };
    let Some(provider) =
        store.get::<Record<Provider>>(Table::Provider, program.data.provider_id)?
    else {
        return Ok(None);
    };
    Ok((|| {
        Some(SharedTraining {
            program: fit(&program.data.name, MAX_PROFILE_TEXT_BYTES)?,
            provider: fit(&provider.data.name, MAX_PROFILE_TEXT_BYTES)?,
            provider_kind: provider_kind(provider.data.kind),
        })
    })())
}

/// SHA-256 (hex) of the profile's payload with its version set to 0: equal for two
/// versions with the same content.
pub fn content_sha256(profile: &SharedProfile) -> String {
    let mut unversioned = profile.clone();
    unversioned.version = 0;
    hex::encode(Sha256::digest(unversioned.encode()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("a date")
    }

    #[test]
    fn months_are_whole() {
        assert_eq!(months(d("2019-03-01"), d("2022-06-30")), 39);
        assert_eq!(months(d("2019-03-15"), d("2019-04-14")), 0);
        assert_eq!(months(d("2019-03-15"), d("2019-04-15")), 1);
        assert_eq!(months(d("2020-01-31"), d("2019-01-01")), 0);
    }

    #[test]
    fn texts_are_cut_on_character_boundaries() {
        assert_eq!(fit("  a  ", 10).as_deref(), Some("a"));
        assert_eq!(fit("   ", 10), None);
        // "é" is two bytes: cutting at 2 must not split it.
        assert_eq!(fit("aé", 2).as_deref(), Some("a"));
        assert_eq!(fit("aé", 3).as_deref(), Some("aé"));
        assert_eq!(Home::new("Akron", ""), None);
        let long = "x".repeat(300);
        assert_eq!(
            Home::new(&long, "OH").map(|h| h.community.len()),
            Some(MAX_PROFILE_COMMUNITY_BYTES)
        );
    }
}
