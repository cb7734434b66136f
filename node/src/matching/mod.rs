//! Matching: scores how well a candidate's skills fit an opening, with the reasons, and ranks
//! many candidates (or many openings) by that score.
//!
//! This is the pure scoring core: it knows nothing about HTTP, the store or the skills index.
//! Callers turn records into the module's own input types, a [`Demand`] (what an opening
//! asks for) and a [`Supply`] (what a candidate offers), then call [`score`], [`rank`] or
//! [`rank_openings`]. The weights and the reasons for them are in `docs/matching.md`.
//!
//! *Invariant:* a degree is never an input. Neither are a candidate's name, contact, age,
//! address or segments: [`Supply`] has no field that could hold them.
//!
//! *Invariant:* scores are integers from 0 to [`MAX_SCORE`], computed without floating point,
//! so that equal inputs give equal scores on every machine, and rankings break ties by id.

mod score;

#[cfg(test)]
mod tests;

use std::borrow::Borrow;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::model::{
    Assessment, Evidence, Level, Opening, Profile, Recommendation, RemotePolicy, RemotePreference,
    SkillRequirement, Vetting,
};
use crate::skills::{normal_key, Match as Normalised, Taxonomy};

pub use score::{
    claim_credit, evidence_factor, place_points, score, score_only, share, vetting_points,
    Components, Explanation, Fit, LocationFit, Match, PlaceFit, SkillFit, VettingFit, MAX_SCORE,
    NICE_TO_HAVE_WEIGHT, PLACE_WEIGHT, REQUIRED_WEIGHT, VETTING_WEIGHT,
};

/// A skill as matching compares it: a taxonomy id, or, for text the taxonomy does not know,
/// its normalised form (so "Foo Lang" and "foo-lang" still match each other exactly).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SkillKey {
    /// A taxonomy id, e.g. `javascript`.
    Id(String),
    /// Free text the taxonomy does not know, as [`normal_key`] writes it.
    Text(String),
}

impl SkillKey {
    /// The key of a free-text skill name, normalised through `taxonomy`. `None` for text with
    /// no letters or digits at all, which cannot name a skill.
    pub fn parse(taxonomy: &Taxonomy, text: &str) -> Option<SkillKey> {
        match taxonomy.normalise(text) {
            Normalised::Known { id, .. } => Some(SkillKey::Id(id)),
            Normalised::Unknown(_) => {
                let key = normal_key(text);
                (!key.is_empty()).then_some(SkillKey::Text(key))
            }
        }
    }

    /// The key of a skill as a record stores it: its taxonomy id if it has one, else its
    /// text parsed as [`SkillKey::parse`] does. Text stored without an id (unknown when it
    /// was written) is parsed again, so it matches once the community's taxonomy knows it.
    pub fn of_record(taxonomy: &Taxonomy, text: &str, id: Option<&str>) -> Option<SkillKey> {
        match id {
            Some(id) => Some(SkillKey::Id(id.to_owned())),
            None => SkillKey::parse(taxonomy, text),
        }
    }

    /// The id or normalised text.
    pub fn as_str(&self) -> &str {
        match self {
            SkillKey::Id(s) | SkillKey::Text(s) => s,
        }
    }
}

/// One skill an opening asks for, and the lowest level that fully meets it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Requirement {
    pub skill: SkillKey,
    pub min_level: Level,
}

/// What an opening asks for, as matching sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Demand {
    pub required: Vec<Requirement>,
    pub nice_to_have: Vec<Requirement>,
    pub remote: RemotePolicy,
    /// Where the work is, for on-site and hybrid openings.
    pub location: Option<String>,
}

impl Demand {
    /// The demand of an opening, its skills normalised through the built-in taxonomy.
    pub fn from_opening(opening: &Opening) -> Demand {
        Demand::from_opening_in(Taxonomy::builtin(), opening)
    }

    /// The demand of an opening, its skills normalised through `taxonomy` (a community's
    /// extended one, say).
    ///
    /// A skill listed twice (say "JS" and "JavaScript") is kept once, at the higher of its
    /// levels; a nice-to-have skill that is also required is kept as required only. Text
    /// with no letters or digits is kept as a requirement no one can meet, rather than
    /// dropped, so that the explanation shows it.
    pub fn from_opening_in(taxonomy: &Taxonomy, opening: &Opening) -> Demand {
        let required = requirements(taxonomy, &opening.required_skills, &[]);
        let nice_to_have = requirements(taxonomy, &opening.nice_to_have_skills, &required);
        Demand {
            required,
            nice_to_have,
            remote: opening.remote,
            location: opening.location.clone(),
        }
    }
}

fn requirements(
    taxonomy: &Taxonomy,
    list: &[SkillRequirement],
    exclude: &[Requirement],
) -> Vec<Requirement> {
    let mut out: Vec<Requirement> = Vec::with_capacity(list.len());
    for r in list {
        let skill = SkillKey::of_record(taxonomy, &r.skill, r.skill_id.as_deref())
            .unwrap_or_else(|| SkillKey::Text(r.skill.trim().to_owned()));
        if exclude.iter().any(|e| e.skill == skill) {
            continue;
        }
        match out.iter_mut().find(|o| o.skill == skill) {
            Some(o) => o.min_level = o.min_level.max(r.min_level),
            None => out.push(Requirement {
                skill,
                min_level: r.min_level,
            }),
        }
    }
    out
}

/// One skill a candidate offers, at a level, backed by one kind of evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Claim {
    pub skill: SkillKey,
    pub level: Level,
    pub evidence: Evidence,
}

/// What a candidate offers, as matching sees it. There is deliberately no field for a degree,
/// a name, an age, an address or segments.
///
/// A skill may be claimed several times (self-reported at one level, assessed at another):
/// scoring takes, per requirement, the claim that earns the most, so adding a claim never
/// lowers a score. [`Supply::tidy`] drops claims that another claim of the same skill beats
/// on both level and evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Supply {
    pub skills: Vec<Claim>,
    /// The best recommendation of the candidate's vetting interviews, if any.
    pub vetting: Option<Recommendation>,
    pub remote: RemotePreference,
    pub willing_to_relocate: bool,
    /// Where the candidate lives, at the grain of a city or region (never a street address);
    /// used only for the location fit of on-site and hybrid openings.
    pub location: Option<String>,
}

impl Supply {
    /// The supply of a profile with its assessments and vetting interviews, skills
    /// normalised through the built-in taxonomy. Location is left empty: the profile does
    /// not hold one; see [`Supply::with_location`].
    pub fn from_profile<'a>(
        profile: &Profile,
        assessments: impl IntoIterator<Item = &'a Assessment>,
        vettings: impl IntoIterator<Item = &'a Vetting>,
    ) -> Supply {
        Supply::from_profile_in(Taxonomy::builtin(), profile, assessments, vettings)
    }

    /// As [`Supply::from_profile`], normalising through `taxonomy`.
    ///
    /// Claims come from the profile's skills (as claimed), its projects' skills (at
    /// [`Level::Beginner`], backed by [`Evidence::Project`]) and the assessments (backed by
    /// [`Evidence::Assessment`], at the level [`assessed_level`] gives the score). A skill's
    /// stored id is used as is; text without one is normalised through `taxonomy`. The
    /// vetting is the best recommendation given.
    pub fn from_profile_in<'a>(
        taxonomy: &Taxonomy,
        profile: &Profile,
        assessments: impl IntoIterator<Item = &'a Assessment>,
        vettings: impl IntoIterator<Item = &'a Vetting>,
    ) -> Supply {
        let claimed = profile
            .skills
            .iter()
            .map(|c| (c.skill.as_str(), c.skill_id.as_deref(), c.level, c.evidence));
        let projects = profile.projects.iter().flat_map(|p| {
            p.skills.iter().map(|s| {
                (
                    s.skill.as_str(),
                    s.skill_id.as_deref(),
                    Level::Beginner,
                    Evidence::Project,
                )
            })
        });
        let assessed = assessments.into_iter().map(|a| {
            (
                a.skill.as_str(),
                a.skill_id.as_deref(),
                assessed_level(a.score, a.max_score),
                Evidence::Assessment,
            )
        });
        let skills = claimed
            .chain(projects)
            .chain(assessed)
            .filter_map(|(text, id, level, evidence)| {
                Some(Claim {
                    skill: SkillKey::of_record(taxonomy, text, id)?,
                    level,
                    evidence,
                })
            })
            .collect();
        let mut supply = Supply {
            skills,
            vetting: vettings.into_iter().map(|v| v.recommendation).max(),
            remote: profile.remote_preference,
            willing_to_relocate: profile.willing_to_relocate,
            location: None,
        };
        supply.tidy();
        supply
    }

    /// This supply with a location (a city or region).
    pub fn with_location(mut self, location: Option<String>) -> Supply {
        self.location = location;
        self
    }

    /// Sorts the claims by skill, strongest first, and drops every claim that another claim
    /// of the same skill matches or beats on both level and evidence. Scores are unchanged:
    /// a dropped claim could never have earned more than the claim that beats it.
    pub fn tidy(&mut self) {
        self.skills.sort_by(|a, b| {
            a.skill
                .cmp(&b.skill)
                .then(b.level.cmp(&a.level))
                .then(b.evidence.cmp(&a.evidence))
        });
        let mut kept: Vec<Claim> = Vec::with_capacity(self.skills.len());
        for c in self.skills.drain(..) {
            // Within a skill, claims come by level descending, so a kept claim already has a
            // level at least as high; it beats `c` if its evidence is at least as strong.
            let dominated = kept
                .iter()
                .rev()
                .take_while(|k| k.skill == c.skill)
                .any(|k| k.evidence >= c.evidence);
            if !dominated {
                kept.push(c);
            }
        }
        self.skills = kept;
    }
}

/// The level an assessment shows: a share of the maximum score of at least 90% is
/// [`Level::Expert`], 75% [`Level::Advanced`], 50% [`Level::Intermediate`], and anything
/// lower [`Level::Beginner`]. A `max_score` of 0 (refused by validation) reads as Beginner.
pub fn assessed_level(score: u32, max_score: u32) -> Level {
    let (score, max) = (u64::from(score), u64::from(max_score));
    if max == 0 {
        Level::Beginner
    } else if score * 100 >= max * 90 {
        Level::Expert
    } else if score * 100 >= max * 75 {
        Level::Advanced
    } else if score * 100 >= max * 50 {
        Level::Intermediate
    } else {
        Level::Beginner
    }
}

/// The best `top_n` candidates for `demand`, best first: by score descending, then by id
/// ascending, so equal scores always come out in the same order. Ids are expected to be
/// unique.
///
/// Runs in one pass with a heap of at most `top_n` entries, and builds an explanation only
/// for a candidate that enters the heap.
pub fn rank<S: Borrow<Supply>>(
    demand: &Demand,
    candidates: impl IntoIterator<Item = (u64, S)>,
    top_n: usize,
) -> Vec<(u64, Match)> {
    top(
        candidates,
        top_n,
        |s| score_only(demand, s.borrow()),
        |s| score(demand, s.borrow()),
    )
}

/// The best `top_n` openings for one candidate, best first, ordered as in [`rank`].
pub fn rank_openings<D: Borrow<Demand>>(
    supply: &Supply,
    openings: impl IntoIterator<Item = (u64, D)>,
    top_n: usize,
) -> Vec<(u64, Match)> {
    top(
        openings,
        top_n,
        |d| score_only(d.borrow(), supply),
        |d| score(d.borrow(), supply),
    )
}

/// One kept result. Ordered so that the *worse* result is the greater, which makes the
/// standard max-heap hold the worst kept result on top, ready to be evicted.
struct Kept {
    score: u32,
    id: u64,
    found: Match,
}

impl Kept {
    /// Better results have larger keys.
    fn key(&self) -> (u32, Reverse<u64>) {
        (self.score, Reverse(self.id))
    }
}

impl PartialEq for Kept {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Kept {}

impl PartialOrd for Kept {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Kept {
    fn cmp(&self, other: &Self) -> Ordering {
        other.key().cmp(&self.key())
    }
}

fn top<T>(
    items: impl IntoIterator<Item = (u64, T)>,
    top_n: usize,
    quick: impl Fn(&T) -> u32,
    full: impl Fn(&T) -> Match,
) -> Vec<(u64, Match)> {
    if top_n == 0 {
        return Vec::new();
    }
    let mut heap: BinaryHeap<Kept> = BinaryHeap::with_capacity(top_n.saturating_add(1).min(4096));
    for (id, item) in items {
        let score = quick(&item);
        if heap.len() == top_n {
            // The heap's top is the worst kept result; skip anything not better than it.
            let worse = heap.peek().is_some_and(|w| (score, Reverse(id)) <= w.key());
            if worse {
                continue;
            }
            heap.pop();
        }
        heap.push(Kept {
            score,
            id,
            found: full(&item),
        });
    }
    // Ascending by `Kept`'s order is best first.
    heap.into_sorted_vec()
        .into_iter()
        .map(|k| (k.id, k.found))
        .collect()
}
