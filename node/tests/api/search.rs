//! Employer search and matches over real HTTP: blind results, ranking with explanations, the
//! index kept current by every write, the audit of what employers were shown, and bad input.

use axum::http::StatusCode;
use serde_json::{json, Value};

use techhire_node::auth::Role;
use techhire_node::pseudonym::{Audience, Pseudonyms};

use crate::support::*;

/// A candidate with these skills (`(name, level, evidence)`), returned with their id.
async fn candidate(api: &TestApi, name: &str, skills: &[(&str, &str, &str)], remote: &str) -> u64 {
    let skills: Vec<Value> = skills
        .iter()
        .map(|(s, l, e)| json!({"skill": s, "level": l, "evidence": e}))
        .collect();
    let email = format!("{}@example.org", name.to_lowercase().replace(' ', "."));
    api.create(
        "/api/v1/candidates",
        json!({
            "personal": {
                "name": name,
                "email": email,
                "phone": "+1 555 010 9999",
                "city": "Gotham Heights",
                "segments": ["veteran", "low_income"]
            },
            "profile": {
                "skills": skills,
                "work_history": [{"title": "Warehouse associate", "employer_name": "Acme Storage",
                                  "start": "2020-01-01", "end": "2022-01-01"}],
                "projects": [{"name": "Food bank inventory", "url": "https://github.com/someone",
                              "skills": ["Excel"]}],
                "desired_roles": ["Data analyst"],
                "remote_preference": remote
            }
        }),
    )
    .await
}

fn ids_of(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["id"].as_str().expect("pseudonym").to_string())
        .collect()
}

#[tokio::test]
async fn employers_find_candidates_by_skills_blind_and_ranked() {
    let api = TestApi::new().await;
    let strong = candidate(
        &api,
        "Ada Strong",
        &[
            ("Python", "advanced", "certificate"),
            ("SQL", "intermediate", "project"),
        ],
        "any",
    )
    .await;
    let weak = candidate(
        &api,
        "Bob Weak",
        &[
            ("python", "advanced", "self_reported"),
            ("PostgreSQL", "beginner", "self_reported"),
        ],
        "any",
    )
    .await;
    let _other = candidate(&api, "Cy Other", &[("Java", "expert", "assessment")], "any").await;
    let low = candidate(
        &api,
        "Di Low",
        &[("Python", "beginner", "assessment")],
        "any",
    )
    .await;

    let page = check(
        api.get(
            "/api/v1/search/candidates?skills=python:intermediate",
            &api.employer,
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(page["total"], 2, "{page}");
    let codec = Pseudonyms::load_or_create(&api.store).expect("pseudonym key");
    let me = Audience::Employer(api.employer_id);
    let shown: Vec<u64> = ids_of(&page)
        .iter()
        .map(|p| codec.decode(me, p).expect("a pseudonym for this employer"))
        .collect();
    // Certificate evidence outranks self-report; the beginner is below the level asked.
    assert_eq!(shown, vec![strong, weak]);
    assert!(!shown.contains(&low));
    let first = &page["items"][0];
    assert!(
        first["score"].as_u64().expect("score")
            > page["items"][1]["score"].as_u64().expect("score")
    );
    assert_eq!(first["explanation"]["required"][0]["fit"], "matched");
    assert_eq!(
        first["explanation"]["required"][0]["evidence"],
        "certificate"
    );
    assert_eq!(first["skills"][0]["skill_id"], "python");
    assert_eq!(first["work_history"][0]["title"], "Warehouse associate");
    assert_eq!(first["work_history"][0]["months"], 24);

    // Blind: nothing personal, no local id, no employer names or project links.
    let text = page.to_string();
    for secret in [
        "Ada Strong",
        "ada.strong@example.org",
        "555 010 9999",
        "Gotham Heights",
        "veteran",
        "low_income",
        "Acme Storage",
        "github.com",
        "candidate_id",
    ] {
        assert!(!text.contains(secret), "{secret:?} leaked into {text}");
    }

    // Every listed skill is required: only Ada holds SQL (PostgreSQL is another skill).
    let both = check(
        api.get("/api/v1/search/candidates?skills=python,sql", &api.employer)
            .await,
        StatusCode::OK,
    );
    assert_eq!(both["total"], 1, "{both}");

    // Evidence filter: certificate or better.
    let certified = check(
        api.get(
            "/api/v1/search/candidates?skills=python&evidence=certificate",
            &api.employer,
        )
        .await,
        StatusCode::OK,
    );
    let found: Vec<u64> = ids_of(&certified)
        .iter()
        .filter_map(|p| codec.decode(me, p))
        .collect();
    assert_eq!(
        found,
        vec![low, strong],
        "assessment first (full credit), then certificate"
    );

    // Operators see the local id beside an operator pseudonym.
    let as_operator = check(
        api.get(
            "/api/v1/search/candidates?skills=python:intermediate",
            &api.operator,
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(as_operator["items"][0]["candidate_id"], strong);
    assert_ne!(as_operator["items"][0]["id"], page["items"][0]["id"]);
}

#[tokio::test]
async fn paging_walks_the_ranking_without_repeats() {
    let api = TestApi::new().await;
    for i in 0..7 {
        let level = ["beginner", "intermediate", "advanced", "expert"][i % 4];
        candidate(
            &api,
            &format!("Person {i}"),
            &[("Linux", level, "project")],
            "any",
        )
        .await;
    }
    let mut seen = Vec::new();
    for offset in [0, 3, 6] {
        let page = check(
            api.get(
                &format!("/api/v1/search/candidates?skills=linux&limit=3&offset={offset}"),
                &api.employer,
            )
            .await,
            StatusCode::OK,
        );
        assert_eq!(page["total"], 7);
        seen.extend(ids_of(&page));
    }
    let all = check(
        api.get(
            "/api/v1/search/candidates?skills=linux&limit=10",
            &api.employer,
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(seen, ids_of(&all));
}

#[tokio::test]
async fn the_index_follows_every_write() {
    let api = TestApi::new().await;
    let path = "/api/v1/search/candidates?skills=python&evidence=assessment";
    let id = candidate(
        &api,
        "Eve Later",
        &[("Python", "beginner", "self_reported")],
        "any",
    )
    .await;
    assert_eq!(
        check(api.get(path, &api.employer).await, StatusCode::OK)["total"],
        0
    );

    // An assessment adds assessed evidence.
    let assessment = api
        .create("/api/v1/assessments", assessment_body(id, "Python"))
        .await;
    let page = check(api.get(path, &api.employer).await, StatusCode::OK);
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["items"][0]["assessments"][0]["percent"], 80);

    // A vetting recommendation shows in the explanation.
    api.create("/api/v1/vetting", vetting_body(id, "strongly_recommend"))
        .await;
    let page = check(api.get(path, &api.employer).await, StatusCode::OK);
    assert_eq!(page["items"][0]["vetting"], "strongly_recommend");

    // Deleting the assessment takes the evidence away again.
    check(
        api.delete(&format!("/api/v1/assessments/{assessment}"), &api.operator)
            .await,
        StatusCode::NO_CONTENT,
    );
    assert_eq!(
        check(api.get(path, &api.employer).await, StatusCode::OK)["total"],
        0
    );

    // A profile change is searchable at once; a placed candidate is no longer offered.
    let any = "/api/v1/search/candidates?skills=react";
    let mut body = candidate_body("Eve Later", "eve@example.org");
    body["profile"]["skills"] =
        json!([{"skill": "ReactJS", "level": "advanced", "evidence": "project"}]);
    check(
        api.put(&format!("/api/v1/candidates/{id}"), &api.operator, body)
            .await,
        StatusCode::OK,
    );
    assert_eq!(
        check(api.get(any, &api.employer).await, StatusCode::OK)["total"],
        1
    );
    api.create("/api/v1/placements", placement_body(id, api.employer_id))
        .await;
    assert_eq!(
        check(api.get(any, &api.employer).await, StatusCode::OK)["total"],
        0
    );
    check(
        api.post(
            &format!("/api/v1/candidates/{id}/stage"),
            &api.operator,
            json!({"stage": "applied"}),
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(
        check(api.get(any, &api.employer).await, StatusCode::OK)["total"],
        1
    );
}

#[tokio::test]
async fn matches_rank_for_an_employers_own_opening_only() {
    let api = TestApi::new().await;
    let full = candidate(
        &api,
        "Full Fit",
        &[
            ("Troubleshooting", "advanced", "work_experience"),
            ("Active Directory", "intermediate", "certificate"),
        ],
        "on_site",
    )
    .await;
    let half = candidate(
        &api,
        "Half Fit",
        &[("Troubleshooting", "expert", "assessment")],
        "on_site",
    )
    .await;
    let mut opening = opening_body(api.employer_id, "Help desk technician");
    opening["required_skills"] = json!([
        {"skill": "Troubleshooting", "min_level": "intermediate"},
        {"skill": "AD", "min_level": "beginner"}
    ]);
    let mine = api.create("/api/v1/openings", opening).await;
    let page = check(
        api.get(&format!("/api/v1/openings/{mine}/matches"), &api.operator)
            .await,
        StatusCode::OK,
    );
    let ranked: Vec<u64> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["candidate_id"].as_u64().expect("operator sees ids"))
        .collect();
    assert_eq!(ranked, vec![full, half]);
    assert_eq!(
        page["items"][1]["explanation"]["required"][1]["fit"],
        "missing"
    );
    check(
        api.get(&format!("/api/v1/openings/{mine}/matches"), &api.employer)
            .await,
        StatusCode::OK,
    );

    // Another employer's opening is as good as absent to this employer.
    let other = api.new_employer("Other Co").await;
    let theirs = api.new_opening(other).await;
    check_error(
        api.get(&format!("/api/v1/openings/{theirs}/matches"), &api.employer)
            .await,
        StatusCode::NOT_FOUND,
        Some("id"),
    );
    check_error(
        api.get("/api/v1/openings/999999/matches", &api.operator)
            .await,
        StatusCode::NOT_FOUND,
        Some("id"),
    );

    // And the other way round: openings ranked for a candidate.
    let openings = check(
        api.get(
            &format!("/api/v1/candidates/{full}/openings"),
            &api.operator,
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(openings["items"][0]["opening_id"], mine, "{openings}");
}

#[tokio::test]
async fn the_operator_sees_what_each_employer_was_shown() {
    let api = TestApi::new().await;
    let a = candidate(
        &api,
        "Shown One",
        &[("Troubleshooting", "advanced", "project")],
        "any",
    )
    .await;
    let b = candidate(
        &api,
        "Shown Two",
        &[("Troubleshooting", "expert", "project")],
        "any",
    )
    .await;
    let opening = api.new_opening(api.employer_id).await;
    check(
        api.get(
            &format!("/api/v1/openings/{opening}/matches"),
            &api.employer,
        )
        .await,
        StatusCode::OK,
    );
    check(
        api.get(
            "/api/v1/search/candidates?skills=troubleshooting",
            &api.employer,
        )
        .await,
        StatusCode::OK,
    );
    // Operators' own searches are not employer exposure and are not audited.
    check(
        api.get(
            &format!("/api/v1/openings/{opening}/matches"),
            &api.operator,
        )
        .await,
        StatusCode::OK,
    );

    let per_opening = check(
        api.get(
            &format!("/api/v1/search/audit?opening_id={opening}"),
            &api.operator,
        )
        .await,
        StatusCode::OK,
    );
    let items = per_opening["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{per_opening}");
    assert_eq!(items[0]["employer_id"], api.employer_id);
    // Equal scores: the lower id first.
    assert_eq!(items[0]["candidates"], json!([a, b]));

    let all = check(
        api.get(
            &format!("/api/v1/search/audit?employer_id={}", api.employer_id),
            &api.operator,
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(all["items"].as_array().expect("items").len(), 2);
    assert_eq!(all["items"][1]["query"], "skills=troubleshooting");
    let of_candidate = check(
        api.get(
            &format!("/api/v1/search/audit?candidate_id={a}"),
            &api.operator,
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(of_candidate["items"].as_array().expect("items").len(), 2);

    // Employers may not read the audit.
    check_error(
        api.get("/api/v1/search/audit", &api.employer).await,
        StatusCode::FORBIDDEN,
        None,
    );
    let (_, reviewer) = api.mint(Role::Reviewer, None).await;
    check_error(
        api.get("/api/v1/search/candidates?skills=sql", &reviewer)
            .await,
        StatusCode::FORBIDDEN,
        None,
    );
}

#[tokio::test]
async fn bad_search_input_is_refused_naming_the_parameter() {
    let api = TestApi::new().await;
    let opening = api.new_opening(api.employer_id).await;
    let cases: [(&str, Option<&str>); 16] = [
        ("/api/v1/search/candidates", Some("skills")),
        ("/api/v1/search/candidates?skills=", Some("skills")),
        ("/api/v1/search/candidates?skills=%20,", Some("skills[0]")),
        (
            "/api/v1/search/candidates?skills=python,zzqxw-not-a-skill",
            Some("skills[1]"),
        ),
        (
            "/api/v1/search/candidates?skills=python:guru",
            Some("skills[0]"),
        ),
        (
            "/api/v1/search/candidates?skills=python:",
            Some("skills[0]"),
        ),
        (
            "/api/v1/search/candidates?skills=python,Python",
            Some("skills[1]"),
        ),
        (
            "/api/v1/search/candidates?skills=python&limit=0",
            Some("limit"),
        ),
        (
            "/api/v1/search/candidates?skills=python&limit=100000",
            Some("limit"),
        ),
        (
            "/api/v1/search/candidates?skills=python&limit=-1",
            Some("limit"),
        ),
        (
            "/api/v1/search/candidates?skills=python&offset=5000",
            Some("offset"),
        ),
        // offset + limit past usize::MAX: refused, not wrapped round (or a panic).
        (
            "/api/v1/search/candidates?skills=python&offset=18446744073709551615",
            Some("offset"),
        ),
        (
            "/api/v1/search/candidates?skills=python&limit=100&offset=18446744073709551516",
            Some("offset"),
        ),
        (
            "/api/v1/search/candidates?skills=python&evidence=diploma",
            Some("evidence"),
        ),
        (
            "/api/v1/search/candidates?skills=python&degree=bsc",
            Some("degree"),
        ),
        (
            "/api/v1/search/candidates?skills=python&remote=maybe",
            Some("remote"),
        ),
    ];
    let mut problems = Vec::new();
    for (path, field) in cases {
        if let Some(p) = error_problem(
            &api.get(path, &api.employer).await,
            StatusCode::BAD_REQUEST,
            field,
        ) {
            problems.push(format!("{path}: {p}"));
        }
    }
    let many: Vec<String> = (0..21).map(|i| format!("s{i}")).collect();
    if let Some(p) = error_problem(
        &api.get(
            &format!("/api/v1/search/candidates?skills={}", many.join(",")),
            &api.employer,
        )
        .await,
        StatusCode::BAD_REQUEST,
        Some("skills"),
    ) {
        problems.push(format!("21 skills: {p}"));
    }
    for path in [
        format!("/api/v1/openings/{opening}/matches?limit=101"),
        format!("/api/v1/openings/{opening}/matches?limit=abc"),
    ] {
        if let Some(p) = error_problem(
            &api.get(&path, &api.employer).await,
            StatusCode::BAD_REQUEST,
            Some("limit"),
        ) {
            problems.push(format!("{path}: {p}"));
        }
    }
    let huge = format!("/api/v1/openings/{opening}/matches?offset={}", usize::MAX);
    if let Some(p) = error_problem(
        &api.get(&huge, &api.employer).await,
        StatusCode::BAD_REQUEST,
        Some("offset"),
    ) {
        problems.push(format!("{huge}: {p}"));
    }
    assert_no_problems(&problems);
    // Nothing about a refused search reaches the audit.
    let audit = check(
        api.get("/api/v1/search/audit", &api.operator).await,
        StatusCode::OK,
    );
    assert_eq!(audit["items"], json!([]));
}

#[tokio::test]
async fn the_operator_sees_the_skills_nothing_matched() {
    let api = TestApi::new().await;
    candidate(
        &api,
        "Free Text",
        &[
            ("Mainframe Wizardry", "advanced", "work_experience"),
            ("Python", "beginner", "project"),
        ],
        "any",
    )
    .await;
    let mut opening = opening_body(api.employer_id, "Legacy developer");
    opening["required_skills"] = json!([{"skill": "mainframe-wizardry", "min_level": "beginner"}]);
    api.create("/api/v1/openings", opening).await;
    let body = check(
        api.get("/api/v1/skills/unmatched", &api.operator).await,
        StatusCode::OK,
    );
    let items = body["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{body}");
    assert_eq!(items[0]["text"], "mainframewizardry");
    assert_eq!(items[0]["candidates"], 1);
    assert_eq!(items[0]["openings"], 1);
    assert_eq!(items[0]["example"], "mainframe-wizardry");
    check_error(
        api.get("/api/v1/skills/unmatched?limit=0", &api.operator)
            .await,
        StatusCode::BAD_REQUEST,
        Some("limit"),
    );
    check_error(
        api.get("/api/v1/skills/unmatched", &api.employer).await,
        StatusCode::FORBIDDEN,
        None,
    );
}
