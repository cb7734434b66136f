//! The metrics routes on one joined node: publishing on demand, the national view as JSON
//! and CSV (both verifiable offline), what national staff may do, and bad queries.

use axum::http::StatusCode;
use serde_json::{json, Value};

use techhire_node::metrics::export::verify_export;
use techhire_node::seed::{self, SeedOptions};
use techhire_node::skills::Taxonomy;

use crate::support::*;

async fn seeded() -> TestApi {
    let api = TestApi::joined().await;
    let store = api.store.clone();
    tokio::task::spawn_blocking(move || {
        let opts = SeedOptions {
            candidates: 600,
            employers: 15,
            openings: 20,
            seed: 4,
        };
        seed::seed(&store, Taxonomy::builtin(), &opts, |_| {}).unwrap();
    })
    .await
    .unwrap();
    api
}

/// The CSV body of an answer the test helper kept as text.
fn text(body: &Value) -> String {
    let s = body.as_str().expect("a text body");
    s.strip_prefix("<not JSON: ")
        .and_then(|s| s.strip_suffix('>'))
        .unwrap_or(s)
        .to_string()
}

#[tokio::test]
async fn publishing_then_reading_the_national_view() {
    let api = seeded().await;
    let published = check(
        api.post(
            "/api/v1/federation/metrics/publish",
            &api.operator,
            json!({"years": [2025]}),
        )
        .await,
        StatusCode::OK,
    );
    let periods: Vec<&str> = published["published"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["period"].as_str().unwrap())
        .collect();
    assert_eq!(periods.len(), 17, "{published}");
    assert!(published["published"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["version"] == 1 && p["seq"].as_u64().unwrap() > 0));
    // Nothing changed: nothing new to publish.
    let again = check(
        api.post(
            "/api/v1/federation/metrics/publish",
            &api.operator,
            json!({}),
        )
        .await,
        StatusCode::OK,
    );
    assert!(
        again["published"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["period"].as_str().unwrap().starts_with("2026")),
        "{again}"
    );

    // National staff read the view; it verifies offline, JSON and CSV alike.
    let view = check(
        api.get("/api/v1/federation/metrics?year=2025", &api.national)
            .await,
        StatusCode::OK,
    );
    assert_eq!(view["format"], "techhire-metrics-export/1");
    let bytes = serde_json::to_vec(&view).unwrap();
    verify_export(&bytes, &[]).unwrap();
    let (status, csv) = api
        .get(
            "/api/v1/federation/metrics?year=2025&format=csv",
            &api.national,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let csv = text(&csv);
    assert!(
        csv.starts_with("section,period,community"),
        "{}",
        &csv[..100]
    );
    verify_export(csv.as_bytes(), &[]).unwrap();
    let (status, one) = api
        .get("/api/v1/federation/metrics?period=2025-03", &api.national)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["records"].as_array().unwrap().len(), 1, "{one}");

    // National staff publish nothing and see no community records.
    for (method, path) in [
        ("POST", "/api/v1/federation/metrics/publish"),
        ("GET", "/api/v1/candidates"),
        ("GET", "/api/v1/placements"),
        ("GET", "/api/v1/federation/bulletins"),
    ] {
        let body = (method == "POST").then(|| json!({}));
        let resp = api
            .request(method.parse().unwrap(), path, &api.national, body)
            .await;
        check_error(resp, StatusCode::FORBIDDEN, None);
    }
    check(
        api.get("/api/v1/federation/status", &api.national).await,
        StatusCode::OK,
    );
}

#[tokio::test]
async fn bad_queries_and_bodies_name_the_field() {
    let api = TestApi::joined().await;
    for (query, field) in [
        ("year=1999", "year"),
        ("year=twenty", "year"),
        ("period=2025-13", "period"),
        ("period=2025-Q5", "period"),
        ("year=2025&period=2025", "period"),
        ("format=xml", "format"),
        ("community=x", "community"),
    ] {
        let resp = api
            .get(
                &format!("/api/v1/federation/metrics?{query}"),
                &api.operator,
            )
            .await;
        let err = check_error(resp, StatusCode::BAD_REQUEST, Some(field));
        assert!(err["reason"].is_string(), "{query}: {err}");
    }
    for (body, field) in [
        (json!({"years": []}), "years"),
        (json!({"years": [1999]}), "years"),
        (
            json!({"years": [2020, 2021, 2022, 2023, 2024, 2025]}),
            "years",
        ),
        (json!({"year": 2025}), "year"),
    ] {
        let resp = api
            .post(
                "/api/v1/federation/metrics/publish",
                &api.operator,
                body.clone(),
            )
            .await;
        assert!(
            resp.0.is_client_error(),
            "{body}: expected a 4xx, got {}: {}",
            resp.0,
            resp.1
        );
        assert_eq!(resp.1["field"], field, "{body}: {}", resp.1);
    }
    // Nothing was published by any of it.
    assert!(techhire_node::federation::heads(&api.store)
        .unwrap()
        .is_empty());
}
