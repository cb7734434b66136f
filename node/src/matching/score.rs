//! The score of one candidate for one opening, and its explanation. Every weight is here;
//! `docs/matching.md` gives the reasons for each.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Claim, Demand, Requirement, SkillKey, Supply};
use crate::model::{Evidence, Level, Recommendation, RemotePolicy, RemotePreference};

/// The highest possible score. Scores, credits and shares are all fixed-point on this scale:
/// 10,000 is 100.00%.
pub const MAX_SCORE: u32 = 10_000;

/// Points for the required skills: shared equally among them.
pub const REQUIRED_WEIGHT: u32 = 7_000;
/// Points for the vetting interview's recommendation.
pub const VETTING_WEIGHT: u32 = 1_200;
/// Points for remote and location fit.
pub const PLACE_WEIGHT: u32 = 1_000;
/// Points for the nice-to-have skills: shared equally among them.
pub const NICE_TO_HAVE_WEIGHT: u32 = 800;

/// How much of a skill's credit a kind of evidence keeps, in percent: self-reported 60,
/// project 70, work experience 80, certificate 90, assessment 100.
pub fn evidence_factor(evidence: Evidence) -> u32 {
    match evidence {
        Evidence::SelfReported => 60,
        Evidence::Project => 70,
        Evidence::WorkExperience => 80,
        Evidence::Certificate => 90,
        Evidence::Assessment => 100,
    }
}

/// Points for a vetting recommendation. No vetting yet scores as `not_yet`: 0.
pub fn vetting_points(vetting: Option<Recommendation>) -> u32 {
    match vetting {
        None | Some(Recommendation::NotYet) => 0,
        Some(Recommendation::Maybe) => 400,
        Some(Recommendation::Recommend) => 800,
        Some(Recommendation::StronglyRecommend) => VETTING_WEIGHT,
    }
}

// The weights must add up to the maximum, so that a perfect fit scores exactly MAX_SCORE.
const _: () =
    assert!(REQUIRED_WEIGHT + VETTING_WEIGHT + PLACE_WEIGHT + NICE_TO_HAVE_WEIGHT == MAX_SCORE);

/// A score with its reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Match {
    /// From 0 to [`MAX_SCORE`]; the sum of the explanation's components.
    pub score: u32,
    pub explanation: Explanation,
}

/// Why a candidate scored what they did, part by part. The component points add up to the
/// score exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Explanation {
    pub components: Components,
    /// One entry per required skill, in the opening's order.
    pub required: Vec<SkillFit>,
    /// One entry per nice-to-have skill, in the opening's order.
    pub nice_to_have: Vec<SkillFit>,
    pub vetting: VettingFit,
    pub place: PlaceFit,
}

/// The points of each part of the score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Components {
    /// Out of [`REQUIRED_WEIGHT`].
    pub required: u32,
    /// Out of [`NICE_TO_HAVE_WEIGHT`].
    pub nice_to_have: u32,
    /// Out of [`VETTING_WEIGHT`].
    pub vetting: u32,
    /// Out of [`PLACE_WEIGHT`].
    pub place: u32,
}

impl Components {
    pub fn total(&self) -> u32 {
        self.required + self.nice_to_have + self.vetting + self.place
    }
}

/// How a candidate meets one skill of the opening.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Fit {
    /// At or above the level asked for.
    Matched,
    /// One level below the level asked for: half credit.
    Partial,
    /// Claimed, but two or more levels below: no credit.
    BelowLevel,
    /// Not claimed at all.
    Missing,
}

/// One skill of the opening against the candidate's best claim of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SkillFit {
    pub skill: SkillKey,
    pub min_level: Level,
    pub fit: Fit,
    /// The level of the claim that counted; `None` if the skill is missing.
    pub level: Option<Level>,
    /// The evidence of the claim that counted; `None` if the skill is missing.
    pub evidence: Option<Evidence>,
    /// Out of [`MAX_SCORE`]: the level's credit (100%, 50% or 0) times the evidence factor.
    pub credit: u32,
}

/// The vetting part of the score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VettingFit {
    /// The best recommendation; `None` if the candidate has not been interviewed.
    pub recommendation: Option<Recommendation>,
    pub points: u32,
}

/// How the opening's place of work fits the candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LocationFit {
    /// A remote opening: where anyone lives does not matter.
    NotNeeded,
    /// The candidate lives where the work is.
    Same,
    /// The candidate lives elsewhere or did not say, and is willing to relocate.
    WillingToRelocate,
    /// The opening's or the candidate's location is not known.
    Unknown,
    /// The candidate lives elsewhere and is not willing to relocate.
    Elsewhere,
}

/// The remote and location part of the score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlaceFit {
    pub policy: RemotePolicy,
    pub preference: RemotePreference,
    /// How the opening's remote policy fits the candidate's preference, in percent.
    pub remote_fit: u32,
    pub location: LocationFit,
    pub points: u32,
}

/// The score of `supply` for `demand`, with its explanation.
pub fn score(demand: &Demand, supply: &Supply) -> Match {
    let required: Vec<SkillFit> = demand
        .required
        .iter()
        .map(|r| skill_fit(r, supply))
        .collect();
    let nice_to_have: Vec<SkillFit> = demand
        .nice_to_have
        .iter()
        .map(|r| skill_fit(r, supply))
        .collect();
    let vetting = VettingFit {
        recommendation: supply.vetting,
        points: vetting_points(supply.vetting),
    };
    let place = place_fit(demand, supply);
    let components = Components {
        required: share(
            REQUIRED_WEIGHT,
            required.iter().map(|f| f.credit),
            required.len(),
        ),
        nice_to_have: share(
            NICE_TO_HAVE_WEIGHT,
            nice_to_have.iter().map(|f| f.credit),
            nice_to_have.len(),
        ),
        vetting: vetting.points,
        place: place.points,
    };
    Match {
        score: components.total(),
        explanation: Explanation {
            components,
            required,
            nice_to_have,
            vetting,
            place,
        },
    }
}

/// The score alone, without building the explanation: what ranking uses for every
/// candidate. Always equal to `score(demand, supply).score`.
pub fn score_only(demand: &Demand, supply: &Supply) -> u32 {
    share(
        REQUIRED_WEIGHT,
        credits(&demand.required, supply),
        demand.required.len(),
    ) + share(
        NICE_TO_HAVE_WEIGHT,
        credits(&demand.nice_to_have, supply),
        demand.nice_to_have.len(),
    ) + vetting_points(supply.vetting)
        + place_fit(demand, supply).points
}

/// The credit of each requirement in `list`, out of [`MAX_SCORE`].
fn credits<'a>(list: &'a [Requirement], supply: &'a Supply) -> impl Iterator<Item = u32> + 'a {
    list.iter()
        .map(move |r| best_claim(r, supply).map_or(0, |(_, credit)| credit))
}

/// `weight` times the mean of `credits` (each out of [`MAX_SCORE`]), rounded down. No skills
/// asked for at all means nothing is missing: the full weight.
pub fn share(weight: u32, credits: impl Iterator<Item = u32>, n: usize) -> u32 {
    if n == 0 {
        return weight;
    }
    let sum: u64 = credits.map(u64::from).sum();
    let points = u64::from(weight) * sum / (n as u64 * u64::from(MAX_SCORE));
    // At most `weight`, since every credit is at most MAX_SCORE.
    u32::try_from(points).unwrap_or(weight).min(weight)
}

/// The credit of one claim for one requirement, out of [`MAX_SCORE`].
fn credit(claim: &Claim, min_level: Level) -> u32 {
    claim_credit(claim.level, claim.evidence, min_level)
}

/// The credit of a claim at `level` backed by `evidence` for a requirement of `min_level`,
/// out of [`MAX_SCORE`]. The search index scores with this, so that its scores are the
/// scores [`score`] explains.
pub fn claim_credit(level: Level, evidence: Evidence, min_level: Level) -> u32 {
    level_credit(level, min_level) * evidence_factor(evidence) / 100
}

/// Full credit at or above the level, half one level below, none further below.
fn level_credit(level: Level, min_level: Level) -> u32 {
    if level >= min_level {
        MAX_SCORE
    } else if level as u8 + 1 == min_level as u8 {
        MAX_SCORE / 2
    } else {
        0
    }
}

/// The claim of the requirement's skill that earns the most credit (on a tie, the higher
/// level, then the stronger evidence, so the choice never depends on the claims' order).
fn best_claim<'a>(req: &Requirement, supply: &'a Supply) -> Option<(&'a Claim, u32)> {
    supply
        .skills
        .iter()
        .filter(|c| c.skill == req.skill)
        .map(|c| (c, credit(c, req.min_level)))
        .max_by_key(|(c, credit)| (*credit, c.level, c.evidence))
}

fn skill_fit(req: &Requirement, supply: &Supply) -> SkillFit {
    let best = best_claim(req, supply);
    let fit = match best {
        None => Fit::Missing,
        Some((c, _)) => match level_credit(c.level, req.min_level) {
            MAX_SCORE => Fit::Matched,
            0 => Fit::BelowLevel,
            _ => Fit::Partial,
        },
    };
    SkillFit {
        skill: req.skill.clone(),
        min_level: req.min_level,
        fit,
        level: best.map(|(c, _)| c.level),
        evidence: best.map(|(c, _)| c.evidence),
        credit: best.map_or(0, |(_, credit)| credit),
    }
}

/// How a remote policy fits a preference, in percent.
fn remote_fit(policy: RemotePolicy, preference: RemotePreference) -> u32 {
    use RemotePolicy as P;
    use RemotePreference as Q;
    match (policy, preference) {
        (_, Q::Any) => 100,
        (P::OnSite, Q::OnSite) | (P::Hybrid, Q::Hybrid) | (P::Remote, Q::Remote) => 100,
        (P::OnSite, Q::Hybrid) | (P::Hybrid, Q::OnSite) | (P::Remote, Q::Hybrid) => 75,
        (P::Hybrid, Q::Remote) | (P::Remote, Q::OnSite) => 50,
        (P::OnSite, Q::Remote) => 0,
    }
}

/// Where the work is against where the candidate is, and that fit in percent.
fn location_fit(demand: &Demand, supply: &Supply) -> (LocationFit, u32) {
    if demand.remote == RemotePolicy::Remote {
        return (LocationFit::NotNeeded, 100);
    }
    let place = |s: &Option<String>| {
        s.as_deref()
            .map(place_key)
            .filter(|k: &String| !k.is_empty())
    };
    match (place(&demand.location), place(&supply.location)) {
        (Some(a), Some(b)) if a == b => (LocationFit::Same, 100),
        _ if supply.willing_to_relocate => (LocationFit::WillingToRelocate, 75),
        (Some(_), Some(_)) => (LocationFit::Elsewhere, 0),
        _ => (LocationFit::Unknown, 50),
    }
}

/// A place name compared ignoring case, spaces and punctuation: "St. Louis, MO" is
/// "St Louis MO".
fn place_key(text: &str) -> String {
    text.chars()
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// The place points alone (see [`PlaceFit`]).
pub fn place_points(demand: &Demand, supply: &Supply) -> u32 {
    place_fit(demand, supply).points
}

fn place_fit(demand: &Demand, supply: &Supply) -> PlaceFit {
    let remote = remote_fit(demand.remote, supply.remote);
    let (location, located) = location_fit(demand, supply);
    PlaceFit {
        policy: demand.remote,
        preference: supply.remote,
        remote_fit: remote,
        location,
        points: PLACE_WEIGHT * remote * located / 10_000,
    }
}
