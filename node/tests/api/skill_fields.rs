//! Skills on records: every record that takes skills (candidate profiles and the public
//! application, projects, openings, programs, assessments) stores the text as typed beside
//! the taxonomy id it normalises to; unknown text is kept with a null id; a given id must be
//! the node's; the skill filters compare ids; a community's extension is used throughout.

use axum::http::StatusCode;
use serde_json::{json, Value};

use techhire_node::skills::Taxonomy;

use crate::support::*;

/// `[(skill, skill_id)]` of a list of skill objects, checking each has exactly those keys
/// (plus `level`/`evidence`/`min_level` where the record has them).
fn pairs(list: &Value) -> Vec<(String, Option<String>)> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|s| {
            assert!(s.get("skill_id").is_some(), "no skill_id key: {s}");
            (
                s["skill"].as_str().expect("skill text").to_owned(),
                s["skill_id"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

fn pair(skill: &str, id: Option<&str>) -> (String, Option<String>) {
    (skill.to_owned(), id.map(str::to_owned))
}

fn claims(skills: &[Value]) -> Value {
    let mut out = Vec::new();
    for s in skills {
        let mut c = s.clone();
        c["level"] = json!("intermediate");
        c["evidence"] = json!("self_reported");
        out.push(c);
    }
    Value::Array(out)
}

fn candidate_with(skills: &[Value]) -> Value {
    let mut body = candidate_body("Ada Example", "ada@example.org");
    body["profile"]["skills"] = claims(skills);
    body
}

#[tokio::test]
async fn typed_skills_are_stored_with_their_ids_and_unknown_text_is_kept() {
    let api = TestApi::new().await;
    let mut body = candidate_with(&[
        json!({"skill": "ReactJS"}),
        json!({"skill": "k8s"}),
        json!({"skill": "Pyhton"}),
        json!({"skill": "Quux Lang"}),
        json!({"skill_id": "sql"}),
        json!({"skill": "my own words", "skill_id": "git"}),
    ]);
    body["profile"]["projects"] =
        json!([{"name": "Food bank rota", "skills": ["JS", {"skill_id": "html"}, "Zorp"]}]);
    let created = check(
        api.post("/api/v1/candidates", &api.operator, body).await,
        StatusCode::CREATED,
    );
    let expected = [
        pair("ReactJS", Some("react")),
        pair("k8s", Some("kubernetes")),
        pair("Pyhton", Some("python")),
        pair("Quux Lang", None),
        pair("SQL", Some("sql")),
        pair("my own words", Some("git")),
    ];
    assert_eq!(pairs(&created["profile"]["skills"]), expected);
    assert_eq!(
        pairs(&created["profile"]["projects"][0]["skills"]),
        [
            pair("JS", Some("javascript")),
            pair("HTML", Some("html")),
            pair("Zorp", None)
        ]
    );
    // Stored as answered: a read gives the same ids back, to reviewers too.
    let path = format!("/api/v1/candidates/{}", created["id"]);
    let read = check(api.get(&path, &api.reviewer).await, StatusCode::OK);
    assert_eq!(read["profile"], created["profile"]);

    // A replace normalises again: the text sent back with its id is kept.
    let mut again = candidate_with(&[json!({"skill": "Javascript"})]);
    again["profile"]["skills"][0]["level"] = json!("advanced");
    let replaced = check(api.put(&path, &api.operator, again).await, StatusCode::OK);
    assert_eq!(
        pairs(&replaced["profile"]["skills"]),
        [pair("Javascript", Some("javascript"))]
    );
}

#[tokio::test]
async fn the_public_application_normalises_too() {
    let api = TestApi::new().await;
    let answer = check(
        api.post(
            "/api/v1/applications",
            NO_TOKEN,
            candidate_with(&[json!({"skill": "ReactJS"}), json!({"skill": "Cobble"})]),
        )
        .await,
        StatusCode::CREATED,
    );
    let path = format!("/api/v1/candidates/{}", answer["id"]);
    let read = check(api.get(&path, &api.operator).await, StatusCode::OK);
    assert_eq!(
        pairs(&read["profile"]["skills"]),
        [pair("ReactJS", Some("react")), pair("Cobble", None)]
    );

    let bad = candidate_with(&[json!({"skill_id": "nope"})]);
    check_error(
        api.post("/api/v1/applications", NO_TOKEN, bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("profile.skills[0].skill_id"),
    );
}

#[tokio::test]
async fn an_unknown_skill_id_is_refused_naming_the_field() {
    let api = TestApi::new().await;
    let body = candidate_with(&[
        json!({"skill": "Python"}),
        json!({"skill": "SQL"}),
        json!({"skill": "Foo", "skill_id": "foo"}),
    ]);
    let err = check_error(
        api.post("/api/v1/candidates", &api.operator, body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("profile.skills[2].skill_id"),
    );
    assert_eq!(
        err["reason"],
        "unknown skill id \"foo\"; see GET /api/v1/skills?q=foo"
    );

    let mut body = candidate_body("Ada Example", "ada@example.org");
    body["profile"]["projects"] = json!([{"name": "Site", "skills": [{"skill_id": "Python"}]}]);
    check_error(
        api.post("/api/v1/candidates", &api.operator, body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("profile.projects[0].skills[0].skill_id"),
    );

    let mut opening = opening_body(api.employer_id, "Web Developer");
    opening["nice_to_have_skills"] = json!([{"skill_id": "reactjs", "min_level": "beginner"}]);
    check_error(
        api.post("/api/v1/openings", &api.employer, opening).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("nice_to_have_skills[0].skill_id"),
    );

    let provider = api.new_provider().await;
    let mut program = program_body(provider, "Web Basics");
    program["skills_taught"] = json!(["HTML", {"skill_id": "no-such-skill"}]);
    check_error(
        api.post("/api/v1/programs", &api.operator, program).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("skills_taught[1].skill_id"),
    );

    let candidate = api.new_candidate().await;
    let mut assessment = assessment_body(candidate, "Python");
    assessment["skill_id"] = json!("pythn");
    check_error(
        api.post("/api/v1/assessments", &api.reviewer, assessment)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("skill_id"),
    );
}

#[tokio::test]
async fn a_skill_needs_its_text_or_its_id() {
    let api = TestApi::new().await;
    let mut body = candidate_with(&[json!({"skill": "Python"})]);
    body["profile"]["skills"]
        .as_array_mut()
        .expect("a list")
        .push(json!({"level": "beginner", "evidence": "project"}));
    check_error(
        api.post("/api/v1/candidates", &api.operator, body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("profile.skills[1].skill"),
    );
    let body = candidate_with(&[json!({"skill": "  ", "skill_id": null})]);
    check_error(
        api.post("/api/v1/candidates", &api.operator, body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("profile.skills[0].skill"),
    );

    let mut opening = opening_body(api.employer_id, "Web Developer");
    opening["required_skills"] = json!([{"skill": "", "min_level": "beginner"}]);
    check_error(
        api.post("/api/v1/openings", &api.operator, opening).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("required_skills[0].skill"),
    );

    let provider = api.new_provider().await;
    for empty in [json!(""), json!({})] {
        let mut program = program_body(provider, "Web Basics");
        program["skills_taught"] = json!(["HTML", empty]);
        check_error(
            api.post("/api/v1/programs", &api.operator, program).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("skills_taught[1].skill"),
        );
    }

    let candidate = api.new_candidate().await;
    let mut assessment = assessment_body(candidate, "");
    assessment
        .as_object_mut()
        .expect("an object")
        .remove("skill");
    check_error(
        api.post("/api/v1/assessments", &api.operator, assessment)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("skill"),
    );
}

#[tokio::test]
async fn an_opening_may_not_ask_for_one_skill_twice_under_two_names() {
    let api = TestApi::new().await;
    let with_required = |skills: Value| {
        let mut o = opening_body(api.employer_id, "Web Developer");
        o["required_skills"] = skills;
        o
    };
    for skills in [
        json!([{"skill": "JS", "min_level": "beginner"}, {"skill": "JavaScript", "min_level": "advanced"}]),
        json!([{"skill": "HTML", "min_level": "beginner"}, {"skill_id": "html", "min_level": "advanced"}]),
        json!([{"skill": "Quux Lang", "min_level": "beginner"}, {"skill": "quux-lang", "min_level": "advanced"}]),
    ] {
        let err = check_error(
            api.post(
                "/api/v1/openings",
                &api.operator,
                with_required(skills.clone()),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("required_skills[1].skill"),
        );
        assert!(
            err["reason"].as_str().is_some_and(|r| r.contains("listed")),
            "{skills}: {err}"
        );
    }

    let created = check(
        api.post(
            "/api/v1/openings",
            &api.operator,
            with_required(json!([
                {"skill": "JS", "min_level": "intermediate"},
                {"skill": "Java", "min_level": "beginner"}
            ])),
        )
        .await,
        StatusCode::CREATED,
    );
    assert_eq!(
        pairs(&created["required_skills"]),
        [pair("JS", Some("javascript")), pair("Java", Some("java"))]
    );
    assert_eq!(created["required_skills"][0]["min_level"], "intermediate");
}

#[tokio::test]
async fn program_skills_are_strings_or_objects_and_answered_as_objects() {
    let api = TestApi::new().await;
    let provider = api.new_provider().await;
    let mut program = program_body(provider, "Full Stack");
    program["skills_taught"] = json!([
        "Python",
        {"skill": "ReactJS"},
        {"skill_id": "sql"},
        {"skill": "Quux", "skill_id": null}
    ]);
    let created = check(
        api.post("/api/v1/programs", &api.operator, program).await,
        StatusCode::CREATED,
    );
    assert_eq!(
        created["skills_taught"],
        json!([
            {"skill": "Python", "skill_id": "python"},
            {"skill": "ReactJS", "skill_id": "react"},
            {"skill": "SQL", "skill_id": "sql"},
            {"skill": "Quux", "skill_id": null}
        ])
    );

    // Anything else is a malformed body, naming the entry.
    for (bad, field) in [
        (json!([3]), "skills_taught[0]"),
        (json!(["SQL", {"name": "Python"}]), "skills_taught[1].name"),
    ] {
        let mut program = program_body(provider, "Full Stack");
        program["skills_taught"] = bad.clone();
        let err = check_error(
            api.post("/api/v1/programs", &api.operator, program).await,
            StatusCode::BAD_REQUEST,
            Some(field),
        );
        assert_eq!(err["error"], "invalid_body", "{bad}: {err}");
    }
}

#[tokio::test]
async fn skill_filters_compare_ids_when_the_text_is_known() {
    let api = TestApi::new().await;
    let js = api
        .create(
            "/api/v1/candidates",
            candidate_with(&[json!({"skill": "JavaScript"})]),
        )
        .await;
    let quux = api
        .create(
            "/api/v1/candidates",
            candidate_with(&[json!({"skill": "Quux Lang"})]),
        )
        .await;
    let list = "/api/v1/candidates";
    for q in ["JS", "javascript", "ECMAScript", "Javascrpt"] {
        assert_eq!(api.ids(&format!("{list}?skill={q}")).await, [js], "{q}");
    }
    assert_eq!(api.ids(&format!("{list}?skill=quux%20lang")).await, [quux]);
    assert!(api.ids(&format!("{list}?skill=Java")).await.is_empty());

    let provider = api.new_provider().await;
    let mut program = program_body(provider, "Front End");
    program["skills_taught"] = json!(["JavaScript", "Zorp"]);
    let front = api.create("/api/v1/programs", program).await;
    let list = "/api/v1/programs";
    assert_eq!(api.ids(&format!("{list}?skill=JS")).await, [front]);
    assert_eq!(api.ids(&format!("{list}?skill=ZORP")).await, [front]);

    let sql = api
        .create(
            "/api/v1/assessments",
            assessment_body(js, "Structured Query Language"),
        )
        .await;
    assert_eq!(api.ids("/api/v1/assessments?skill=SQL").await, [sql]);
}

#[tokio::test]
async fn assessments_store_the_id_of_their_skill() {
    let api = TestApi::new().await;
    let candidate = api.new_candidate().await;
    let created = check(
        api.post(
            "/api/v1/assessments",
            &api.reviewer,
            assessment_body(candidate, "Pyhton"),
        )
        .await,
        StatusCode::CREATED,
    );
    assert_eq!(created["skill"], "Pyhton");
    assert_eq!(created["skill_id"], "python");
}

/// A community's file, as docs/skills.md shows it (in part).
const EXTENSION: &str = r#"
[skills.tools-practices]
epic-ehr = { label = "Epic EHR", aliases = ["Epic Systems", "Epic Hyperspace"], soc = ["15-1211", "15-1232"] }

[aliases]
help-desk = ["Mesa de ayuda"]
"#;

#[tokio::test]
async fn a_communitys_extension_is_suggested_and_normalised_to() {
    let extended = Taxonomy::with_extension(EXTENSION, "skills.local.toml").expect("valid");
    let api = TestApi::with_taxonomy(extended).await;
    let found = check(
        api.get("/api/v1/skills?q=epic%20sys", &api.employer).await,
        StatusCode::OK,
    );
    assert_eq!(found["items"][0]["id"], "epic-ehr", "{found}");
    assert_eq!(found["items"][0]["matched"], "Epic Systems");

    let body = candidate_with(&[
        json!({"skill": "Epic Hyperspace"}),
        json!({"skill": "mesa de ayuda"}),
        json!({"skill_id": "epic-ehr"}),
    ]);
    let created = check(
        api.post("/api/v1/candidates", &api.operator, body.clone())
            .await,
        StatusCode::CREATED,
    );
    assert_eq!(
        pairs(&created["profile"]["skills"]),
        [
            pair("Epic Hyperspace", Some("epic-ehr")),
            pair("mesa de ayuda", Some("help-desk")),
            pair("Epic EHR", Some("epic-ehr")),
        ]
    );

    // A node without the file knows none of it: the text is kept, the id refused.
    let plain = TestApi::new().await;
    let err = check_error(
        plain
            .post("/api/v1/candidates", &plain.operator, body)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("profile.skills[2].skill_id"),
    );
    assert!(
        err["reason"]
            .as_str()
            .is_some_and(|r| r.contains("epic-ehr")),
        "{err}"
    );
    let found = check(
        plain
            .get("/api/v1/skills?q=epic%20sys", &plain.operator)
            .await,
        StatusCode::OK,
    );
    assert!(found["items"]
        .as_array()
        .is_some_and(|i| i.iter().all(|s| s["id"] != "epic-ehr")));
    let created = check(
        plain
            .post(
                "/api/v1/candidates",
                &plain.operator,
                candidate_with(&[json!({"skill": "Epic Hyperspace"})]),
            )
            .await,
        StatusCode::CREATED,
    );
    assert_eq!(
        pairs(&created["profile"]["skills"]),
        [pair("Epic Hyperspace", None)]
    );
}
