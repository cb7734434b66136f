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
    results
        .hits
        .iter()
        .map(|h| (h.local_id().expect("a local candidate"), h.found.score))
        .collect()
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

// --- Remote profiles -------------------------------------------------------------------------

mod remote_profiles {
    use std::collections::HashMap;
    use std::sync::Arc;

    use techhire_protocol::{
        NodeKeypair, ProfileId, Scope, SharedAssessment, SharedProfile, SharedProject, SharedSkill,
        SignedRecord, Tombstone, TombstoneReason,
    };

    use super::*;
    use crate::federation::{feed, now_ms};
    use crate::store::StoreOptions;

    const DAY_MS: u64 = 86_400_000;
    /// Where the brute force puts remote profiles: after every local id, in the order
    /// they were indexed (the index's tie-break).
    const REMOTE_IDS: u64 = 1 << 40;

    fn origin(i: u8) -> PublicKey {
        NodeKeypair::from_seed([i; 32]).public()
    }

    fn key_of(i: usize) -> RemoteKey {
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&(i as u64).to_be_bytes());
        RemoteKey {
            origin: origin(1 + (i % 3) as u8),
            profile: ProfileId(id),
        }
    }

    fn remote(supply: &Supply) -> RemoteProfile {
        RemoteProfile {
            supply: Supply {
                vetting: None,
                ..supply.clone()
            },
            seq: 1,
            expires_at_ms: now_ms() + DAY_MS,
        }
    }

    /// Local candidates 1..=n and remote profiles `key_of(0..)`, and the brute-force id of
    /// each subject.
    fn mixed(local: &[Indexed], remotes: &[Indexed]) -> (CandidateIndex, HashMap<Subject, u64>) {
        let index = index_of(local);
        let mut ids: HashMap<Subject, u64> = (1..=local.len() as u64)
            .map(|id| (Subject::Local(id), id))
            .collect();
        for (i, r) in remotes.iter().enumerate() {
            index.put_remote(key_of(i), Some(remote(&r.supply)));
            ids.insert(Subject::Remote(key_of(i)), REMOTE_IDS + i as u64);
        }
        (index, ids)
    }

    fn pool<'a>(local: &'a [Indexed], remotes: &'a [Indexed]) -> Vec<(u64, Supply)> {
        local
            .iter()
            .enumerate()
            .filter(|(_, c)| c.searchable)
            .map(|(i, c)| (i as u64 + 1, c.supply.clone()))
            .chain(
                remotes
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (REMOTE_IDS + i as u64, remote(&r.supply).supply)),
            )
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(150))]

        #[test]
        fn remote_and_local_rank_together_by_the_same_score(
            local in prop::collection::vec(candidate(), 0..40),
            remotes in prop::collection::vec(candidate(), 0..40),
            required in requirements(3),
            remote_policy in policy(),
            top in 1usize..20,
        ) {
            let (index, ids) = mixed(&local, &remotes);
            let demand = Demand {
                required,
                nice_to_have: Vec::new(),
                remote: remote_policy,
                location: None,
            };
            let got = index.matches(&demand, top);
            let considered: Vec<(u64, Supply)> = pool(&local, &remotes)
                .into_iter()
                .filter(|(_, s)| {
                    demand.required.is_empty()
                        || demand.required.iter().any(|r| holds(s, &r.skill))
                })
                .collect();
            let want = matching::rank(
                &demand,
                considered.iter().map(|(id, s)| (*id, s)),
                top,
            );
            prop_assert_eq!(got.total, considered.len() as u64);
            let got_ids: Vec<(u64, u32)> =
                got.hits.iter().map(|h| (ids[&h.subject], h.found.score)).collect();
            let want_ids: Vec<(u64, u32)> = want.iter().map(|(id, m)| (*id, m.score)).collect();
            prop_assert_eq!(got_ids, want_ids);
            for (hit, (_, m)) in got.hits.iter().zip(&want) {
                prop_assert_eq!(&hit.found, m);
                prop_assert_eq!(hit.seq.is_some(), matches!(hit.subject, Subject::Remote(_)));
            }
        }

        #[test]
        fn search_filters_remote_profiles_like_local_ones(
            local in prop::collection::vec(candidate(), 0..40),
            remotes in prop::collection::vec(candidate(), 0..40),
            required in requirements(2),
            min_evidence in prop::option::of(evidence()),
            remote_only in any::<bool>(),
        ) {
            let (index, ids) = mixed(&local, &remotes);
            let search = Search {
                skills: required
                    .into_iter()
                    .map(|r| SkillFilter { skill: r.skill, min_level: r.min_level })
                    .collect(),
                min_evidence,
                remote: remote_only,
            };
            let got = index.search(&search, 50);
            let qualified: Vec<(u64, Supply)> = pool(&local, &remotes)
                .into_iter()
                .filter(|(_, s)| {
                    (!remote_only || s.remote != RemotePreference::OnSite)
                        && search.skills.iter().all(|f| {
                            s.skills.iter().any(|c| {
                                c.skill == f.skill
                                    && c.level >= f.min_level
                                    && min_evidence.is_none_or(|e| c.evidence >= e)
                            })
                        })
                })
                .collect();
            let want = matching::rank(
                &search.demand(),
                qualified.iter().map(|(id, s)| (*id, s)),
                50,
            );
            prop_assert_eq!(got.total, qualified.len() as u64);
            let got_ids: Vec<(u64, u32)> =
                got.hits.iter().map(|h| (ids[&h.subject], h.found.score)).collect();
            let want_ids: Vec<(u64, u32)> = want.iter().map(|(id, m)| (*id, m.score)).collect();
            prop_assert_eq!(got_ids, want_ids);
        }

        #[test]
        fn dropping_and_readding_remote_profiles_leaves_no_trace(
            first in prop::collection::vec(candidate(), 1..30),
            second in prop::collection::vec(prop::option::of(candidate()), 1..30),
        ) {
            // Remote numbers are reused after a drop: the index must still equal one made
            // from what is left.
            let (index, _) = mixed(&[], &first);
            for (i, r) in second.iter().enumerate() {
                index.put_remote(key_of(i), r.as_ref().map(|r| remote(&r.supply)));
            }
            for i in second.len()..first.len() {
                index.put_remote(key_of(i), None);
            }
            let fresh = CandidateIndex::empty();
            for (i, r) in second.iter().enumerate() {
                if let Some(r) = r {
                    fresh.put_remote(key_of(i), Some(remote(&r.supply)));
                }
            }
            let demand = Demand {
                required: (0..KEYS.len())
                    .map(|k| Requirement { skill: key(k), min_level: Level::Beginner })
                    .collect(),
                nice_to_have: Vec::new(),
                remote: RemotePolicy::Remote,
                location: None,
            };
            prop_assert_eq!(index.len(), fresh.len());
            prop_assert_eq!(index.remote_len(), fresh.remote_len());
            let scores = |ix: &CandidateIndex| {
                let mut v: Vec<(RemoteKey, u32)> = ix
                    .matches(&demand, 100)
                    .hits
                    .into_iter()
                    .filter_map(|h| match h.subject {
                        Subject::Remote(k) => Some((k, h.found.score)),
                        Subject::Local(_) => None,
                    })
                    .collect();
                v.sort();
                v
            };
            prop_assert_eq!(scores(&index), scores(&fresh));
        }
    }

    fn shared(id: u8, expires_at_ms: u64) -> SharedProfile {
        SharedProfile {
            id: ProfileId([id; 16]),
            version: 1,
            home_community: "Akron, OH".into(),
            home_region: "OH".into(),
            scope: Scope::Federation,
            expires_at_ms,
            skills: vec![
                SharedSkill {
                    skill_id: "python".into(),
                    level: 3,
                    evidence: 3,
                },
                SharedSkill {
                    skill_id: "sql".into(),
                    level: 1,
                    evidence: 0,
                },
            ],
            assessments: vec![SharedAssessment {
                skill_id: "sql".into(),
                instrument: "SQL test".into(),
                percent: 80,
                year: 2025,
            }],
            training: None,
            certificates: vec![],
            work: vec![],
            projects: vec![SharedProject {
                name: "Dashboard".into(),
                description: String::new(),
                skills: vec!["react".into(), "python".into()],
            }],
            desired_roles: vec![],
            desired_occupations: vec![],
            remote: 2,
            relocate: true,
        }
    }

    #[test]
    fn a_shared_profile_is_supplied_by_the_rules_of_a_local_one() {
        let supply = supply_of_shared(&shared(1, u64::MAX), Taxonomy::builtin());
        let claim = |skill: &str, level, evidence| Claim {
            skill: SkillKey::Id(skill.into()),
            level,
            evidence,
        };
        // Python advanced by certificate beats the project's beginner claim on both counts;
        // SQL assessed at 80% is advanced and beats the self-reported beginner claim.
        assert_eq!(
            supply.skills,
            vec![
                claim("python", Level::Advanced, Evidence::Certificate),
                claim("react", Level::Beginner, Evidence::Project),
                claim("sql", Level::Advanced, Evidence::Assessment),
            ]
        );
        assert_eq!(supply.vetting, None);
        assert_eq!(supply.remote, RemotePreference::Remote);
        assert!(supply.willing_to_relocate);
        assert_eq!(supply.location, None);
        assert_eq!(
            crate::matching::assessed_level(62, 100),
            supply_of_shared(
                &SharedProfile {
                    assessments: vec![SharedAssessment {
                        skill_id: "go".into(),
                        instrument: "Go test".into(),
                        percent: 62,
                        year: 2025,
                    }],
                    ..shared(1, u64::MAX)
                },
                Taxonomy::builtin()
            )
            .skills
            .iter()
            .find(|c| c.skill == SkillKey::Id("go".into()))
            .map(|c| c.level)
            .expect("test set-up")
        );
    }

    /// A peer cannot grow the index by sending skill ids this node's taxonomy does not
    /// know: they are dropped (no search could name them), and take no slot.
    #[test]
    fn unknown_skill_ids_from_peers_take_no_slot() {
        let made_up = |i: u32| format!("made-up-skill-{i}");
        let profile = |id: u8, base: u32| SharedProfile {
            skills: (base..base + 50)
                .map(|i| SharedSkill {
                    skill_id: made_up(i),
                    level: 2,
                    evidence: 0,
                })
                .chain(std::iter::once(SharedSkill {
                    skill_id: "python".into(),
                    level: 2,
                    evidence: 0,
                }))
                .collect(),
            assessments: vec![SharedAssessment {
                skill_id: made_up(base + 1000),
                instrument: "Quiz".into(),
                percent: 90,
                year: 2025,
            }],
            projects: vec![SharedProject {
                name: "P".into(),
                description: String::new(),
                skills: vec![made_up(base + 2000)],
            }],
            ..shared(id, u64::MAX)
        };
        let supply = supply_of_shared(&profile(1, 0), Taxonomy::builtin());
        assert_eq!(
            supply
                .skills
                .iter()
                .map(|c| c.skill.clone())
                .collect::<Vec<_>>(),
            vec![SkillKey::Id("python".into())]
        );
        let index = CandidateIndex::empty();
        let origin = NodeKeypair::from_seed([3; 32]).public();
        for i in 0..20u8 {
            index.write().set_remote(
                RemoteKey {
                    origin,
                    profile: ProfileId([i; 16]),
                },
                Some(RemoteProfile::new(
                    &profile(i, u32::from(i) * 100),
                    1,
                    Taxonomy::builtin(),
                )),
            );
        }
        assert_eq!(index.read().keys.len(), 1, "only python has a slot");
        assert_eq!(remote_hits(&index).len(), 20);
    }

    fn python_search() -> Search {
        Search {
            skills: vec![SkillFilter {
                skill: SkillKey::Id("python".into()),
                min_level: Level::Beginner,
            }],
            min_evidence: None,
            remote: false,
        }
    }

    fn remote_hits(index: &CandidateIndex) -> Vec<RemoteKey> {
        index
            .search(&python_search(), 100)
            .hits
            .into_iter()
            .filter_map(|h| match h.subject {
                Subject::Remote(k) => Some(k),
                Subject::Local(_) => None,
            })
            .collect()
    }

    #[test]
    fn an_expired_profile_is_not_returned_even_without_its_tombstone() {
        let index = CandidateIndex::empty();
        let now = now_ms();
        let soon = RemoteProfile::new(&shared(1, now + 60_000), 1, Taxonomy::builtin());
        let later = RemoteProfile::new(&shared(2, now + DAY_MS), 1, Taxonomy::builtin());
        index.put_remote(key_of(1), Some(soon));
        index.put_remote(key_of(2), Some(later));
        assert_eq!(remote_hits(&index).len(), 2);
        index.expire(now + 60_000);
        assert_eq!(remote_hits(&index), vec![key_of(2)]);
        assert_eq!(index.remote_len(), 1);
        // Left to the queries themselves: one that expired a moment ago is gone too.
        index.put_remote(
            key_of(3),
            Some(RemoteProfile::new(
                &shared(3, now_ms() + 30),
                1,
                Taxonomy::builtin(),
            )),
        );
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(remote_hits(&index), vec![key_of(2)]);
    }

    struct Feeds {
        store: Store,
        _dir: tempfile::TempDir,
    }

    impl Feeds {
        fn new() -> Feeds {
            let dir = tempfile::tempdir().expect("test set-up");
            let store =
                Store::open(&dir.path().join("db"), &StoreOptions::default()).expect("test set-up");
            Feeds { store, _dir: dir }
        }

        /// Stores `records` as sync does; returns them.
        fn store(&self, records: &[SignedRecord]) {
            self.store
                .apply(|tx| {
                    for r in records {
                        feed::offer(tx, r, false)?;
                    }
                    Ok::<_, StoreError>(())
                })
                .expect("test set-up");
        }
    }

    fn signed(who: &NodeKeypair, seq: u64, p: &SharedProfile) -> SignedRecord {
        p.try_sign(who, seq, now_ms()).expect("test set-up")
    }

    fn tombstone(who: &NodeKeypair, seq: u64, id: u8) -> SignedRecord {
        Tombstone {
            id: ProfileId([id; 16]),
            reason: TombstoneReason::Withdrawn,
        }
        .try_sign(who, seq, now_ms())
        .expect("test set-up")
    }

    fn keyed(who: &NodeKeypair, id: u8) -> RemoteKey {
        RemoteKey {
            origin: who.public(),
            profile: ProfileId([id; 16]),
        }
    }

    #[test]
    fn load_reads_other_origins_live_profiles_and_the_follower_keeps_up() {
        let feeds = Feeds::new();
        let own = NodeKeypair::from_seed([7; 32]);
        let akron = NodeKeypair::from_seed([8; 32]);
        let far = now_ms() + DAY_MS;
        feeds.store(&[
            signed(&akron, 1, &shared(1, far)),
            signed(&akron, 2, &shared(2, far)),
            signed(&akron, 3, &shared(3, now_ms() - 1)),
            tombstone(&akron, 4, 2),
        ]);
        // The node's own profiles are its local candidates, never remote ones.
        feeds.store(&[signed(&own, 1, &shared(9, far))]);
        let (index, stats) =
            CandidateIndex::rebuild(&feeds.store, Taxonomy::builtin(), own.public())
                .expect("test set-up");
        assert_eq!(stats.remote, 1);
        assert_eq!(remote_hits(&index), vec![keyed(&akron, 1)]);

        // Then the follower: a new profile adds, a new version replaces, a tombstone
        // removes; the node's own records are ignored.
        let index = Arc::new(index);
        let follower = index.follower(feeds.store.clone());
        let later = [
            signed(&akron, 5, &shared(5, far)),
            signed(
                &akron,
                6,
                &SharedProfile {
                    skills: vec![],
                    projects: vec![],
                    version: 2,
                    ..shared(1, far)
                },
            ),
        ];
        feeds.store(&later);
        (follower.0)(&later);
        assert_eq!(remote_hits(&index), vec![keyed(&akron, 5)]);
        let gone = [tombstone(&akron, 7, 5)];
        feeds.store(&gone);
        (follower.0)(&gone);
        assert_eq!(remote_hits(&index), Vec::<RemoteKey>::new());
        assert_eq!(
            index.remote_len(),
            1,
            "profile 1's new version, without python"
        );
        let mine = [signed(&own, 2, &shared(10, far))];
        feeds.store(&mine);
        (follower.0)(&mine);
        assert_eq!(index.remote_len(), 1);
    }

    #[test]
    fn records_heard_while_loading_are_applied_after_and_never_undo_later_ones() {
        let feeds = Feeds::new();
        let akron = NodeKeypair::from_seed([8; 32]);
        let far = now_ms() + DAY_MS;
        let index = CandidateIndex::following(NodeKeypair::from_seed([7; 32]).public());
        // Heard before `load` ran: profile 1, then its tombstone (so the feed holds only the
        // tombstone), and profile 2 whose record the load also reads.
        let first = [signed(&akron, 1, &shared(1, far))];
        feeds.store(&first);
        index.follow(&feeds.store, &first);
        let rest = [tombstone(&akron, 2, 1), signed(&akron, 3, &shared(2, far))];
        feeds.store(&rest);
        index.follow(&feeds.store, &rest);
        assert!(index.is_empty(), "nothing is applied before load");
        index
            .load(&feeds.store, Taxonomy::builtin())
            .expect("test set-up");
        assert_eq!(remote_hits(&index), vec![keyed(&akron, 2)]);

        // Heard late and out of order (a profile after its own tombstone): the feed no
        // longer holds it, so it stays out.
        let index = CandidateIndex::empty();
        index.follow(&feeds.store, &rest[..1]);
        index.follow(&feeds.store, &first);
        assert_eq!(index.remote_len(), 0);
    }
}
