//! `GET /api/v1/skills`: autocomplete over the skills taxonomy, for every role, with its
//! query checked parameter by parameter.

use axum::http::StatusCode;
use serde_json::Value;

use crate::support::*;

const SKILLS: &str = "/api/v1/skills";

/// The ids of the suggestions, in order; checks every item's shape on the way.
fn ids(body: &Value) -> Vec<&str> {
    let items = body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items in {body}"));
    items
        .iter()
        .map(|item| {
            let obj = item.as_object().expect("an item is an object");
            let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
            keys.sort_unstable();
            assert_eq!(
                keys,
                ["category", "id", "label", "matched", "soc_codes", "soft"],
                "{item}"
            );
            assert!(item["soft"].is_boolean(), "{item}");
            let soc = item["soc_codes"].as_array().expect("soc_codes");
            assert!(!soc.is_empty(), "{item}");
            assert!(soc
                .iter()
                .all(|c| c.as_str().is_some_and(|c| c.starts_with("15-"))));
            item["id"].as_str().expect("id")
        })
        .collect()
}

#[tokio::test]
async fn jav_suggests_java_then_javascript() {
    let api = TestApi::new().await;
    let body = check(
        api.get(&format!("{SKILLS}?q=jav"), &api.operator).await,
        StatusCode::OK,
    );
    let found = ids(&body);
    assert_eq!(&found[..2], ["java", "javascript"], "{body}");
    assert!(found.len() <= 10, "the default limit is 10: {body}");
    let java = &body["items"][0];
    assert_eq!(java["label"], "Java");
    assert_eq!(java["category"], "languages");
    assert_eq!(java["soft"], false);
    assert_eq!(java["matched"], "Java");
    assert!(java["soc_codes"]
        .as_array()
        .is_some_and(|c| c.iter().any(|c| c == "15-1252")));
}

#[tokio::test]
async fn aliases_find_their_skill_for_every_role() {
    let api = TestApi::new().await;
    for token in [&api.operator, &api.reviewer, &api.employer] {
        let body = check(
            api.get(&format!("{SKILLS}?q=k8s"), token).await,
            StatusCode::OK,
        );
        assert_eq!(ids(&body).first(), Some(&"kubernetes"), "{body}");
        assert_eq!(body["items"][0]["matched"], "k8s");
        assert_eq!(body["items"][0]["category"], "cloud");

        let body = check(
            api.get(&format!("{SKILLS}?q=reactjs&limit=3"), token).await,
            StatusCode::OK,
        );
        assert_eq!(ids(&body).first(), Some(&"react"), "{body}");
        assert_eq!(body["items"][0]["matched"], "ReactJS");
        assert_eq!(body["items"][0]["label"], "React");
    }
}

#[tokio::test]
async fn punctuation_typos_and_soft_skills() {
    let api = TestApi::new().await;
    let first = |q: &'static str| {
        let api = &api;
        async move {
            let body = check(
                api.get(&format!("{SKILLS}?q={q}&limit=5"), &api.reviewer)
                    .await,
                StatusCode::OK,
            );
            body["items"][0].clone()
        }
    };
    assert_eq!(first("c%23").await["id"], "csharp");
    assert_eq!(first("C%2B%2B").await["id"], "cpp");
    assert_eq!(first(".net").await["id"], "dotnet");
    assert_eq!(first("Node.JS").await["id"], "node-js");
    assert_eq!(first("kubrenetes").await["id"], "kubernetes");
    let soft = first("teamwork").await;
    assert_eq!(soft["id"], "teamwork");
    assert_eq!(soft["soft"], true);
    assert_eq!(soft["category"], "soft");
    // Nothing near: an empty list, not an error.
    let none = check(
        api.get(&format!("{SKILLS}?q=zzqqxxww"), &api.operator)
            .await,
        StatusCode::OK,
    );
    assert_eq!(ids(&none), Vec::<&str>::new());
}

#[tokio::test]
async fn limit_bounds_the_answer() {
    let api = TestApi::new().await;
    for (limit, most) in [(1, 1), (3, 3), (50, 50)] {
        let body = check(
            api.get(&format!("{SKILLS}?q=a&limit={limit}"), &api.operator)
                .await,
            StatusCode::OK,
        );
        assert_eq!(ids(&body).len(), most, "limit={limit}: {body}");
    }
}

#[tokio::test]
async fn bad_queries_name_the_parameter() {
    let api = TestApi::new().await;
    let long = "a".repeat(101);
    let cases = [
        (String::new(), "q"),
        ("?limit=5".to_string(), "q"),
        ("?q=".to_string(), "q"),
        ("?q=%20%20".to_string(), "q"),
        (format!("?q={long}"), "q"),
        ("?q=jav&limit=0".to_string(), "limit"),
        ("?q=jav&limit=51".to_string(), "limit"),
        ("?q=jav&limit=-3".to_string(), "limit"),
        ("?q=jav&limit=ten".to_string(), "limit"),
        ("?q=jav&after=7".to_string(), "after"),
        ("?q=jav&category=web".to_string(), "category"),
    ];
    let mut problems = Vec::new();
    for (query, field) in cases {
        let resp = api.get(&format!("{SKILLS}{query}"), &api.operator).await;
        if let Some(p) = error_problem(&resp, StatusCode::BAD_REQUEST, Some(field)) {
            problems.push(format!("{SKILLS}{query}: {p}"));
        } else if resp.1["error"] != "invalid_query" {
            problems.push(format!("{SKILLS}{query}: {}", resp.1));
        }
    }
    assert_no_problems(&problems);
}

#[tokio::test]
async fn a_token_is_required() {
    let api = TestApi::new().await;
    check_error(
        api.get(&format!("{SKILLS}?q=jav"), NO_TOKEN).await,
        StatusCode::UNAUTHORIZED,
        None,
    );
}
