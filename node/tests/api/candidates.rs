//! Candidates: personal data only for operators, pipeline stages and consent with their
//! history, the public application form, and deletion that takes everything about the
//! candidate with it.

use axum::http::StatusCode;
use serde_json::{json, Value};

use techhire_node::store::Table;

use crate::support::*;

const LIST: &str = "/api/v1/candidates";

const NAME: &str = "Grace Hopperton";
const EMAIL: &str = "grace.h@example.net";
const PHONE: &str = "+1 555 987 6543";
const CITY: &str = "Riverbend";

fn private_body() -> Value {
    json!({
        "personal": {"name": NAME, "email": EMAIL, "phone": PHONE, "city": CITY, "segments": ["long_term_unemployed"]},
        "profile": {
            "skills": [{"skill": "JavaScript", "level": "advanced", "evidence": "project"}],
            "projects": [{"name": "Food bank rota", "skills": ["JavaScript"]}],
            "desired_roles": ["Front-end developer"],
            "remote_preference": "remote"
        }
    })
}

/// None of the personal strings appear anywhere in `body`.
#[track_caller]
fn assert_no_personal_data(body: &Value) {
    let text = body.to_string();
    for secret in [NAME, EMAIL, PHONE, CITY, "long_term_unemployed"] {
        assert!(!text.contains(secret), "{secret:?} leaked in {text}");
    }
    assert!(!text.contains("\"personal\""), "a personal key in {text}");
}

fn item(id: u64) -> String {
    format!("{LIST}/{id}")
}

#[tokio::test]
async fn operators_see_personal_data_and_reviewers_do_not() {
    let api = TestApi::new().await;
    let created = check(
        api.post(LIST, &api.operator, private_body()).await,
        StatusCode::CREATED,
    );
    assert_eq!(created["personal"]["email"], EMAIL);
    assert_eq!(created["stage"], "applied");
    assert_eq!(created["profile"]["skills"][0]["skill"], "JavaScript");
    let id = created["id"].as_u64().expect("id");

    let op = check(api.get(&item(id), &api.operator).await, StatusCode::OK);
    assert_eq!(op["personal"]["name"], NAME);
    assert_eq!(op["personal"]["city"], CITY);

    // An operator's note on a stage change may describe the person: operators only.
    let note = format!("called {NAME} on {PHONE}");
    let staged = check(
        api.post(
            &format!("{LIST}/{id}/stage"),
            &api.operator,
            json!({"stage": "assessed", "note": note}),
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(staged["stage_history"][1]["note"], note.as_str());

    let one = check(api.get(&item(id), &api.reviewer).await, StatusCode::OK);
    assert_no_personal_data(&one);
    assert_eq!(one["stage_history"][1]["stage"], "assessed");
    assert_eq!(
        one["profile"], op["profile"],
        "reviewers still see the profile"
    );
    let list = check(api.get(LIST, &api.reviewer).await, StatusCode::OK);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
    assert_no_personal_data(&list);
    let filtered = check(
        api.get(&format!("{LIST}?skill=javascript"), &api.reviewer)
            .await,
        StatusCode::OK,
    );
    assert_no_personal_data(&filtered);
}

#[tokio::test]
async fn replace_personal_data_and_profile() {
    let api = TestApi::new().await;
    let id = api.create(LIST, private_body()).await;
    let mut body = private_body();
    body["personal"]["email"] = json!("grace.new@example.net");
    body["profile"]["desired_roles"] = json!(["QA tester"]);
    let put = check(
        api.put(&item(id), &api.operator, body).await,
        StatusCode::OK,
    );
    assert_eq!(put["personal"]["email"], "grace.new@example.net");
    assert_eq!(put["profile"]["desired_roles"], json!(["QA tester"]));
    assert_eq!(
        put["stage"], "applied",
        "a replace keeps the pipeline state"
    );
    let read = check(api.get(&item(id), &api.operator).await, StatusCode::OK);
    assert_eq!(read, put);

    let mut bad = private_body();
    bad["personal"]["phone"] = json!("call me");
    check_error(
        api.put(&item(id), &api.operator, bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("personal.phone"),
    );
    assert_eq!(
        check(api.get(&item(id), &api.operator).await, StatusCode::OK),
        read
    );
    check_error(
        api.put(&item(999), &api.operator, private_body()).await,
        StatusCode::NOT_FOUND,
        None,
    );
}

#[tokio::test]
async fn list_filters() {
    let api = TestApi::new().await;
    let program = api.new_program().await;
    let mut trained = private_body();
    trained["profile"]["program_id"] = json!(program);
    trained["profile"]["skills"] =
        json!([{"skill": "SQL", "level": "beginner", "evidence": "certificate"}]);
    let trained = api.create(LIST, trained).await;
    let other = api.create(LIST, private_body()).await;
    check(
        api.post(
            &format!("{}/stage", item(other)),
            &api.operator,
            json!({"stage": "vetted"}),
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(
        api.ids(&format!("{LIST}?program_id={program}")).await,
        [trained]
    );
    assert_eq!(api.ids(&format!("{LIST}?skill=sql")).await, [trained]);
    assert_eq!(api.ids(&format!("{LIST}?stage=vetted")).await, [other]);
    assert_eq!(api.ids(&format!("{LIST}?stage=applied")).await, [trained]);
    // The candidate's program is referenced: it cannot be deleted.
    check_error(
        api.delete(&format!("/api/v1/programs/{program}"), &api.operator)
            .await,
        StatusCode::CONFLICT,
        None,
    );
}

#[tokio::test]
async fn stage_changes_are_recorded_and_repeats_are_409() {
    let api = TestApi::new().await;
    let id = api.new_candidate().await;
    let stage = format!("{}/stage", item(id));
    let moved = check(
        api.post(
            &stage,
            &api.operator,
            json!({"stage": "assessed", "note": "passed the basics"}),
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(moved["stage"], "assessed");
    let history = moved["stage_history"].as_array().expect("history");
    assert_eq!(history.len(), 2);
    assert_eq!(history[1]["stage"], "assessed");
    assert_eq!(history[1]["note"], "passed the basics");

    check_error(
        api.post(&stage, &api.operator, json!({"stage": "assessed"}))
            .await,
        StatusCode::CONFLICT,
        Some("stage"),
    );
    let after = check(api.get(&item(id), &api.operator).await, StatusCode::OK);
    assert_eq!(after["stage_history"], moved["stage_history"]);

    check_error(
        api.post(&stage, &api.operator, json!({"stage": "hired"}))
            .await,
        StatusCode::BAD_REQUEST,
        Some("stage"),
    );
    check_error(
        api.post(
            &format!("{LIST}/999/stage"),
            &api.operator,
            json!({"stage": "vetted"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        None,
    );
}

#[tokio::test]
async fn consent_is_given_and_withdrawn() {
    let api = TestApi::new().await;
    let id = api.new_candidate().await;
    let consent = format!("{}/consent", item(id));
    check_error(
        api.delete(&consent, &api.operator).await,
        StatusCode::CONFLICT,
        None,
    );
    let given = check(
        api.put(
            &consent,
            &api.operator,
            json!({"policy_version": "2024-1", "scope": {"kind": "regions", "regions": ["US-TV", "US-NE"]}}),
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(given["consent"]["policy_version"], "2024-1");
    assert_eq!(
        given["consent"]["scope"]["regions"],
        json!(["US-TV", "US-NE"])
    );
    assert!(given["consent"]["withdrawn_at"].is_null());
    assert_eq!(given["consent_history"].as_array().map(Vec::len), Some(1));

    let withdrawn = check(api.delete(&consent, &api.operator).await, StatusCode::OK);
    assert!(withdrawn["consent"]["withdrawn_at"].is_string());
    assert!(withdrawn["consent_history"][0]["withdrawn_at"].is_string());
    check_error(
        api.delete(&consent, &api.operator).await,
        StatusCode::CONFLICT,
        None,
    );

    check_error(
        api.put(
            &consent,
            &api.operator,
            json!({"policy_version": "2024-1", "scope": {"kind": "regions", "regions": []}}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("scope.regions"),
    );
    let again = check(
        api.put(
            &consent,
            &api.operator,
            json!({"policy_version": "2024-2", "scope": {"kind": "federation"}}),
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(again["consent_history"].as_array().map(Vec::len), Some(2));
    assert_eq!(again["consent"]["scope"], json!({"kind": "federation"}));
}

#[tokio::test]
async fn public_applications_echo_no_personal_data() {
    let api = TestApi::new().await;
    let mut form = private_body();
    form["consent"] = json!({"policy_version": "2024-1", "scope": {"kind": "federation"}});
    let resp = check(
        api.post("/api/v1/applications", NO_TOKEN, form).await,
        StatusCode::CREATED,
    );
    let id = resp["id"].as_u64().expect("id");
    assert_eq!(resp, json!({"id": id, "stage": "applied"}));

    let stored = check(api.get(&item(id), &api.operator).await, StatusCode::OK);
    assert_eq!(stored["personal"]["email"], EMAIL);
    assert_eq!(stored["consent"]["scope"]["kind"], "federation");
    assert!(stored["consent"]["given_at"].is_string());
}

#[tokio::test]
async fn a_bad_application_stores_nothing() {
    let api = TestApi::new().await;
    let first = check(
        api.post("/api/v1/applications", NO_TOKEN, private_body())
            .await,
        StatusCode::CREATED,
    )["id"]
        .as_u64()
        .expect("id");
    let mut bad = private_body();
    bad["personal"]["email"] = json!("grace at example");
    check_error(
        api.post("/api/v1/applications", NO_TOKEN, bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("personal.email"),
    );
    let mut bad_consent = private_body();
    bad_consent["consent"] = json!({"policy_version": "", "scope": {"kind": "federation"}});
    check_error(
        api.post("/api/v1/applications", NO_TOKEN, bad_consent)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("consent.policy_version"),
    );
    assert_eq!(api.ids(LIST).await, [first]);
    let next = check(
        api.post("/api/v1/applications", NO_TOKEN, private_body())
            .await,
        StatusCode::CREATED,
    );
    assert_eq!(next["id"], first + 1);
}

#[tokio::test]
async fn deleting_a_candidate_takes_everything_about_them() {
    let api = TestApi::new().await;
    let employer = api.new_employer("Acme").await;
    let opening = api.new_opening(employer).await;
    let gone = api.create(LIST, private_body()).await;
    let kept = api.new_candidate().await;

    let gone_assessment = api
        .create("/api/v1/assessments", assessment_body(gone, "Python"))
        .await;
    let gone_vetting = api
        .create("/api/v1/vetting", vetting_body(gone, "recommend"))
        .await;
    let mut placement = placement_body(gone, employer);
    placement["opening_id"] = json!(opening);
    let gone_placement = api.create("/api/v1/placements", placement).await;
    let kept_assessment = api
        .create("/api/v1/assessments", assessment_body(kept, "SQL"))
        .await;
    let kept_vetting = api
        .create("/api/v1/vetting", vetting_body(kept, "maybe"))
        .await;

    check(
        api.delete(&item(gone), &api.operator).await,
        StatusCode::NO_CONTENT,
    );
    check_error(
        api.get(&item(gone), &api.operator).await,
        StatusCode::NOT_FOUND,
        None,
    );
    for path in [
        format!("/api/v1/assessments/{gone_assessment}"),
        format!("/api/v1/vetting/{gone_vetting}"),
        format!("/api/v1/placements/{gone_placement}"),
    ] {
        check_error(
            api.get(&path, &api.operator).await,
            StatusCode::NOT_FOUND,
            None,
        );
    }
    let personal: Option<Value> = api
        .store
        .get(Table::CandidatePersonal, gone)
        .expect("read store");
    assert!(personal.is_none(), "personal data survived: {personal:?}");

    assert_eq!(api.ids(LIST).await, [kept]);
    assert_eq!(api.ids("/api/v1/assessments").await, [kept_assessment]);
    assert_eq!(api.ids("/api/v1/vetting").await, [kept_vetting]);
    assert_eq!(api.count("/api/v1/placements").await, 0);
    check(
        api.get(&format!("/api/v1/employers/{employer}"), &api.operator)
            .await,
        StatusCode::OK,
    );
    // The placement's references went with it: its opening and employer can now go.
    check(
        api.delete(&format!("/api/v1/openings/{opening}"), &api.operator)
            .await,
        StatusCode::NO_CONTENT,
    );
    check(
        api.delete(&format!("/api/v1/employers/{employer}"), &api.operator)
            .await,
        StatusCode::NO_CONTENT,
    );
    check_error(
        api.delete(&item(gone), &api.operator).await,
        StatusCode::NOT_FOUND,
        None,
    );
}

#[tokio::test]
async fn a_vetting_interview_moves_the_candidate_to_vetted() {
    let api = TestApi::new().await;
    let waiting = api.new_candidate().await;
    let later = api.new_candidate().await;
    check(
        api.post(
            &format!("{}/stage", item(later)),
            &api.operator,
            json!({"stage": "introduced"}),
        )
        .await,
        StatusCode::OK,
    );
    let vetting = api
        .create("/api/v1/vetting", vetting_body(waiting, "not_yet"))
        .await;
    api.create("/api/v1/vetting", vetting_body(later, "recommend"))
        .await;

    // Applied → vetted, with the interview named in the history; whatever it recommended.
    let moved = check(api.get(&item(waiting), &api.operator).await, StatusCode::OK);
    assert_eq!(moved["stage"], "vetted");
    let history = moved["stage_history"].as_array().expect("history");
    assert_eq!(history.len(), 2, "{history:?}");
    assert_eq!(history[1]["stage"], "vetted");
    assert_eq!(history[1]["note"], format!("vetting {vetting}"));
    assert_eq!(
        api.ids(&format!("{LIST}?stage=vetted")).await,
        [waiting],
        "the stage filter (and so the funnel) sees the move"
    );
    // A candidate further along is not moved back.
    let kept = check(api.get(&item(later), &api.operator).await, StatusCode::OK);
    assert_eq!(kept["stage"], "introduced");
}
