//! Tests of matching: table-driven explanations, the worked example of `docs/matching.md`,
//! the builders from model records, ranking, and the properties the issue asks for.

use chrono::NaiveDate;
use proptest::prelude::*;

use super::*;
use crate::model::{OpeningStatus, Project, Rubric, SkillClaim, SkillName};

fn id(s: &str) -> SkillKey {
    SkillKey::Id(s.to_owned())
}

fn req(skill: &str, min_level: Level) -> Requirement {
    Requirement {
        skill: id(skill),
        min_level,
    }
}

fn claim(skill: &str, level: Level, evidence: Evidence) -> Claim {
    Claim {
        skill: id(skill),
        level,
        evidence,
    }
}

fn demand(required: Vec<Requirement>, nice_to_have: Vec<Requirement>) -> Demand {
    Demand {
        required,
        nice_to_have,
        remote: RemotePolicy::Remote,
        location: None,
    }
}

fn supply(skills: Vec<Claim>) -> Supply {
    Supply {
        skills,
        vetting: None,
        remote: RemotePreference::Any,
        willing_to_relocate: false,
        location: None,
    }
}

// Explanations, table-driven.

#[test]
fn each_skill_is_explained_with_level_evidence_and_credit() {
    use Evidence::*;
    use Level::*;
    // (claims of "python", level asked for) → (fit, level shown, evidence shown, credit)
    type Case = (Vec<Claim>, Level, Fit, Option<Level>, Option<Evidence>, u32);
    let cases: Vec<Case> = vec![
        (vec![], Beginner, Fit::Missing, None, None, 0),
        (
            vec![claim("python", Intermediate, Assessment)],
            Intermediate,
            Fit::Matched,
            Some(Intermediate),
            Some(Assessment),
            10_000,
        ),
        (
            vec![claim("python", Expert, SelfReported)],
            Intermediate,
            Fit::Matched,
            Some(Expert),
            Some(SelfReported),
            6_000,
        ),
        (
            vec![claim("python", Advanced, Project)],
            Advanced,
            Fit::Matched,
            Some(Advanced),
            Some(Project),
            7_000,
        ),
        (
            vec![claim("python", Advanced, WorkExperience)],
            Advanced,
            Fit::Matched,
            Some(Advanced),
            Some(WorkExperience),
            8_000,
        ),
        (
            vec![claim("python", Advanced, Certificate)],
            Advanced,
            Fit::Matched,
            Some(Advanced),
            Some(Certificate),
            9_000,
        ),
        (
            vec![claim("python", Intermediate, Assessment)],
            Advanced,
            Fit::Partial,
            Some(Intermediate),
            Some(Assessment),
            5_000,
        ),
        (
            vec![claim("python", Intermediate, SelfReported)],
            Advanced,
            Fit::Partial,
            Some(Intermediate),
            Some(SelfReported),
            3_000,
        ),
        (
            vec![claim("python", Beginner, Assessment)],
            Advanced,
            Fit::BelowLevel,
            Some(Beginner),
            Some(Assessment),
            0,
        ),
        // Of several claims, the one earning the most counts: a self-reported Advanced meets
        // the level, the assessed Intermediate is one short.
        (
            vec![
                claim("python", Intermediate, Assessment),
                claim("python", Advanced, SelfReported),
            ],
            Advanced,
            Fit::Matched,
            Some(Advanced),
            Some(SelfReported),
            6_000,
        ),
        // ... but when both meet it, the stronger evidence wins.
        (
            vec![
                claim("python", Expert, SelfReported),
                claim("python", Advanced, Assessment),
            ],
            Intermediate,
            Fit::Matched,
            Some(Advanced),
            Some(Assessment),
            10_000,
        ),
        // Another skill does not count.
        (
            vec![claim("java", Expert, Assessment)],
            Beginner,
            Fit::Missing,
            None,
            None,
            0,
        ),
    ];
    for (i, (claims, min, fit, level, evidence, credit)) in cases.into_iter().enumerate() {
        let d = demand(vec![req("python", min)], vec![]);
        let m = score(&d, &supply(claims));
        let f = &m.explanation.required[0];
        assert_eq!(
            (f.fit, f.level, f.evidence, f.credit),
            (fit, level, evidence, credit),
            "case {i}"
        );
        assert_eq!(f.skill, id("python"));
        assert_eq!(f.min_level, min);
        assert_eq!(
            m.explanation.components.required,
            REQUIRED_WEIGHT * credit / MAX_SCORE
        );
    }
}

#[test]
fn remote_and_location_fit_table() {
    use LocationFit::*;
    use RemotePolicy as P;
    use RemotePreference as Q;
    let bham = Some("Birmingham, AL".to_owned());
    let bham2 = Some("birmingham al".to_owned());
    let mobile = Some("Mobile, AL".to_owned());
    // (policy, job place, preference, candidate place, relocate) → (remote %, location, points)
    let cases = vec![
        (
            P::Remote,
            None,
            Q::Remote,
            None,
            false,
            100,
            NotNeeded,
            1000,
        ),
        (
            P::Remote,
            bham.clone(),
            Q::Any,
            mobile.clone(),
            false,
            100,
            NotNeeded,
            1000,
        ),
        (P::Remote, None, Q::Hybrid, None, false, 75, NotNeeded, 750),
        (P::Remote, None, Q::OnSite, None, false, 50, NotNeeded, 500),
        (
            P::OnSite,
            bham.clone(),
            Q::OnSite,
            bham2.clone(),
            false,
            100,
            Same,
            1000,
        ),
        (
            P::OnSite,
            bham.clone(),
            Q::Any,
            mobile.clone(),
            true,
            100,
            WillingToRelocate,
            750,
        ),
        (
            P::OnSite,
            bham.clone(),
            Q::Any,
            None,
            true,
            100,
            WillingToRelocate,
            750,
        ),
        (
            P::OnSite,
            bham.clone(),
            Q::Any,
            None,
            false,
            100,
            Unknown,
            500,
        ),
        (
            P::OnSite,
            None,
            Q::OnSite,
            bham.clone(),
            false,
            100,
            Unknown,
            500,
        ),
        (
            P::OnSite,
            bham.clone(),
            Q::OnSite,
            mobile.clone(),
            false,
            100,
            Elsewhere,
            0,
        ),
        (
            P::OnSite,
            bham.clone(),
            Q::Remote,
            bham.clone(),
            false,
            0,
            Same,
            0,
        ),
        (
            P::OnSite,
            bham.clone(),
            Q::Hybrid,
            bham.clone(),
            false,
            75,
            Same,
            750,
        ),
        (
            P::Hybrid,
            bham.clone(),
            Q::Hybrid,
            bham.clone(),
            false,
            100,
            Same,
            1000,
        ),
        (
            P::Hybrid,
            bham.clone(),
            Q::OnSite,
            bham.clone(),
            false,
            75,
            Same,
            750,
        ),
        (
            P::Hybrid,
            bham.clone(),
            Q::Remote,
            mobile.clone(),
            true,
            50,
            WillingToRelocate,
            375,
        ),
    ];
    for (i, (policy, job, pref, home, relocate, remote_fit, location, points)) in
        cases.into_iter().enumerate()
    {
        let d = Demand {
            remote: policy,
            location: job,
            ..demand(vec![], vec![])
        };
        let s = Supply {
            remote: pref,
            location: home,
            willing_to_relocate: relocate,
            ..supply(vec![])
        };
        let p = score(&d, &s).explanation.place;
        assert_eq!(
            (p.policy, p.preference, p.remote_fit, p.location, p.points),
            (policy, pref, remote_fit, location, points),
            "case {i}"
        );
    }
}

#[test]
fn vetting_points_rise_with_the_recommendation() {
    use Recommendation::*;
    let cases = [
        (None, 0),
        (Some(NotYet), 0),
        (Some(Maybe), 400),
        (Some(Recommend), 800),
        (Some(StronglyRecommend), 1200),
    ];
    for (vetting, points) in cases {
        let m = score(
            &demand(vec![], vec![]),
            &Supply {
                vetting,
                ..supply(vec![])
            },
        );
        assert_eq!(
            m.explanation.vetting,
            VettingFit {
                recommendation: vetting,
                points
            }
        );
    }
}

#[test]
fn a_perfect_fit_scores_the_maximum_and_no_skills_asked_means_none_missing() {
    let d = demand(
        vec![req("python", Level::Advanced), req("sql", Level::Beginner)],
        vec![req("git", Level::Beginner)],
    );
    let s = Supply {
        vetting: Some(Recommendation::StronglyRecommend),
        ..supply(vec![
            claim("python", Level::Expert, Evidence::Assessment),
            claim("sql", Level::Beginner, Evidence::Assessment),
            claim("git", Level::Advanced, Evidence::Assessment),
        ])
    };
    assert_eq!(score(&d, &s).score, MAX_SCORE);
    let none = score(&demand(vec![], vec![]), &supply(vec![]));
    assert_eq!(none.explanation.components.required, REQUIRED_WEIGHT);
    assert_eq!(
        none.explanation.components.nice_to_have,
        NICE_TO_HAVE_WEIGHT
    );
}

#[test]
fn meeting_every_required_level_self_reported_beats_meeting_none_with_all_else_perfect() {
    let d = Demand {
        remote: RemotePolicy::OnSite,
        location: Some("Birmingham".to_owned()),
        ..demand(
            vec![
                req("python", Level::Advanced),
                req("sql", Level::Intermediate),
            ],
            vec![req("git", Level::Beginner)],
        )
    };
    let weakest = Supply {
        remote: RemotePreference::Remote,
        ..supply(vec![
            claim("python", Level::Advanced, Evidence::SelfReported),
            claim("sql", Level::Intermediate, Evidence::SelfReported),
        ])
    };
    let strongest_without = Supply {
        vetting: Some(Recommendation::StronglyRecommend),
        location: Some("Birmingham".to_owned()),
        ..supply(vec![claim("git", Level::Expert, Evidence::Assessment)])
    };
    assert!(score(&d, &weakest).score > score(&d, &strongest_without).score);
}

/// The worked example of `docs/matching.md`: if this changes, change the document.
#[test]
fn the_worked_example_in_the_docs() {
    let opening = Opening {
        employer_id: 1,
        title: "Junior web developer".to_owned(),
        soc_code: "15-1254".to_owned(),
        description: None,
        required_skills: vec![
            SkillRequirement {
                skill: "JS".to_owned(),
                skill_id: None,
                min_level: Level::Intermediate,
            },
            SkillRequirement {
                skill: "HTML5".to_owned(),
                skill_id: None,
                min_level: Level::Intermediate,
            },
            SkillRequirement {
                skill: "SQL".to_owned(),
                skill_id: None,
                min_level: Level::Intermediate,
            },
        ],
        nice_to_have_skills: vec![SkillRequirement {
            skill: "ReactJS".to_owned(),
            skill_id: None,
            min_level: Level::Beginner,
        }],
        location: Some("Birmingham, AL".to_owned()),
        remote: RemotePolicy::Hybrid,
        salary_min_usd: None,
        salary_max_usd: None,
        degree_required: true,
        status: OpeningStatus::Open,
        positions: 1,
    };
    let mut profile = Profile {
        skills: vec![SkillClaim {
            skill: "sql".to_owned(),
            skill_id: None,
            level: Level::Beginner,
            evidence: Evidence::SelfReported,
        }],
        projects: vec![Project {
            name: "Food bank site".to_owned(),
            description: None,
            url: None,
            skills: vec![SkillName::text("html")],
        }],
        ..Profile::default()
    };
    // The project shows HTML at Beginner; the candidate also claims it at Advanced.
    profile.skills.push(SkillClaim {
        skill: "HTML".to_owned(),
        skill_id: None,
        level: Level::Advanced,
        evidence: Evidence::Project,
    });
    let assessment = Assessment {
        candidate_id: 7,
        skill: "JavaScript".to_owned(),
        skill_id: None,
        instrument: "HackerRank JavaScript (Basic)".to_owned(),
        score: 62,
        max_score: 100,
        taken_on: date(),
        assessor: "Ada".to_owned(),
    };
    let vetting = vetting(Recommendation::Recommend);
    let d = Demand::from_opening(&opening);
    let s = Supply::from_profile(&profile, [&assessment], [&vetting])
        .with_location(Some("birmingham al".to_owned()));
    let m = score(&d, &s);
    let e = &m.explanation;
    let fits: Vec<_> = e
        .required
        .iter()
        .map(|f| (f.skill.as_str(), f.fit, f.level, f.evidence, f.credit))
        .collect();
    assert_eq!(
        fits,
        [
            (
                "javascript",
                Fit::Matched,
                Some(Level::Intermediate),
                Some(Evidence::Assessment),
                10_000
            ),
            (
                "html",
                Fit::Matched,
                Some(Level::Advanced),
                Some(Evidence::Project),
                7_000
            ),
            (
                "sql",
                Fit::Partial,
                Some(Level::Beginner),
                Some(Evidence::SelfReported),
                3_000
            ),
        ]
    );
    assert_eq!(e.nice_to_have[0].fit, Fit::Missing);
    assert_eq!(
        e.components,
        Components {
            required: 4_666,
            nice_to_have: 0,
            vetting: 800,
            place: 1_000
        }
    );
    assert_eq!(e.place.location, LocationFit::Same);
    assert_eq!(m.score, 6_466);
}

#[test]
fn the_explanation_serialises_as_the_api_will_return_it() {
    let d = demand(vec![req("python", Level::Advanced)], vec![]);
    let s = supply(vec![claim(
        "python",
        Level::Intermediate,
        Evidence::Certificate,
    )]);
    let json = serde_json::to_value(score(&d, &s)).expect("serialises");
    assert_eq!(json["score"], 3_150 + 800 + 1_000);
    assert_eq!(
        json["explanation"]["required"][0],
        serde_json::json!({
            "skill": {"id": "python"},
            "min_level": "advanced",
            "fit": "partial",
            "level": "intermediate",
            "evidence": "certificate",
            "credit": 4_500,
        })
    );
    assert_eq!(json["explanation"]["place"]["location"], "not_needed");
    assert_eq!(
        json["explanation"]["vetting"]["recommendation"],
        serde_json::Value::Null
    );
    let back: Match = serde_json::from_value(json).expect("deserialises");
    assert_eq!(back, score(&d, &s));
}

// Builders from model records.

fn date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 3, 1).expect("a valid date")
}

fn vetting(recommendation: Recommendation) -> Vetting {
    Vetting {
        candidate_id: 7,
        reviewer: "Grace".to_owned(),
        interviewed_on: date(),
        rubric: Rubric {
            communication: 4,
            teamwork: 4,
            problem_solving: 4,
            reliability: 4,
            learning_agility: 4,
        },
        recommendation,
        notes: None,
    }
}

#[test]
fn demands_normalise_and_merge_their_skills() {
    let opening = Opening {
        employer_id: 1,
        title: "Support".to_owned(),
        soc_code: "15-1232".to_owned(),
        description: None,
        required_skills: vec![
            SkillRequirement {
                skill: "JS".to_owned(),
                skill_id: None,
                min_level: Level::Beginner,
            },
            SkillRequirement {
                skill: "JavaScript".to_owned(),
                skill_id: None,
                min_level: Level::Advanced,
            },
            SkillRequirement {
                skill: "Quux Lang".to_owned(),
                skill_id: None,
                min_level: Level::Beginner,
            },
            SkillRequirement {
                skill: "--".to_owned(),
                skill_id: None,
                min_level: Level::Beginner,
            },
        ],
        nice_to_have_skills: vec![
            SkillRequirement {
                skill: "ECMAScript".to_owned(),
                skill_id: None,
                min_level: Level::Expert,
            },
            SkillRequirement {
                skill: "k8s".to_owned(),
                skill_id: None,
                min_level: Level::Beginner,
            },
        ],
        location: None,
        remote: RemotePolicy::Remote,
        salary_min_usd: None,
        salary_max_usd: None,
        degree_required: false,
        status: OpeningStatus::Open,
        positions: 1,
    };
    let d = Demand::from_opening(&opening);
    assert_eq!(
        d.required,
        [
            req("javascript", Level::Advanced),
            Requirement {
                skill: SkillKey::Text("quuxlang".to_owned()),
                min_level: Level::Beginner
            },
            Requirement {
                skill: SkillKey::Text("--".to_owned()),
                min_level: Level::Beginner
            },
        ]
    );
    assert_eq!(d.nice_to_have.len(), 1);
    assert!(matches!(&d.nice_to_have[0].skill, SkillKey::Id(k) if k != "javascript"));
    // Unknown free text still matches exactly, whatever its spelling.
    let s = Supply::from_profile(
        &Profile {
            skills: vec![SkillClaim {
                skill: "quux-lang".to_owned(),
                skill_id: None,
                level: Level::Beginner,
                evidence: Evidence::SelfReported,
            }],
            ..Profile::default()
        },
        [],
        [],
    );
    assert_eq!(score(&d, &s).explanation.required[1].fit, Fit::Matched);
    assert_eq!(score(&d, &s).explanation.required[2].fit, Fit::Missing);
}

/// An opening asking for one skill, given as stored text and id.
fn opening_asking(skill: &str, skill_id: Option<&str>) -> Opening {
    Opening {
        employer_id: 1,
        title: "Developer".to_owned(),
        soc_code: "15-1252".to_owned(),
        description: None,
        required_skills: vec![SkillRequirement {
            skill: skill.to_owned(),
            skill_id: skill_id.map(str::to_owned),
            min_level: Level::Beginner,
        }],
        nice_to_have_skills: vec![],
        location: None,
        remote: RemotePolicy::Remote,
        salary_min_usd: None,
        salary_max_usd: None,
        degree_required: false,
        status: OpeningStatus::Open,
        positions: 1,
    }
}

#[test]
fn stored_ids_are_used_as_is_and_text_without_one_is_read_again() {
    // An id (say, picked from autocomplete) wins over what the text alone would read as.
    let d = Demand::from_opening(&opening_asking("the snake one", Some("python")));
    assert_eq!(d.required, [req("python", Level::Beginner)]);
    let profile = Profile {
        skills: vec![SkillClaim {
            skill: "my scripting".to_owned(),
            skill_id: Some("python".to_owned()),
            level: Level::Beginner,
            evidence: Evidence::SelfReported,
        }],
        projects: vec![Project {
            name: "Site".to_owned(),
            description: None,
            url: None,
            skills: vec![SkillName {
                skill: "markup".to_owned(),
                skill_id: Some("html".to_owned()),
            }],
        }],
        ..Profile::default()
    };
    let s = Supply::from_profile(&profile, [], []);
    let keys: Vec<_> = s.skills.iter().map(|c| c.skill.clone()).collect();
    assert_eq!(keys, [id("html"), id("python")]);
    assert_eq!(score(&d, &s).explanation.required[0].fit, Fit::Matched);

    // Text stored before the community added its skill has no id; it is read again through
    // the node's taxonomy, so it matches the new skill's id.
    let extended = Taxonomy::builtin()
        .extend(
            "[skills.languages]\nquux-lang = { label = \"Quux Lang\", soc = [\"15-1252\"] }\n",
            "test.toml",
        )
        .expect("a valid extension");
    let d = Demand::from_opening_in(&extended, &opening_asking("Quux Lang", None));
    assert_eq!(d.required, [req("quux-lang", Level::Beginner)]);
    let d = Demand::from_opening_in(&extended, &opening_asking("", Some("quux-lang")));
    assert_eq!(d.required, [req("quux-lang", Level::Beginner)]);
}

#[test]
fn supplies_take_claims_projects_assessments_and_the_best_vetting() {
    let profile = Profile {
        skills: vec![
            SkillClaim {
                skill: "Python 3".to_owned(),
                skill_id: None,
                level: Level::Advanced,
                evidence: Evidence::SelfReported,
            },
            SkillClaim {
                skill: "python".to_owned(),
                skill_id: None,
                level: Level::Intermediate,
                evidence: Evidence::SelfReported,
            },
            SkillClaim {
                skill: "!!".to_owned(),
                skill_id: None,
                level: Level::Expert,
                evidence: Evidence::Assessment,
            },
        ],
        projects: vec![Project {
            name: "Inventory".to_owned(),
            description: None,
            url: None,
            skills: vec![SkillName::text("SQL"), SkillName::text("Python")],
        }],
        remote_preference: RemotePreference::Hybrid,
        willing_to_relocate: true,
        ..Profile::default()
    };
    let assessment = |skill: &str, score| Assessment {
        candidate_id: 7,
        skill: skill.to_owned(),
        skill_id: None,
        instrument: "test".to_owned(),
        score,
        max_score: 40,
        taken_on: date(),
        assessor: "Ada".to_owned(),
    };
    let assessments = [assessment("python", 30), assessment("Linux", 10)];
    let vettings = [
        vetting(Recommendation::Maybe),
        vetting(Recommendation::Recommend),
    ];
    let s = Supply::from_profile(&profile, &assessments, &vettings);
    let mut claims: Vec<_> = s
        .skills
        .iter()
        .map(|c| (c.skill.as_str(), c.level, c.evidence))
        .collect();
    claims.sort();
    assert_eq!(
        claims,
        [
            ("linux", Level::Beginner, Evidence::Assessment),
            ("python", Level::Advanced, Evidence::SelfReported),
            ("python", Level::Advanced, Evidence::Assessment),
            ("sql", Level::Beginner, Evidence::Project),
        ]
        .into_iter()
        .filter(|c| c != &("python", Level::Advanced, Evidence::SelfReported))
        .collect::<Vec<_>>()
    );
    assert_eq!(s.vetting, Some(Recommendation::Recommend));
    assert_eq!(s.remote, RemotePreference::Hybrid);
    assert!(s.willing_to_relocate);
    assert_eq!(s.location, None);
}

#[test]
fn assessed_levels_follow_the_share_of_the_maximum() {
    let cases = [
        (0, 100, Level::Beginner),
        (49, 100, Level::Beginner),
        (50, 100, Level::Intermediate),
        (74, 100, Level::Intermediate),
        (3, 4, Level::Advanced),
        (89, 100, Level::Advanced),
        (9, 10, Level::Expert),
        (u32::MAX, u32::MAX, Level::Expert),
        (5, 0, Level::Beginner),
    ];
    for (score, max, level) in cases {
        assert_eq!(assessed_level(score, max), level, "{score}/{max}");
    }
}

// Ranking.

#[test]
fn ranking_orders_by_score_then_id_and_keeps_the_top_n() {
    let d = demand(vec![req("python", Level::Intermediate)], vec![]);
    let strong = supply(vec![claim("python", Level::Advanced, Evidence::Assessment)]);
    let weak = supply(vec![claim(
        "python",
        Level::Intermediate,
        Evidence::SelfReported,
    )]);
    let none = supply(vec![]);
    let pool = vec![
        (9, weak.clone()),
        (4, none.clone()),
        (5, strong.clone()),
        (2, weak.clone()),
        (3, strong.clone()),
    ];
    let ids = |r: Vec<(u64, Match)>| r.into_iter().map(|(id, _)| id).collect::<Vec<_>>();
    assert_eq!(ids(rank(&d, pool.clone(), 10)), [3, 5, 2, 9, 4]);
    assert_eq!(ids(rank(&d, pool.clone(), 3)), [3, 5, 2]);
    assert_eq!(ids(rank(&d, pool.iter().map(|(i, s)| (*i, s)), 1)), [3]);
    assert!(rank(&d, pool, 0).is_empty());
    assert!(rank(&d, Vec::<(u64, Supply)>::new(), 5).is_empty());
}

#[test]
fn openings_are_ranked_for_a_candidate() {
    let s = supply(vec![claim(
        "python",
        Level::Advanced,
        Evidence::Certificate,
    )]);
    let fits = demand(vec![req("python", Level::Advanced)], vec![]);
    let misses = demand(vec![req("java", Level::Beginner)], vec![]);
    let r = rank_openings(&s, [(1, &misses), (2, &fits), (3, &misses)], 2);
    let ids: Vec<u64> = r.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, [2, 1]);
    assert_eq!(r[0].1, score(&fits, &s));
}

// Properties.

/// A small universe of skills, so that generated demands and supplies overlap often.
fn key() -> impl Strategy<Value = SkillKey> {
    prop_oneof![
        prop::sample::select(vec!["python", "sql", "linux", "git", "javascript", "html"])
            .prop_map(id),
        prop::sample::select(vec!["quuxlang", "frobnicate"])
            .prop_map(|s| SkillKey::Text(s.to_owned())),
    ]
}

fn level() -> impl Strategy<Value = Level> {
    prop::sample::select(vec![
        Level::Beginner,
        Level::Intermediate,
        Level::Advanced,
        Level::Expert,
    ])
}

fn evidence() -> impl Strategy<Value = Evidence> {
    prop::sample::select(vec![
        Evidence::SelfReported,
        Evidence::Project,
        Evidence::WorkExperience,
        Evidence::Certificate,
        Evidence::Assessment,
    ])
}

fn any_claim() -> impl Strategy<Value = Claim> {
    (key(), level(), evidence()).prop_map(|(skill, level, evidence)| Claim {
        skill,
        level,
        evidence,
    })
}

fn place() -> impl Strategy<Value = Option<String>> {
    prop::option::of(
        prop::sample::select(vec!["Birmingham", "Mobile", "birmingham"]).prop_map(str::to_owned),
    )
}

fn requirement() -> impl Strategy<Value = Requirement> {
    (key(), level()).prop_map(|(skill, min_level)| Requirement { skill, min_level })
}

fn any_demand() -> impl Strategy<Value = Demand> {
    (
        prop::collection::vec(requirement(), 0..6),
        prop::collection::vec(requirement(), 0..4),
        prop::sample::select(vec![
            RemotePolicy::OnSite,
            RemotePolicy::Hybrid,
            RemotePolicy::Remote,
        ]),
        place(),
    )
        .prop_map(|(required, nice_to_have, remote, location)| Demand {
            required,
            nice_to_have,
            remote,
            location,
        })
}

fn any_supply() -> impl Strategy<Value = Supply> {
    (
        prop::collection::vec(any_claim(), 0..8),
        prop::option::of(prop::sample::select(vec![
            Recommendation::NotYet,
            Recommendation::Maybe,
            Recommendation::Recommend,
            Recommendation::StronglyRecommend,
        ])),
        prop::sample::select(vec![
            RemotePreference::OnSite,
            RemotePreference::Hybrid,
            RemotePreference::Remote,
            RemotePreference::Any,
        ]),
        any::<bool>(),
        place(),
    )
        .prop_map(
            |(skills, vetting, remote, willing_to_relocate, location)| Supply {
                skills,
                vetting,
                remote,
                willing_to_relocate,
                location,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn scores_are_bounded_add_up_and_the_quick_score_agrees(d in any_demand(), s in any_supply()) {
        let m = score(&d, &s);
        prop_assert!(m.score <= MAX_SCORE);
        prop_assert_eq!(m.score, m.explanation.components.total());
        prop_assert_eq!(m.score, score_only(&d, &s));
        prop_assert_eq!(m.explanation.required.len(), d.required.len());
        prop_assert_eq!(m.explanation.nice_to_have.len(), d.nice_to_have.len());
        for f in m.explanation.required.iter().chain(&m.explanation.nice_to_have) {
            prop_assert!(f.credit <= MAX_SCORE);
            prop_assert_eq!(f.fit == Fit::Missing, f.level.is_none());
        }
    }

    #[test]
    fn a_superset_of_skills_never_scores_or_ranks_below(
        d in any_demand(),
        s in any_supply(),
        extra in prop::collection::vec(any_claim(), 0..5),
        small_id in 0u64..4,
        big_id in 0u64..4,
    ) {
        prop_assume!(small_id != big_id);
        let mut bigger = s.clone();
        bigger.skills.extend(extra);
        let (a, b) = (score(&d, &s).score, score(&d, &bigger).score);
        prop_assert!(b >= a);
        let ranked = rank(&d, [(small_id, s), (big_id, bigger)], 2);
        // The superset comes second only on an exact tie, settled by id.
        if ranked[0].0 == small_id {
            prop_assert_eq!(ranked[0].1.score, ranked[1].1.score);
            prop_assert!(small_id < big_id);
        }
    }

    #[test]
    fn stronger_evidence_or_a_higher_level_never_lowers_a_score(
        d in any_demand(),
        s in any_supply(),
        which in any::<prop::sample::Index>(),
        up in (level(), evidence()),
    ) {
        prop_assume!(!s.skills.is_empty());
        let i = which.index(s.skills.len());
        let mut better = s.clone();
        let c = &mut better.skills[i];
        c.level = c.level.max(up.0);
        c.evidence = c.evidence.max(up.1);
        prop_assert!(score(&d, &better).score >= score(&d, &s).score);
        // As a second claim beside the old one, too.
        let mut added = s.clone();
        added.skills.push(better.skills[i].clone());
        prop_assert!(score(&d, &added).score >= score(&d, &s).score);
    }

    #[test]
    fn adding_a_skill_the_opening_asks_for_never_lowers_a_score(
        d in any_demand(),
        s in any_supply(),
        which in any::<prop::sample::Index>(),
        l in level(),
        e in evidence(),
    ) {
        let asked: Vec<&Requirement> = d.required.iter().chain(&d.nice_to_have).collect();
        prop_assume!(!asked.is_empty());
        let r = asked[which.index(asked.len())];
        let mut more = s.clone();
        more.skills.push(Claim { skill: r.skill.clone(), level: l, evidence: e });
        prop_assert!(score(&d, &more).score >= score(&d, &s).score);
        // An assessment at the level asked for gives that skill full credit (wherever the
        // opening asks for it at that level or lower).
        let mut met = s.clone();
        met.skills.push(Claim { skill: r.skill.clone(), level: r.min_level, evidence: Evidence::Assessment });
        let m = score(&d, &met);
        for f in m.explanation.required.iter().chain(&m.explanation.nice_to_have) {
            if f.skill == r.skill && f.min_level <= r.min_level {
                prop_assert_eq!((f.fit, f.credit), (Fit::Matched, MAX_SCORE));
            }
        }
    }

    #[test]
    fn a_better_vetting_or_willingness_to_relocate_never_lowers_a_score(
        d in any_demand(),
        s in any_supply(),
        r in prop::sample::select(vec![
            Recommendation::NotYet,
            Recommendation::Maybe,
            Recommendation::Recommend,
            Recommendation::StronglyRecommend,
        ]),
    ) {
        let better = Supply { vetting: s.vetting.max(Some(r)), ..s.clone() };
        prop_assert!(score(&d, &better).score >= score(&d, &s).score);
        let moving = Supply { willing_to_relocate: true, ..s.clone() };
        prop_assert!(score(&d, &moving).score >= score(&d, &s).score);
    }

    #[test]
    fn claim_order_and_tidying_do_not_change_the_match(d in any_demand(), s in any_supply()) {
        let mut reversed = s.clone();
        reversed.skills.reverse();
        let mut tidied = s.clone();
        tidied.tidy();
        prop_assert!(tidied.skills.len() <= s.skills.len());
        let m = score(&d, &s);
        prop_assert_eq!(&score(&d, &reversed), &m);
        prop_assert_eq!(&score(&d, &tidied), &m);
    }

    #[test]
    fn ranking_is_deterministic_tie_broken_by_id_and_equals_a_full_sort(
        d in any_demand(),
        pool in prop::collection::vec(any_supply(), 0..30),
        rotate in 0usize..30,
        top_n in 0usize..12,
    ) {
        let candidates: Vec<(u64, Supply)> = pool
            .into_iter()
            .enumerate()
            .map(|(i, s)| ((i as u64 * 7919) % 1000, s))
            .collect();
        let mut shuffled = candidates.clone();
        if !shuffled.is_empty() {
            let k = rotate % shuffled.len();
            shuffled.rotate_left(k);
            shuffled.reverse();
        }
        let ranked = rank(&d, candidates.iter().map(|(i, s)| (*i, s)), top_n);
        prop_assert_eq!(&ranked, &rank(&d, shuffled, top_n));
        let mut expected: Vec<(u64, Match)> =
            candidates.iter().map(|(i, s)| (*i, score(&d, s))).collect();
        expected.sort_by(|(ia, a), (ib, b)| b.score.cmp(&a.score).then(ia.cmp(ib)));
        expected.truncate(top_n);
        prop_assert_eq!(ranked, expected);
    }
}
