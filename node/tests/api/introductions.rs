//! Introductions: an employer asks to meet a candidate it knows only by pseudonym, the
//! operator records the answer, and only an accepted introduction reveals who the candidate
//! is.

use axum::http::StatusCode;
use serde_json::{json, Value};

use techhire_node::pseudonym::{Audience, Pseudonyms};

use crate::support::*;

const INTRODUCTIONS: &str = "/api/v1/introductions";
const NAME: &str = "Ada Example";
const EMAIL: &str = "ada@example.org";

/// A node with one candidate (Ada) and one opening of the employer token's employer.
struct Setup {
    api: TestApi,
    pseudonyms: Pseudonyms,
    candidate_id: u64,
    opening_id: u64,
}

impl Setup {
    async fn new() -> Setup {
        let api = TestApi::new().await;
        // The same key the node uses: it lives in the store.
        let pseudonyms = Pseudonyms::load_or_create(&api.store).expect("pseudonym key");
        let candidate_id = api.new_candidate().await;
        let opening_id = api.new_opening(api.employer_id).await;
        Setup {
            api,
            pseudonyms,
            candidate_id,
            opening_id,
        }
    }

    /// The pseudonym the employer token's employer was shown for `candidate_id`.
    fn pseudonym(&self, candidate_id: u64) -> String {
        self.pseudonyms
            .encode(Audience::Employer(self.api.employer_id), candidate_id)
    }

    /// The employer token requests an introduction to Ada for its opening.
    async fn employer_requests(&self) -> Value {
        check(
            self.api
                .post(
                    INTRODUCTIONS,
                    &self.api.employer,
                    json!({
                        "candidate": self.pseudonym(self.candidate_id),
                        "opening_id": self.opening_id,
                        "message": "We liked your Python project.\nCould we talk about our help desk role?"
                    }),
                )
                .await,
            StatusCode::CREATED,
        )
    }

    async fn outcome(&self, id: u64, body: Value) -> (StatusCode, Value) {
        self.api
            .post(
                &format!("{INTRODUCTIONS}/{id}/outcome"),
                &self.api.operator,
                body,
            )
            .await
    }

    async fn candidate_stage(&self) -> Value {
        let c = check(
            self.api
                .get(
                    &format!("/api/v1/candidates/{}", self.candidate_id),
                    &self.api.operator,
                )
                .await,
            StatusCode::OK,
        );
        c["stage"].clone()
    }
}

/// The employer's view of an introduction never carries the local id and, unless `accepted`,
/// nothing that identifies the candidate.
#[track_caller]
fn assert_blind(view: &Value) {
    let text = view.to_string();
    assert!(view.get("candidate_id").is_none(), "local id shown: {view}");
    assert!(
        !text.contains(NAME) && !text.contains(EMAIL),
        "contact details shown: {view}"
    );
    assert!(view["contact"].is_null(), "contact shown: {view}");
}

fn id_of(v: &Value) -> u64 {
    v["id"].as_u64().unwrap_or_else(|| panic!("no id in {v}"))
}

#[tokio::test]
async fn an_employer_sees_contact_details_only_once_accepted() {
    let s = Setup::new().await;
    let api = &s.api;
    let created = s.employer_requests().await;
    let id = id_of(&created);
    assert_eq!(created["candidate"], s.pseudonym(s.candidate_id));
    assert_eq!(created["status"], "requested");
    assert_eq!(created["requested_by"], "employer");
    assert_eq!(created["employer_id"], api.employer_id);
    assert_eq!(created["opening_id"], s.opening_id);
    assert_blind(&created);

    let path = format!("{INTRODUCTIONS}/{id}");
    assert_blind(&check(api.get(&path, &api.employer).await, StatusCode::OK));
    let listed = check(api.get(INTRODUCTIONS, &api.employer).await, StatusCode::OK);
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(1));
    assert_blind(&listed["items"][0]);

    // The operator sees who it is.
    let seen = check(api.get(&path, &api.operator).await, StatusCode::OK);
    assert_eq!(seen["candidate_id"], s.candidate_id);
    assert_eq!(seen["candidate"], s.pseudonym(s.candidate_id));
    assert_eq!(api.ids(INTRODUCTIONS).await, [id]);

    let accepted = check(
        s.outcome(
            id,
            json!({"outcome": "accepted", "note": "Ada is free on Tuesdays"}),
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(accepted["status"], "accepted");
    assert!(accepted["decided_at"].is_string());

    let view = check(api.get(&path, &api.employer).await, StatusCode::OK);
    assert!(view.get("candidate_id").is_none(), "local id shown: {view}");
    assert_eq!(view["status"], "accepted");
    assert_eq!(view["contact"]["name"], NAME);
    assert_eq!(view["contact"]["email"], EMAIL);
    assert_eq!(view["contact"]["phone"], "+1 555 123 4567");
    assert_eq!(view["outcome_note"], "Ada is free on Tuesdays");
    let listed = check(api.get(INTRODUCTIONS, &api.employer).await, StatusCode::OK);
    assert_eq!(listed["items"][0]["contact"]["email"], EMAIL);

    // The candidate moved on in the pipeline, with a note saying why.
    let c = check(
        api.get(
            &format!("/api/v1/candidates/{}", s.candidate_id),
            &api.operator,
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(c["stage"], "introduced");
    let last = c["stage_history"]
        .as_array()
        .and_then(|h| h.last())
        .cloned()
        .expect("history");
    assert_eq!(last["stage"], "introduced");
    assert_eq!(last["note"], format!("introduction {id}"));

    // Decided once: a second outcome or a withdrawal is a conflict.
    check_error(
        s.outcome(id, json!({"outcome": "declined"})).await,
        StatusCode::CONFLICT,
        None,
    );
    check_error(
        api.post(&format!("{path}/withdraw"), &api.employer, json!({}))
            .await,
        StatusCode::CONFLICT,
        None,
    );
}

#[tokio::test]
async fn a_declined_introduction_never_reveals_the_candidate() {
    let s = Setup::new().await;
    let api = &s.api;
    let id = id_of(&s.employer_requests().await);
    let declined = check(
        s.outcome(
            id,
            json!({"outcome": "declined", "note": "Ada Example took another job"}),
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(declined["status"], "declined");
    let view = check(
        api.get(&format!("{INTRODUCTIONS}/{id}"), &api.employer)
            .await,
        StatusCode::OK,
    );
    assert_eq!(view["status"], "declined");
    // The operator's note names her: it stays with the operator.
    assert_blind(&view);
    assert!(view["outcome_note"].is_null());
    assert_blind(&check(api.get(INTRODUCTIONS, &api.employer).await, StatusCode::OK)["items"][0]);
    assert_eq!(s.candidate_stage().await, "applied");
}

#[tokio::test]
async fn acceptance_does_not_move_a_candidate_back() {
    let s = Setup::new().await;
    let api = &s.api;
    let id = id_of(&s.employer_requests().await);
    check(
        api.post(
            &format!("/api/v1/candidates/{}/stage", s.candidate_id),
            &api.operator,
            json!({"stage": "introduced"}),
        )
        .await,
        StatusCode::OK,
    );
    check(
        s.outcome(id, json!({"outcome": "accepted"})).await,
        StatusCode::OK,
    );
    let c = check(
        api.get(
            &format!("/api/v1/candidates/{}", s.candidate_id),
            &api.operator,
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(c["stage"], "introduced");
    // Applied, then introduced by hand; acceptance added nothing.
    assert_eq!(c["stage_history"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn the_operator_records_requests_for_an_employer() {
    let s = Setup::new().await;
    let api = &s.api;
    let by_id = check(
        api.post(
            INTRODUCTIONS,
            &api.operator,
            json!({"candidate_id": s.candidate_id, "employer_id": api.employer_id, "message": "Asked by phone"}),
        )
        .await,
        StatusCode::CREATED,
    );
    assert_eq!(by_id["requested_by"], "operator");
    assert_eq!(by_id["candidate_id"], s.candidate_id);
    assert!(by_id["opening_id"].is_null());
    // The employer sees the request made for it, blind.
    let view = check(
        api.get(&format!("{INTRODUCTIONS}/{}", id_of(&by_id)), &api.employer)
            .await,
        StatusCode::OK,
    );
    assert_blind(&view);
    assert_eq!(view["candidate"], s.pseudonym(s.candidate_id));

    // Or with the pseudonym the employer quoted, read for that employer.
    let by_pseudonym = check(
        api.post(
            INTRODUCTIONS,
            &api.operator,
            json!({
                "candidate": s.pseudonym(s.candidate_id),
                "employer_id": api.employer_id,
                "opening_id": s.opening_id,
                "message": "Asked by email"
            }),
        )
        .await,
        StatusCode::CREATED,
    );
    assert_eq!(by_pseudonym["candidate_id"], s.candidate_id);

    let before = api.ids(INTRODUCTIONS).await;
    let cases = [
        (
            json!({"candidate_id": s.candidate_id, "message": "m"}),
            StatusCode::BAD_REQUEST,
            "employer_id",
        ),
        (
            json!({"employer_id": api.employer_id, "message": "m"}),
            StatusCode::BAD_REQUEST,
            "candidate_id",
        ),
        (
            json!({"candidate_id": s.candidate_id, "candidate": s.pseudonym(s.candidate_id), "employer_id": api.employer_id, "message": "m"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "candidate",
        ),
        (
            json!({"candidate_id": 999, "employer_id": api.employer_id, "message": "m"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "candidate_id",
        ),
        (
            json!({"candidate_id": s.candidate_id, "employer_id": 999, "message": "m"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "employer_id",
        ),
        (
            json!({"candidate_id": s.candidate_id, "employer_id": api.employer_id, "opening_id": 999, "message": "m"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "opening_id",
        ),
        (
            json!({"candidate_id": s.candidate_id, "employer_id": api.employer_id, "message": "  "}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "message",
        ),
        (
            json!({"candidate_id": s.candidate_id, "employer_id": api.employer_id, "message": "m", "extra": 1}),
            StatusCode::BAD_REQUEST,
            "extra",
        ),
    ];
    let mut problems = Vec::new();
    for (body, status, field) in cases {
        let resp = api.post(INTRODUCTIONS, &api.operator, body.clone()).await;
        if let Some(p) = error_problem(&resp, status, Some(field)) {
            problems.push(format!("{body}: {p}"));
        }
    }
    assert_no_problems(&problems);
    assert_eq!(api.ids(INTRODUCTIONS).await, before, "a refusal wrote");
}

#[tokio::test]
async fn a_second_open_request_is_a_conflict() {
    let s = Setup::new().await;
    let api = &s.api;
    let first = id_of(&s.employer_requests().await);
    let body = check_error(
        api.post(
            INTRODUCTIONS,
            &api.employer,
            json!({"candidate": s.pseudonym(s.candidate_id), "opening_id": s.opening_id, "message": "Again"}),
        )
        .await,
        StatusCode::CONFLICT,
        None,
    );
    assert!(
        body["reason"]
            .as_str()
            .is_some_and(|r| r.contains(&format!("introduction {first}"))),
        "{body}"
    );
    // The operator recording the same request for the employer is the same duplicate.
    check_error(
        api.post(
            INTRODUCTIONS,
            &api.operator,
            json!({"candidate_id": s.candidate_id, "employer_id": api.employer_id, "opening_id": s.opening_id, "message": "Again"}),
        )
        .await,
        StatusCode::CONFLICT,
        None,
    );
    // Another opening, or none, is another request.
    let second_opening = api.new_opening(api.employer_id).await;
    for opening in [json!(second_opening), Value::Null] {
        check(
            api.post(
                INTRODUCTIONS,
                &api.employer,
                json!({"candidate": s.pseudonym(s.candidate_id), "opening_id": opening, "message": "Other role"}),
            )
            .await,
            StatusCode::CREATED,
        );
    }
    // Once the first is withdrawn, it may be asked again.
    let withdrawn = check(
        api.post(
            &format!("{INTRODUCTIONS}/{first}/withdraw"),
            &api.employer,
            json!({}),
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(withdrawn["status"], "withdrawn");
    assert!(withdrawn["decided_at"].is_string());
    assert_blind(&withdrawn);
    check_error(
        s.outcome(first, json!({"outcome": "accepted"})).await,
        StatusCode::CONFLICT,
        None,
    );
    s.employer_requests().await;
    assert_eq!(api.count(INTRODUCTIONS).await, 4);
}

#[tokio::test]
async fn candidates_out_of_the_pipeline_cannot_be_introduced() {
    let s = Setup::new().await;
    let api = &s.api;
    // Requested while still available, then the candidate withdraws.
    let open = id_of(&s.employer_requests().await);
    check(
        api.post(
            &format!("/api/v1/candidates/{}/stage", s.candidate_id),
            &api.operator,
            json!({"stage": "withdrawn"}),
        )
        .await,
        StatusCode::OK,
    );
    let refused = check_error(
        api.post(
            INTRODUCTIONS,
            &api.employer,
            json!({"candidate": s.pseudonym(s.candidate_id), "message": "Hello"}),
        )
        .await,
        StatusCode::CONFLICT,
        Some("candidate"),
    );
    assert!(
        refused["reason"]
            .as_str()
            .is_some_and(|r| r.contains("withdrawn")),
        "{refused}"
    );
    // Accepting would hand over the contact details of someone who left: refused; the
    // request can still be declined.
    check_error(
        s.outcome(open, json!({"outcome": "accepted"})).await,
        StatusCode::CONFLICT,
        None,
    );
    check(
        s.outcome(open, json!({"outcome": "declined"})).await,
        StatusCode::OK,
    );

    // A placed candidate neither.
    let placed = api.new_candidate().await;
    api.create(
        "/api/v1/placements",
        placement_body(placed, api.employer_id),
    )
    .await;
    check_error(
        api.post(
            INTRODUCTIONS,
            &api.employer,
            json!({"candidate": s.pseudonym(placed), "message": "Hello"}),
        )
        .await,
        StatusCode::CONFLICT,
        Some("candidate"),
    );
}

#[tokio::test]
async fn an_employer_cannot_reach_beyond_its_own() {
    let s = Setup::new().await;
    let api = &s.api;
    let other = api.new_employer("Someone Else").await;
    let their_opening = api.new_opening(other).await;
    let theirs = s
        .pseudonyms
        .encode(Audience::Employer(other), s.candidate_id);
    let own = s.pseudonym(s.candidate_id);
    let own = own.as_str();
    let before = api.ids(INTRODUCTIONS).await;
    let cases = [
        // Another employer's pseudonym names nobody for this employer.
        (
            json!({"candidate": theirs, "message": "m"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "candidate",
        ),
        (
            json!({"candidate": "c-123", "message": "m"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "candidate",
        ),
        (
            json!({"candidate": s.candidate_id.to_string(), "message": "m"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "candidate",
        ),
        (
            json!({"message": "m"}),
            StatusCode::BAD_REQUEST,
            "candidate",
        ),
        // Local ids and other employers are the operator's business.
        (
            json!({"candidate_id": s.candidate_id, "message": "m"}),
            StatusCode::FORBIDDEN,
            "candidate_id",
        ),
        (
            json!({"candidate": own, "employer_id": other, "message": "m"}),
            StatusCode::FORBIDDEN,
            "employer_id",
        ),
        (
            json!({"candidate": own, "employer_id": api.employer_id, "message": "m"}),
            StatusCode::FORBIDDEN,
            "employer_id",
        ),
        (
            json!({"candidate": own, "opening_id": their_opening, "message": "m"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "opening_id",
        ),
    ];
    let mut problems = Vec::new();
    for (body, status, field) in cases {
        let resp = api.post(INTRODUCTIONS, &api.employer, body.clone()).await;
        if let Some(p) = error_problem(&resp, status, Some(field)) {
            problems.push(format!("{body}: {p}"));
        }
    }
    assert_no_problems(&problems);
    assert_eq!(api.ids(INTRODUCTIONS).await, before, "a refusal wrote");

    // Another employer's opening is answered exactly like one that does not exist.
    let reason = |opening: u64| async move {
        let resp = api
            .post(
                INTRODUCTIONS,
                &api.employer,
                json!({"candidate": own, "opening_id": opening, "message": "m"}),
            )
            .await;
        check(resp, StatusCode::UNPROCESSABLE_ENTITY)["reason"]
            .as_str()
            .expect("reason")
            .replace(&opening.to_string(), "N")
    };
    assert_eq!(
        reason(their_opening).await,
        reason(their_opening + 100).await
    );

    // Another employer's introduction is not there for this one.
    let foreign = id_of(&check(
        api.post(
            INTRODUCTIONS,
            &api.operator,
            json!({"candidate_id": s.candidate_id, "employer_id": other, "message": "For them"}),
        )
        .await,
        StatusCode::CREATED,
    ));
    let path = format!("{INTRODUCTIONS}/{foreign}");
    check_error(
        api.get(&path, &api.employer).await,
        StatusCode::NOT_FOUND,
        None,
    );
    check_error(
        api.post(&format!("{path}/withdraw"), &api.employer, json!({}))
            .await,
        StatusCode::NOT_FOUND,
        None,
    );
    assert!(api.ids_as(INTRODUCTIONS, &api.employer).await.is_empty());
    assert!(api
        .ids_as(
            &format!("{INTRODUCTIONS}?employer_id={other}"),
            &api.employer
        )
        .await
        .is_empty());
    // Filtering by local id would line pseudonyms up with ids.
    check_error(
        api.get(
            &format!("{INTRODUCTIONS}?candidate_id={}", s.candidate_id),
            &api.employer,
        )
        .await,
        StatusCode::FORBIDDEN,
        Some("candidate_id"),
    );
    // And the outcome is the operator's to record.
    check_error(
        api.post(
            &format!("{path}/outcome"),
            &api.employer,
            json!({"outcome": "accepted"}),
        )
        .await,
        StatusCode::FORBIDDEN,
        None,
    );
    assert_eq!(
        check(api.get(&path, &api.operator).await, StatusCode::OK)["status"],
        "requested"
    );
}

#[tokio::test]
async fn lists_filter_and_page() {
    let s = Setup::new().await;
    let api = &s.api;
    let other = api.new_employer("Someone Else").await;
    let second = api.new_candidate().await;
    let a = id_of(&s.employer_requests().await);
    let b = api
        .create(
            INTRODUCTIONS,
            json!({"candidate_id": second, "employer_id": api.employer_id, "message": "m"}),
        )
        .await;
    let c = api
        .create(
            INTRODUCTIONS,
            json!({"candidate_id": s.candidate_id, "employer_id": other, "message": "m"}),
        )
        .await;
    check(
        s.outcome(b, json!({"outcome": "declined"})).await,
        StatusCode::OK,
    );
    let cases = [
        (String::new(), vec![a, b, c]),
        ("status=requested".into(), vec![a, c]),
        ("status=declined".into(), vec![b]),
        (format!("employer_id={other}"), vec![c]),
        (format!("candidate_id={}", s.candidate_id), vec![a, c]),
        (format!("opening_id={}", s.opening_id), vec![a]),
        (
            format!("candidate={}", s.pseudonym(s.candidate_id)),
            vec![a],
        ),
        (
            format!(
                "candidate={}",
                s.pseudonyms
                    .encode(Audience::Employer(other), s.candidate_id)
            ),
            vec![c],
        ),
    ];
    for (query, expected) in cases {
        assert_eq!(
            api.ids(&format!("{INTRODUCTIONS}?{query}")).await,
            expected,
            "operator ?{query}"
        );
    }
    for (query, expected) in [
        (String::new(), vec![a, b]),
        ("status=requested".into(), vec![a]),
        (format!("candidate={}", s.pseudonym(second)), vec![b]),
    ] {
        assert_eq!(
            api.ids_as(&format!("{INTRODUCTIONS}?{query}"), &api.employer)
                .await,
            expected,
            "employer ?{query}"
        );
    }
    // Paging like every list.
    let page = check(
        api.get(&format!("{INTRODUCTIONS}?limit=2"), &api.operator)
            .await,
        StatusCode::OK,
    );
    assert_eq!(page["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(page["next_after"], b);
    check_error(
        api.get(&format!("{INTRODUCTIONS}?status=maybe"), &api.operator)
            .await,
        StatusCode::BAD_REQUEST,
        Some("status"),
    );
}

#[tokio::test]
async fn deleting_the_candidate_removes_their_introductions() {
    let s = Setup::new().await;
    let api = &s.api;
    let id = id_of(&s.employer_requests().await);
    check(
        s.outcome(id, json!({"outcome": "accepted"})).await,
        StatusCode::OK,
    );
    // The request holds its opening in place.
    let opening = format!("/api/v1/openings/{}", s.opening_id);
    check_error(
        api.delete(&opening, &api.employer).await,
        StatusCode::CONFLICT,
        None,
    );
    check(
        api.delete(
            &format!("/api/v1/candidates/{}", s.candidate_id),
            &api.operator,
        )
        .await,
        StatusCode::NO_CONTENT,
    );
    check_error(
        api.get(&format!("{INTRODUCTIONS}/{id}"), &api.operator)
            .await,
        StatusCode::NOT_FOUND,
        None,
    );
    assert!(api.ids(INTRODUCTIONS).await.is_empty());
    assert!(api.ids_as(INTRODUCTIONS, &api.employer).await.is_empty());
    // Its references went with it.
    check(
        api.delete(&opening, &api.employer).await,
        StatusCode::NO_CONTENT,
    );
}
