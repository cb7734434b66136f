//! Every resource through create → read → replace → list (paging, each filter) → delete →
//! 404; the community record; referential integrity (409 on delete, 422 on a foreign
//! opening) and the placement's stage change.

use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

/// Every key of `expected` is in `actual` with the same value (recursively; `actual` may
/// hold more keys, such as defaults and server-managed fields).
#[track_caller]
fn assert_subset(expected: &Value, actual: &Value) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, v) in e {
                let got = a
                    .get(k)
                    .unwrap_or_else(|| panic!("{k} missing from {actual}"));
                assert_subset(v, got);
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            assert_eq!(e.len(), a.len(), "{expected} vs {actual}");
            for (x, y) in e.iter().zip(a) {
                assert_subset(x, y);
            }
        }
        _ => assert_eq!(expected, actual),
    }
}

/// Create → read → replace → read → page → delete → 404 on `list`, as the operator.
/// Leaves two records made from `body` behind.
async fn lifecycle(api: &TestApi, list: &str, body: Value, replacement: Value) {
    let op = &api.operator;
    let created = check(api.post(list, op, body.clone()).await, StatusCode::CREATED);
    assert_subset(&body, &created);
    let id = created["id"].as_u64().expect("id");
    assert!(created["created_at"].is_string() && created["updated_at"].is_string());
    let item = format!("{list}/{id}");

    assert_eq!(check(api.get(&item, op).await, StatusCode::OK), created);

    let replaced = check(
        api.put(&item, op, replacement.clone()).await,
        StatusCode::OK,
    );
    assert_subset(&replacement, &replaced);
    assert_eq!(replaced["id"], created["id"]);
    assert_eq!(replaced["created_at"], created["created_at"]);
    assert_eq!(check(api.get(&item, op).await, StatusCode::OK), replaced);

    let a = api.create(list, body.clone()).await;
    let b = api.create(list, body).await;
    assert!(id < a && a < b, "ids are not increasing: {id}, {a}, {b}");
    assert_paging(api, list).await;

    check(api.delete(&item, op).await, StatusCode::NO_CONTENT);
    check_error(api.get(&item, op).await, StatusCode::NOT_FOUND, None);
    check_error(api.delete(&item, op).await, StatusCode::NOT_FOUND, None);
    check_error(
        api.put(&item, op, replacement).await,
        StatusCode::NOT_FOUND,
        None,
    );
    let left = api.ids(list).await;
    assert!(!left.contains(&id) && left.contains(&a) && left.contains(&b));
}

/// Pages of two, followed by `next_after`, give every record once, in id order, and the
/// last page says `next_after: null`.
async fn assert_paging(api: &TestApi, list: &str) {
    let all = api.ids(list).await;
    assert!(all.len() >= 3, "too few records to page {list}");
    assert!(
        all.windows(2).all(|w| w[0] < w[1]),
        "not in id order: {all:?}"
    );
    let mut seen = Vec::new();
    let mut url = format!("{list}?limit=2");
    loop {
        let page = check(api.get(&url, &api.operator).await, StatusCode::OK);
        let items = page["items"].as_array().expect("items");
        assert!(!items.is_empty() && items.len() <= 2, "{url}: {page}");
        seen.extend(items.iter().map(|i| i["id"].as_u64().expect("id")));
        match page["next_after"].as_u64() {
            Some(next) => {
                assert_eq!(
                    Some(&next),
                    seen.last(),
                    "{url}: next_after is not the last id"
                );
                url = format!("{list}?limit=2&after={next}");
            }
            None => {
                assert!(page["next_after"].is_null(), "{url}: {page}");
                break;
            }
        }
    }
    assert_eq!(seen, all);
    // `after` past the end is an empty last page.
    let last = all.last().expect("records");
    let page = check(
        api.get(&format!("{list}?after={last}"), &api.operator)
            .await,
        StatusCode::OK,
    );
    assert_eq!(page, json!({"items": [], "next_after": null}));
}

#[tokio::test]
async fn employers() {
    let api = TestApi::new().await;
    let list = "/api/v1/employers";
    let mut replacement = employer_body("Acme Renamed");
    replacement["size_band"] = json!("1000+");
    replacement["contacts"] = json!([]);
    lifecycle(&api, list, employer_body("Acme"), replacement).await;

    let mut advocate = employer_body("Beacon Health");
    advocate["advocate"] = json!(true);
    advocate["commitment"] =
        json!({"signed_on": "2023-09-01", "interview_non_traditional": true, "hiring_target": 10});
    let advocate = api.create(list, advocate).await;
    assert_eq!(api.ids(&format!("{list}?advocate=true")).await, [advocate]);
    assert_eq!(api.ids(&format!("{list}?committed=true")).await, [advocate]);
    assert!(!api
        .ids(&format!("{list}?committed=false"))
        .await
        .contains(&advocate));
    assert_eq!(api.ids(&format!("{list}?q=BEACON")).await, [advocate]);
    assert_eq!(
        api.ids(&format!("{list}?q=beacon&advocate=false")).await,
        Vec::<u64>::new()
    );
}

#[tokio::test]
async fn providers() {
    let api = TestApi::new().await;
    let list = "/api/v1/providers";
    let mut replacement = provider_body("Code Forge Academy");
    replacement["kind"] = json!("non_profit");
    replacement["website"] = json!("https://forge.example.org");
    lifecycle(&api, list, provider_body("Code Forge"), replacement).await;

    let college = api
        .create(
            list,
            json!({"name": "Valley Community College", "kind": "community_college"}),
        )
        .await;
    assert_eq!(
        api.ids(&format!("{list}?kind=community_college")).await,
        [college]
    );
    assert_eq!(api.ids(&format!("{list}?q=valley")).await, [college]);
    assert!(!api
        .ids(&format!("{list}?kind=bootcamp"))
        .await
        .contains(&college));
}

#[tokio::test]
async fn programs() {
    let api = TestApi::new().await;
    let list = "/api/v1/programs";
    let provider = api.new_provider().await;
    let mut replacement = program_body(provider, "Web Basics II");
    replacement["skills_taught"] = json!([{"skill": "CSS"}]);
    replacement["length_weeks"] = json!(24);
    replacement["scholarships"] = json!(true);
    lifecycle(
        &api,
        list,
        program_body(provider, "Web Basics"),
        replacement,
    )
    .await;

    let other_provider = api.new_provider().await;
    let mut data = program_body(other_provider, "Data Basics");
    data["skills_taught"] = json!(["SQL"]);
    let data = api.create(list, data).await;
    assert_eq!(
        api.ids(&format!("{list}?provider_id={other_provider}"))
            .await,
        [data]
    );
    assert_eq!(api.ids(&format!("{list}?skill=sql")).await, [data]);
    assert!(!api
        .ids(&format!("{list}?skill=javascript"))
        .await
        .contains(&data));

    // A provider with programs cannot be deleted.
    check_error(
        api.delete(
            &format!("/api/v1/providers/{other_provider}"),
            &api.operator,
        )
        .await,
        StatusCode::CONFLICT,
        None,
    );
    check(
        api.get(
            &format!("/api/v1/providers/{other_provider}"),
            &api.operator,
        )
        .await,
        StatusCode::OK,
    );
}

#[tokio::test]
async fn openings() {
    let api = TestApi::new().await;
    let list = "/api/v1/openings";
    let employer = api.new_employer("Acme").await;
    let mut replacement = opening_body(employer, "Senior Help Desk Technician");
    replacement["status"] = json!("paused");
    replacement["salary_min_usd"] = json!(40000);
    replacement["salary_max_usd"] = json!(52000);
    lifecycle(
        &api,
        list,
        opening_body(employer, "Help Desk Technician"),
        replacement,
    )
    .await;

    let other = api.new_employer("Beacon").await;
    let mut web = opening_body(other, "Web Developer");
    web["soc_code"] = json!("15-1254");
    web["status"] = json!("filled");
    let web = api.create(list, web).await;
    assert_eq!(api.ids(&format!("{list}?employer_id={other}")).await, [web]);
    assert_eq!(api.ids(&format!("{list}?status=filled")).await, [web]);
    assert_eq!(api.ids(&format!("{list}?soc_code=15-1254")).await, [web]);
    assert!(!api.ids(&format!("{list}?status=open")).await.contains(&web));
}

#[tokio::test]
async fn assessments() {
    let api = TestApi::new().await;
    let list = "/api/v1/assessments";
    let candidate = api.new_candidate().await;
    let mut replacement = assessment_body(candidate, "Python");
    replacement["score"] = json!(95);
    lifecycle(
        &api,
        list,
        assessment_body(candidate, "Python"),
        replacement,
    )
    .await;

    let other = api.new_candidate().await;
    let sql = api.create(list, assessment_body(other, "SQL")).await;
    assert_eq!(
        api.ids(&format!("{list}?candidate_id={other}")).await,
        [sql]
    );
    assert_eq!(api.ids(&format!("{list}?skill=sql")).await, [sql]);
}

#[tokio::test]
async fn vetting() {
    let api = TestApi::new().await;
    let list = "/api/v1/vetting";
    let candidate = api.new_candidate().await;
    let mut replacement = vetting_body(candidate, "strongly_recommend");
    replacement["notes"] = json!("Clear communicator.");
    lifecycle(
        &api,
        list,
        vetting_body(candidate, "recommend"),
        replacement,
    )
    .await;

    let other = api.new_candidate().await;
    let maybe = api.create(list, vetting_body(other, "maybe")).await;
    assert_eq!(
        api.ids(&format!("{list}?candidate_id={other}")).await,
        [maybe]
    );
    assert_eq!(
        api.ids(&format!("{list}?recommendation=maybe")).await,
        [maybe]
    );
}

#[tokio::test]
async fn placements() {
    let api = TestApi::new().await;
    let list = "/api/v1/placements";
    let candidate = api.new_candidate().await;
    let employer = api.new_employer("Acme").await;
    let mut replacement = placement_body(candidate, employer);
    replacement["retention"] = json!([
        {"quarter": "q2", "checked_on": "2024-12-01", "employed": true, "same_employer": true}
    ]);
    lifecycle(&api, list, placement_body(candidate, employer), replacement).await;

    let program = api.new_program().await;
    let other_candidate = api.new_candidate().await;
    let other_employer = api.new_employer("Beacon").await;
    let mut body = placement_body(other_candidate, other_employer);
    body["program_id"] = json!(program);
    let p = api.create(list, body).await;
    for filter in [
        format!("candidate_id={other_candidate}"),
        format!("employer_id={other_employer}"),
        format!("program_id={program}"),
    ] {
        assert_eq!(api.ids(&format!("{list}?{filter}")).await, [p], "{filter}");
    }
}

#[tokio::test]
async fn retention_check_ins_are_recorded_once_per_quarter() {
    let api = TestApi::new().await;
    let candidate = api.new_candidate().await;
    let employer = api.new_employer("Acme").await;
    let id = api
        .create("/api/v1/placements", placement_body(candidate, employer))
        .await;
    let path = format!("/api/v1/placements/{id}/retention");
    let q2 = json!({"quarter": "q2", "checked_on": "2024-12-02", "employed": true, "same_employer": true});
    let (status, body) = api.post(&path, &api.operator, q2.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["retention"][0]["quarter"], "q2");

    let (status, body) = api.post(&path, &api.operator, q2).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    let early = json!({"quarter": "q4", "checked_on": "2024-01-01", "employed": true, "same_employer": false});
    let (status, body) = api.post(&path, &api.operator, early).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "checked_on");

    let (_, stored) = api
        .get(&format!("/api/v1/placements/{id}"), &api.operator)
        .await;
    assert_eq!(
        stored["retention"].as_array().map(Vec::len),
        Some(1),
        "{stored}"
    );

    let (status, _) = api
        .post("/api/v1/placements/999/retention", &api.operator, json!({"quarter": "q4", "checked_on": "2025-01-01", "employed": false, "same_employer": false}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn outreach() {
    let api = TestApi::new().await;
    let list = "/api/v1/outreach";
    let mut replacement = outreach_body("event");
    replacement["job_seekers_reached"] = json!(150);
    replacement["notes"] = json!("Spring job fair");
    lifecycle(&api, list, outreach_body("event"), replacement).await;

    let radio = api.create(list, outreach_body("radio")).await;
    assert_eq!(api.ids(&format!("{list}?channel=radio")).await, [radio]);
    assert!(!api
        .ids(&format!("{list}?channel=event"))
        .await
        .contains(&radio));
}

#[tokio::test]
async fn community_read_and_replace() {
    let api = TestApi::new().await;
    let path = "/api/v1/community";
    let start = check(api.get(path, &api.operator).await, StatusCode::OK);
    assert_eq!(start["name"], COMMUNITY);

    let replacement = json!({
        "name": "Test Valley TechHire Coalition",
        "region": "US-TV",
        "backbone_organisation": "Valley Workforce Board",
        "goals": [{
            "year": 2025, "placements": 100, "people_trained": 250, "job_seekers_reached": 1000,
            "segment_goals": [{"segment": "veteran", "metric": "placements", "target": 20}]
        }]
    });
    let put = check(
        api.put(path, &api.operator, replacement.clone()).await,
        StatusCode::OK,
    );
    assert_subset(&replacement, &put);
    let read = check(api.get(path, &api.operator).await, StatusCode::OK);
    assert_subset(&replacement, &read);

    // Two goals for one year: refused, and the stored community is unchanged.
    let mut twice = replacement.clone();
    twice["goals"] = json!([replacement["goals"][0], replacement["goals"][0]]);
    check_error(
        api.put(path, &api.operator, twice).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("goals[1].year"),
    );
    assert_eq!(
        check(api.get(path, &api.operator).await, StatusCode::OK),
        read
    );
    let health = check(api.get("/healthz", NO_TOKEN).await, StatusCode::OK);
    assert_eq!(health["community"], "Test Valley TechHire Coalition");
    assert_eq!(health["status"], "ok");
    assert_eq!(
        check(api.get("/readyz", NO_TOKEN).await, StatusCode::OK)["status"],
        "ready"
    );
}

#[tokio::test]
async fn an_employer_with_openings_cannot_be_deleted() {
    let api = TestApi::new().await;
    let employer = api.new_employer("Acme").await;
    let opening = api.new_opening(employer).await;
    check_error(
        api.delete(&format!("/api/v1/employers/{employer}"), &api.operator)
            .await,
        StatusCode::CONFLICT,
        None,
    );
    check(
        api.get(&format!("/api/v1/employers/{employer}"), &api.operator)
            .await,
        StatusCode::OK,
    );
    check(
        api.get(&format!("/api/v1/openings/{opening}"), &api.operator)
            .await,
        StatusCode::OK,
    );
    // Once the opening is gone, so can the employer be.
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
}

#[tokio::test]
async fn an_opening_cannot_be_moved_to_a_missing_employer() {
    let api = TestApi::new().await;
    let opening = api.new_opening(api.employer_id).await;
    let path = format!("/api/v1/openings/{opening}");
    let before = check(api.get(&path, &api.operator).await, StatusCode::OK);
    check_error(
        api.put(&path, &api.operator, opening_body(999, "Moved"))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("employer_id"),
    );
    assert_eq!(
        check(api.get(&path, &api.operator).await, StatusCode::OK),
        before
    );
}

#[tokio::test]
async fn a_placement_moves_its_candidate_to_placed() {
    let api = TestApi::new().await;
    let candidate = api.new_candidate().await;
    let employer = api.new_employer("Acme").await;
    let opening = api.new_opening(employer).await;
    let mut body = placement_body(candidate, employer);
    body["opening_id"] = json!(opening);
    let placement = api.create("/api/v1/placements", body).await;
    let c = check(
        api.get(&format!("/api/v1/candidates/{candidate}"), &api.operator)
            .await,
        StatusCode::OK,
    );
    assert_eq!(c["stage"], "placed");
    let history = c["stage_history"].as_array().expect("history");
    assert_eq!(history.len(), 2, "{c}");
    assert_eq!(history[0]["stage"], "applied");
    assert_eq!(history[1]["stage"], "placed");
    assert_eq!(history[1]["note"], format!("placement {placement}"));
    // The same write: created_at of the placement is the candidate's updated_at.
    let p = check(
        api.get(&format!("/api/v1/placements/{placement}"), &api.operator)
            .await,
        StatusCode::OK,
    );
    assert_eq!(p["created_at"], c["updated_at"]);
    // The opening is now referenced by the placement.
    check_error(
        api.delete(&format!("/api/v1/openings/{opening}"), &api.operator)
            .await,
        StatusCode::CONFLICT,
        None,
    );
}

#[tokio::test]
async fn a_placement_through_another_employers_opening_is_422() {
    let api = TestApi::new().await;
    let candidate = api.new_candidate().await;
    let hiring = api.new_employer("Acme").await;
    let other = api.new_employer("Beacon").await;
    let foreign = api.new_opening(other).await;
    let mut body = placement_body(candidate, hiring);
    body["opening_id"] = json!(foreign);
    check_error(
        api.post("/api/v1/placements", &api.operator, body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("opening_id"),
    );
    assert_eq!(api.count("/api/v1/placements").await, 0);
    let c = check(
        api.get(&format!("/api/v1/candidates/{candidate}"), &api.operator)
            .await,
        StatusCode::OK,
    );
    assert_eq!(
        c["stage"], "applied",
        "a refused placement changed the stage"
    );
    // And the refused placement left no reference behind: the opening can go.
    check(
        api.delete(&format!("/api/v1/openings/{foreign}"), &api.operator)
            .await,
        StatusCode::NO_CONTENT,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_get_distinct_ids_and_all_are_kept() {
    let api = Arc::new(TestApi::new().await);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..24 {
        let api = Arc::clone(&api);
        tasks.spawn(async move { api.new_employer(&format!("Concurrent {i}")).await });
    }
    let mut ids = Vec::new();
    while let Some(id) = tasks.join_next().await {
        ids.push(id.expect("create task"));
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 24, "two creates got the same id");
    let listed = api.ids("/api/v1/employers").await;
    assert!(
        ids.iter().all(|id| listed.contains(id)),
        "{ids:?} vs {listed:?}"
    );
    assert_eq!(listed.len(), 25, "the token's employer and the 24 new ones");
}

#[tokio::test]
async fn metrics_for_monitoring_count_requests_by_route_and_show_the_store() {
    let api = TestApi::new().await;
    let id = api.new_candidate().await;
    check(
        api.get(&format!("/api/v1/candidates/{id}"), &api.operator)
            .await,
        StatusCode::OK,
    );
    let (status, body) = api.get("/metrics", NO_TOKEN).await;
    assert_eq!(status, StatusCode::OK);
    // Not JSON: the helper hands it back as text.
    let text = body.as_str().unwrap().to_owned();
    for expected in [
        // By the route's template, never the path with its id.
        "techhire_http_requests_total{route=\"/api/v1/candidates/{id}\",method=\"GET\",status=\"200\"} 1",
        "techhire_http_requests_total{route=\"/api/v1/candidates\",method=\"POST\",status=\"201\"} 1",
        "techhire_http_request_duration_seconds_count{route=\"/api/v1/candidates/{id}\",method=\"GET\"} 1",
        "techhire_store_writes_failing 0",
        "techhire_disk_free_bytes ",
        "techhire_store_flushes_total ",
    ] {
        assert!(text.contains(expected), "no {expected:?} in\n{text}");
    }
    assert!(!text.contains(&format!("/api/v1/candidates/{id}\"")));
}
