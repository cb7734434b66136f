//! The index must give the very results a brute-force pass of `matching` gives over the
//! same candidates: property tests hold the two together.

use proptest::prelude::*;

use super::*;
use crate::matching::{self, Demand, Requirement};
use crate::model::{Evidence, Level, RemotePolicy};

const KEYS: [&str; 6] = ["python", "sql", "react", "linux", "excel", "cobol"];

fn key(i: usize) -> SkillKey {
    if i == 5 {
        SkillKey::Text("cobol".into())
    } else {
        SkillKey::Id(KEYS[i].into())
    }
}

fn level() -> impl Strategy<Value = Level> {
    prop_oneof![
        Just(Level::Beginner),
        Just(Level::Intermediate),
        Just(Level::Advanced),
        Just(Level::Expert)
    ]
}

fn evidence() -> impl Strategy<Value = Evidence> {
    prop_oneof![
        Just(Evidence::SelfReported),
        Just(Evidence::Project),
        Just(Evidence::WorkExperience),
        Just(Evidence::Certificate),
        Just(Evidence::Assessment)
    ]
}

fn preference() -> impl Strategy<Value = RemotePreference> {
    prop_oneof![
        Just(RemotePreference::OnSite),
        Just(RemotePreference::Hybrid),
        Just(RemotePreference::Remote),
        Just(RemotePreference::Any)
    ]
}

fn recommendation() -> impl Strategy<Value = Option<Recommendation>> {
    prop_oneof![
        Just(None),
        Just(Some(Recommendation::NotYet)),
        Just(Some(Recommendation::Maybe)),
        Just(Some(Recommendation::Recommend)),
        Just(Some(Recommendation::StronglyRecommend))
    ]
}

prop_compose! {
    fn candidate()(
        claims in prop::collection::vec((0..KEYS.len(), level(), evidence()), 0..6),
        vetting in recommendation(),
        remote in preference(),
        relocate in any::<bool>(),
        searchable in prop::bool::weighted(0.85),
    ) -> Indexed {
        let mut supply = Supply {
            skills: claims
                .into_iter()
                .map(|(k, level, evidence)| Claim { skill: key(k), level, evidence })
                .collect(),
            vetting,
            remote,
            willing_to_relocate: relocate,
            location: None,
        };
        supply.tidy();
        Indexed { supply, searchable }
    }
}

fn requirements(max: usize) -> impl Strategy<Value = Vec<Requirement>> {
    prop::collection::btree_map(0..KEYS.len() + 1, level(), 0..=max).prop_map(|m| {
        m.into_iter()
            .map(|(k, min_level)| Requirement {
                // One key past the list: a skill no candidate claims.
                skill: if k == KEYS.len() {
                    SkillKey::Id("fortran".into())
                } else {
                    key(k)
                },
                min_level,
            })
            .collect()
    })
}

fn policy() -> impl Strategy<Value = RemotePolicy> {
    prop_oneof![
        Just(RemotePolicy::OnSite),
        Just(RemotePolicy::Hybrid),
        Just(RemotePolicy::Remote)
    ]
}

fn index_of(candidates: &[Indexed]) -> CandidateIndex {
    let index = CandidateIndex::empty();
    for (i, c) in candidates.iter().enumerate() {
        index.put(i as u64 + 1, Some(c.clone()));
    }
    index
}

fn holds(supply: &Supply, skill: &SkillKey) -> bool {
    supply.skills.iter().any(|c| c.skill == *skill)
}

fn ids(results: &Results) -> Vec<(u64, u32)> {
    results.hits.iter().map(|h| (h.id, h.found.score)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn matches_equal_a_brute_force_ranking(
        candidates in prop::collection::vec(candidate(), 0..60),
        required in requirements(3),
        nice in requirements(2),
        remote in policy(),
        top in 1usize..15,
    ) {
        let nice: Vec<Requirement> = nice
            .into_iter()
            .filter(|n| !required.iter().any(|r| r.skill == n.skill))
            .collect();
        let demand = Demand { required, nice_to_have: nice, remote, location: None };
        let index = index_of(&candidates);
        let got = index.matches(&demand, top);

        let considered = |s: &Supply| {
            if !demand.required.is_empty() {
                demand.required.iter().any(|r| holds(s, &r.skill))
            } else if !demand.nice_to_have.is_empty() {
                demand.nice_to_have.iter().any(|r| holds(s, &r.skill))
            } else {
                true
            }
        };
        let pool: Vec<(u64, &Supply)> = candidates
            .iter()
            .enumerate()
            .filter(|(_, c)| c.searchable && considered(&c.supply))
            .map(|(i, c)| (i as u64 + 1, &c.supply))
            .collect();
        let want = matching::rank(&demand, pool.iter().copied(), top);
        prop_assert_eq!(got.total, pool.len() as u64);
        let want_ids: Vec<(u64, u32)> = want.iter().map(|(id, m)| (*id, m.score)).collect();
        prop_assert_eq!(ids(&got), want_ids);
        for (hit, (_, m)) in got.hits.iter().zip(&want) {
            prop_assert_eq!(&hit.found, m);
        }
    }

    #[test]
    fn search_equals_a_brute_force_filter_and_ranking(
        candidates in prop::collection::vec(candidate(), 0..60),
        required in requirements(3),
        min_evidence in prop::option::of(evidence()),
        remote in any::<bool>(),
        top in 1usize..15,
    ) {
        let search = Search {
            skills: required
                .into_iter()
                .map(|r| SkillFilter { skill: r.skill, min_level: r.min_level })
                .collect(),
            min_evidence,
            remote,
        };
        let index = index_of(&candidates);
        let got = index.search(&search, top);

        let qualifies = |s: &Supply| {
            (!remote || s.remote != RemotePreference::OnSite)
                && search.skills.iter().all(|f| {
                    s.skills.iter().any(|c| {
                        c.skill == f.skill
                            && c.level >= f.min_level
                            && min_evidence.is_none_or(|e| c.evidence >= e)
                    })
                })
        };
        let pool: Vec<(u64, &Supply)> = candidates
            .iter()
            .enumerate()
            .filter(|(_, c)| c.searchable && qualifies(&c.supply))
            .map(|(i, c)| (i as u64 + 1, &c.supply))
            .collect();
        let want = matching::rank(&search.demand(), pool.iter().copied(), top);
        prop_assert_eq!(got.total, pool.len() as u64);
        let want_ids: Vec<(u64, u32)> = want.iter().map(|(id, m)| (*id, m.score)).collect();
        prop_assert_eq!(ids(&got), want_ids);
    }

    #[test]
    fn replacing_and_removing_candidates_leaves_no_trace(
        first in prop::collection::vec(candidate(), 1..30),
        second in prop::collection::vec(candidate(), 1..30),
    ) {
        // Index `first`, overwrite with `second` (dropping the ids `second` lacks): the
        // result must equal an index made from `second` alone.
        let index = index_of(&first);
        for i in 0..first.len().max(second.len()) {
            index.put(i as u64 + 1, second.get(i).cloned());
        }
        let fresh = index_of(&second);
        let demand = Demand {
            required: (0..KEYS.len())
                .map(|k| Requirement { skill: key(k), min_level: Level::Beginner })
                .collect(),
            nice_to_have: Vec::new(),
            remote: RemotePolicy::Remote,
            location: None,
        };
        prop_assert_eq!(index.len(), fresh.len());
        prop_assert_eq!(
            ids(&index.matches(&demand, 100)),
            ids(&fresh.matches(&demand, 100))
        );
        prop_assert_eq!(index.unmatched(), fresh.unmatched());
    }
}

#[test]
fn placed_withdrawn_and_not_hired_candidates_are_not_offered() {
    use crate::model::Stage;
    for stage in [Stage::Placed, Stage::Withdrawn, Stage::NotHired] {
        assert!(!searchable(stage), "{stage:?}");
    }
    for stage in [
        Stage::Applied,
        Stage::Assessed,
        Stage::Vetted,
        Stage::Matched,
        Stage::Introduced,
    ] {
        assert!(searchable(stage), "{stage:?}");
    }
}

#[test]
fn unmatched_lists_free_text_by_how_many_claim_it() {
    let index = CandidateIndex::empty();
    let with = |skills: &[SkillKey]| Indexed {
        supply: Supply {
            skills: skills
                .iter()
                .map(|s| Claim {
                    skill: s.clone(),
                    level: Level::Beginner,
                    evidence: Evidence::SelfReported,
                })
                .collect(),
            vetting: None,
            remote: RemotePreference::Any,
            willing_to_relocate: false,
            location: None,
        },
        searchable: true,
    };
    let cobol = SkillKey::Text("cobol".into());
    let abap = SkillKey::Text("abap".into());
    index.put(1, Some(with(&[cobol.clone(), SkillKey::Id("sql".into())])));
    index.put(2, Some(with(&[cobol.clone(), abap.clone()])));
    index.put(3, Some(with(&[abap])));
    index.put(3, None);
    assert_eq!(
        index.unmatched(),
        vec![("cobol".to_string(), 2), ("abap".to_string(), 1)]
    );
    assert_eq!(index.len(), 2);
}

#[test]
fn a_score_class_keeps_what_scoring_needs() {
    let recommendations = [
        None,
        Some(Recommendation::NotYet),
        Some(Recommendation::Maybe),
        Some(Recommendation::Recommend),
        Some(Recommendation::StronglyRecommend),
    ];
    let preferences = [
        RemotePreference::OnSite,
        RemotePreference::Hybrid,
        RemotePreference::Remote,
        RemotePreference::Any,
    ];
    let mut seen = std::collections::HashSet::new();
    for vetting in recommendations {
        for remote in preferences {
            for relocate in [false, true] {
                let e = Entry {
                    claims: Box::new([]),
                    vetting,
                    remote,
                    relocate,
                };
                let class = class_of(&e);
                assert!(usize::from(class) < CLASSES);
                let (v, r, l) = class_parts(usize::from(class));
                assert_eq!(
                    crate::matching::vetting_points(v),
                    crate::matching::vetting_points(vetting)
                );
                assert_eq!((r, l), (remote, relocate));
                seen.insert(class);
            }
        }
    }
    assert_eq!(seen.len(), CLASSES, "every class is used");
}
