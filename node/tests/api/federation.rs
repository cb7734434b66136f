//! The federation routes: 409 until the node has joined a federation; once joined, the
//! status, and bulletins published, validated and listed.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

const ROUTES: [(&str, &str); 4] = [
    ("GET", "/api/v1/federation/status"),
    ("GET", "/api/v1/federation/metrics"),
    ("GET", "/api/v1/federation/bulletins"),
    ("POST", "/api/v1/federation/bulletins"),
];

#[tokio::test]
async fn a_node_that_has_not_joined_answers_409_pointing_at_join() {
    let api = TestApi::new().await;
    for (method, path) in ROUTES {
        let body = (method == "POST").then(|| json!({"title": "Hello", "body": ""}));
        let resp = api
            .request(method.parse().expect("a method"), path, &api.operator, body)
            .await;
        let err = check_error(resp, StatusCode::CONFLICT, None);
        assert_eq!(err["error"], "conflict", "{method} {path}: {err}");
        assert!(
            err["reason"]
                .as_str()
                .is_some_and(|r| r.contains("techhire federation join")),
            "{method} {path}: the reason should say how to join: {err}"
        );
    }
    // Nothing was written to a feed.
    assert!(techhire_node::federation::heads(&api.store)
        .expect("heads")
        .is_empty());
}

#[tokio::test]
async fn the_status_of_a_joined_node() {
    let api = TestApi::joined().await;
    let status = check(
        api.get("/api/v1/federation/status", &api.operator).await,
        StatusCode::OK,
    );
    let federation = api.federation.as_ref().expect("joined");
    assert_eq!(status["node_key"], federation.key().to_string());
    assert_eq!(status["stewards"].as_array().map(Vec::len), Some(1));
    assert!(status["peers"].as_array().is_some_and(Vec::is_empty));
    assert!(status["rejected"].is_object(), "{status}");
}

fn post_bulletin(title: &str, body: &str) -> Value {
    json!({"title": title, "body": body})
}

#[tokio::test]
async fn bulletins_are_published_signed_and_listed_newest_first() {
    let api = TestApi::joined().await;
    let first = check(
        api.post(
            "/api/v1/federation/bulletins",
            &api.operator,
            post_bulletin(
                "Spring cohort open",
                "Applications close May 1.\nAll welcome.",
            ),
        )
        .await,
        StatusCode::CREATED,
    );
    let own = api.federation.as_ref().expect("joined").key();
    assert_eq!(first["origin"], own.to_string());
    assert_eq!(first["seq"], 1);
    assert_eq!(first["title"], "Spring cohort open");
    assert_eq!(first["body"], "Applications close May 1.\nAll welcome.");
    assert!(first["published_at"].is_string(), "{first}");
    let second = check(
        api.post(
            "/api/v1/federation/bulletins",
            &api.operator,
            json!({"title": "Job fair"}),
        )
        .await,
        StatusCode::CREATED,
    );
    assert_eq!(second["seq"], 2);
    assert_eq!(second["body"], "");
    assert_ne!(second["id"], first["id"], "ids are never reused");

    // The record in the feed is signed by the node and decodes to the bulletin.
    let records = api
        .federation
        .as_ref()
        .expect("joined")
        .records(&own, 0)
        .expect("records");
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].verify(), Ok(()));
    let decoded =
        techhire_protocol::Bulletin::decode(records[0].payload()).expect("a bulletin payload");
    assert_eq!(decoded.title, "Spring cohort open");

    for token in [&api.operator, &api.reviewer, &api.employer] {
        let list = check(
            api.get("/api/v1/federation/bulletins", token).await,
            StatusCode::OK,
        );
        let items = list["items"].as_array().expect("items");
        assert_eq!(items.len(), 2, "{list}");
        // Newest first (equal timestamps: the higher sequence first).
        assert_eq!(items[0]["seq"], 2, "{list}");
        assert_eq!(items[1], first);
    }
}

#[tokio::test]
async fn bad_bulletins_are_refused_naming_the_field_and_nothing_is_published() {
    let api = TestApi::joined().await;
    let cases: Vec<(Value, StatusCode, Option<&str>)> = vec![
        (
            post_bulletin("", "x"),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("title"),
        ),
        (
            post_bulletin("   ", "x"),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("title"),
        ),
        (
            post_bulletin("two\nlines", "x"),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("title"),
        ),
        (
            post_bulletin(&"t".repeat(201), "x"),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("title"),
        ),
        // 100 characters, but 300 bytes of UTF-8: over the federation's limit.
        (
            post_bulletin(&"€".repeat(100), "x"),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("title"),
        ),
        (
            post_bulletin("Big", &"b".repeat(16 * 1024 + 1)),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("body"),
        ),
        (
            post_bulletin("Bell", "ding\u{7}"),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("body"),
        ),
        (
            json!({"body": "no title"}),
            StatusCode::BAD_REQUEST,
            Some("title"),
        ),
        (
            json!({"title": "x", "extra": 1}),
            StatusCode::BAD_REQUEST,
            Some("extra"),
        ),
        (json!({"title": 5}), StatusCode::BAD_REQUEST, Some("title")),
    ];
    let mut problems = Vec::new();
    for (body, status, field) in cases {
        let resp = api
            .post("/api/v1/federation/bulletins", &api.operator, body.clone())
            .await;
        if let Some(p) = error_problem(&resp, status, field) {
            problems.push(format!("{body}: {p}"));
        }
    }
    assert_no_problems(&problems);

    // The limits themselves are accepted.
    check(
        api.post(
            "/api/v1/federation/bulletins",
            &api.operator,
            post_bulletin(&"t".repeat(200), &"b".repeat(16 * 1024)),
        )
        .await,
        StatusCode::CREATED,
    );
    let list = check(
        api.get("/api/v1/federation/bulletins", &api.operator).await,
        StatusCode::OK,
    );
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "{list}");
}
