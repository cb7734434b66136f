//! Bad input, one test per class: the right status, an error body naming the field at
//! fault, and nothing written (the list is unchanged and the next create gets the next id).
//! Ends with property tests: arbitrary bodies never cause a 5xx or a panic.

use axum::http::{Method, StatusCode};
use proptest::prelude::*;
use serde_json::{json, Value};

use techhire_node::http::MAX_BODY_BYTES;

use crate::support::*;

const EMPLOYERS: &str = "/api/v1/employers";
const CANDIDATES: &str = "/api/v1/candidates";

/// Creates one valid record so that the list is not empty; returns the list's ids.
async fn baseline(api: &TestApi, list: &str, valid: Value) -> Vec<u64> {
    api.create(list, valid).await;
    api.ids(list).await
}

/// The refused request wrote nothing: the list is as before, and the next valid create
/// takes the id right after the last one (no id was used up either).
async fn assert_nothing_written(api: &TestApi, list: &str, before: &[u64], valid: Value) {
    assert_eq!(api.ids(list).await, before, "{list} changed");
    let last = *before.last().expect("baseline made a record");
    assert_eq!(
        api.create(list, valid).await,
        last + 1,
        "a refused request used up an id of {list}"
    );
}

/// Posts `body` to `list` as the operator and checks the error.
async fn refused(
    api: &TestApi,
    list: &str,
    body: Value,
    status: StatusCode,
    field: Option<&str>,
) -> Value {
    check_error(api.post(list, &api.operator, body).await, status, field)
}

/// `base` with the value at a JSON pointer replaced.
fn with(mut base: Value, pointer: &str, value: Value) -> Value {
    *base
        .pointer_mut(pointer)
        .unwrap_or_else(|| panic!("no {pointer} in the body")) = value;
    base
}

/// `base` without the key at a JSON pointer.
fn without(mut base: Value, pointer: &str) -> Value {
    let (parent, key) = pointer.rsplit_once('/').expect("a pointer");
    base.pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .and_then(|o| o.remove(key))
        .unwrap_or_else(|| panic!("no {pointer}"));
    base
}

#[tokio::test]
async fn malformed_json_is_400() {
    let api = TestApi::new().await;
    let before = baseline(&api, EMPLOYERS, employer_body("A")).await;
    let valid = serde_json::to_string(&employer_body("X")).expect("encode");
    let raws = [
        "{\"name\": \"x\",".to_string(),
        String::new(),
        "not json".to_string(),
        "{\"name\": \"x\" \"size_band\": \"1-9\"}".to_string(),
        // A complete, valid body followed by more: the whole body must be one JSON value.
        format!("{valid} trailing"),
        format!("{valid}{valid}"),
    ];
    let mut problems = Vec::new();
    for raw in raws {
        let resp = api
            .send_raw(
                Method::POST,
                EMPLOYERS,
                &api.operator,
                Some("application/json"),
                raw.clone().into_bytes(),
            )
            .await;
        if let Some(p) = error_problem(&resp, StatusCode::BAD_REQUEST, None) {
            problems.push(format!("{raw:?}: {p}"));
        }
    }
    assert_no_problems(&problems);
    assert_nothing_written(&api, EMPLOYERS, &before, employer_body("B")).await;
}

#[tokio::test]
async fn wrong_type_is_400_naming_the_field() {
    let api = TestApi::new().await;
    let before = baseline(&api, EMPLOYERS, employer_body("A")).await;
    let ok = employer_body("X");
    let cases = [
        (with(ok.clone(), "/size_band", json!(5)), "size_band"),
        (
            with(ok.clone(), "/contacts/0/email", json!(42)),
            "contacts[0].email",
        ),
        (with(ok.clone(), "/advocate", json!("yes")), "advocate"),
        (with(ok.clone(), "/contacts", json!({})), "contacts"),
    ];
    for (body, field) in cases {
        refused(&api, EMPLOYERS, body, StatusCode::BAD_REQUEST, Some(field)).await;
    }
    assert_nothing_written(&api, EMPLOYERS, &before, employer_body("B")).await;
}

#[tokio::test]
async fn missing_field_is_400_naming_it() {
    let api = TestApi::new().await;
    let before = baseline(&api, EMPLOYERS, employer_body("A")).await;
    let ok = employer_body("X");
    refused(
        &api,
        EMPLOYERS,
        without(ok.clone(), "/name"),
        StatusCode::BAD_REQUEST,
        Some("name"),
    )
    .await;
    refused(
        &api,
        EMPLOYERS,
        without(ok, "/contacts/0/email"),
        StatusCode::BAD_REQUEST,
        Some("contacts[0].email"),
    )
    .await;
    assert_nothing_written(&api, EMPLOYERS, &before, employer_body("B")).await;
}

#[tokio::test]
async fn unknown_field_is_400_naming_it() {
    let api = TestApi::new().await;
    let before = baseline(&api, EMPLOYERS, employer_body("A")).await;
    let mut top = employer_body("X");
    top["nmae"] = json!("typo");
    refused(&api, EMPLOYERS, top, StatusCode::BAD_REQUEST, Some("nmae")).await;
    let mut nested = employer_body("X");
    nested["contacts"][0]["fax"] = json!("+1 555 000 0000");
    refused(
        &api,
        EMPLOYERS,
        nested,
        StatusCode::BAD_REQUEST,
        Some("contacts[0].fax"),
    )
    .await;
    assert_nothing_written(&api, EMPLOYERS, &before, employer_body("B")).await;
}

#[tokio::test]
async fn unknown_enum_value_is_400() {
    let api = TestApi::new().await;
    let before = baseline(&api, EMPLOYERS, employer_body("A")).await;
    refused(
        &api,
        EMPLOYERS,
        with(employer_body("X"), "/size_band", json!("huge")),
        StatusCode::BAD_REQUEST,
        Some("size_band"),
    )
    .await;
    assert_nothing_written(&api, EMPLOYERS, &before, employer_body("B")).await;

    let providers = "/api/v1/providers";
    let before = baseline(&api, providers, provider_body("P")).await;
    refused(
        &api,
        providers,
        with(provider_body("Q"), "/kind", json!("castle")),
        StatusCode::BAD_REQUEST,
        Some("kind"),
    )
    .await;
    assert_nothing_written(&api, providers, &before, provider_body("R")).await;
}

#[tokio::test]
async fn over_long_string_is_422() {
    let api = TestApi::new().await;
    let before = baseline(&api, EMPLOYERS, employer_body("A")).await;
    refused(
        &api,
        EMPLOYERS,
        employer_body(&"n".repeat(201)),
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("name"),
    )
    .await;
    assert_nothing_written(&api, EMPLOYERS, &before, employer_body("B")).await;

    let openings = "/api/v1/openings";
    let ok = opening_body(api.employer_id, "Technician");
    let before = baseline(&api, openings, ok.clone()).await;
    let mut long = ok.clone();
    long["description"] = json!("d".repeat(4001));
    refused(
        &api,
        openings,
        long,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("description"),
    )
    .await;
    assert_nothing_written(&api, openings, &before, ok).await;
}

#[tokio::test]
async fn bidirectional_override_characters_in_names_are_422() {
    let api = TestApi::new().await;
    let before = baseline(&api, EMPLOYERS, employer_body("A")).await;
    // "Acme" followed by a right-to-left override: shown as another name than stored.
    let body = refused(
        &api,
        EMPLOYERS,
        employer_body("Acme \u{202E}cod.exe"),
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("name"),
    )
    .await;
    assert!(
        body["reason"].as_str().unwrap().contains("bidirectional"),
        "{body}"
    );
    refused(
        &api,
        EMPLOYERS,
        with(
            employer_body("B"),
            "/contacts/0/name",
            json!("Pat \u{2067}Hiring"),
        ),
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("contacts[0].name"),
    )
    .await;
    assert_nothing_written(&api, EMPLOYERS, &before, employer_body("C")).await;
    let before = baseline(&api, CANDIDATES, candidate_body("Ada", "ada@example.net")).await;
    refused(
        &api,
        CANDIDATES,
        candidate_body("Ada \u{202D}Lovelace", "ada2@example.net"),
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("personal.name"),
    )
    .await;
    assert_nothing_written(
        &api,
        CANDIDATES,
        &before,
        candidate_body("Ada", "ada3@example.net"),
    )
    .await;
}

#[tokio::test]
async fn invalid_email_is_422() {
    let api = TestApi::new().await;
    let before = baseline(&api, EMPLOYERS, employer_body("A")).await;
    for bad in [
        "not-an-email",
        "a@b",
        "a @b.org",
        "@example.org",
        "a@@b.org",
    ] {
        refused(
            &api,
            EMPLOYERS,
            with(employer_body("X"), "/contacts/0/email", json!(bad)),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("contacts[0].email"),
        )
        .await;
    }
    assert_nothing_written(&api, EMPLOYERS, &before, employer_body("B")).await;

    let before = baseline(&api, CANDIDATES, candidate_body("C", "c@example.org")).await;
    refused(
        &api,
        CANDIDATES,
        candidate_body("D", "d-at-example.org"),
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("personal.email"),
    )
    .await;
    assert_nothing_written(
        &api,
        CANDIDATES,
        &before,
        candidate_body("E", "e@example.org"),
    )
    .await;
}

#[tokio::test]
async fn negative_counts_and_wages_are_400() {
    let api = TestApi::new().await;
    let programs = "/api/v1/programs";
    let provider = api.new_provider().await;
    let before = baseline(&api, programs, program_body(provider, "P1")).await;
    refused(
        &api,
        programs,
        with(program_body(provider, "P2"), "/yearly_enrolment", json!(-5)),
        StatusCode::BAD_REQUEST,
        Some("yearly_enrolment"),
    )
    .await;
    assert_nothing_written(&api, programs, &before, program_body(provider, "P3")).await;

    let placements = "/api/v1/placements";
    let candidate = api.new_candidate().await;
    let ok = placement_body(candidate, api.employer_id);
    let before = baseline(&api, placements, ok.clone()).await;
    refused(
        &api,
        placements,
        with(ok.clone(), "/starting_wage_annual_usd", json!(-1)),
        StatusCode::BAD_REQUEST,
        Some("starting_wage_annual_usd"),
    )
    .await;
    assert_nothing_written(&api, placements, &before, ok).await;
}

#[tokio::test]
async fn end_before_start_is_422() {
    let api = TestApi::new().await;
    let outreach = "/api/v1/outreach";
    let before = baseline(&api, outreach, outreach_body("event")).await;
    refused(
        &api,
        outreach,
        with(outreach_body("radio"), "/period_end", json!("2023-12-31")),
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("period_end"),
    )
    .await;
    assert_nothing_written(&api, outreach, &before, outreach_body("library")).await;

    let before = baseline(&api, CANDIDATES, candidate_body("C", "c@example.org")).await;
    refused(
        &api,
        CANDIDATES,
        with(
            candidate_body("D", "d@example.org"),
            "/profile/work_history/0/end",
            json!("2018-01-01"),
        ),
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("profile.work_history[0].end"),
    )
    .await;
    assert_nothing_written(
        &api,
        CANDIDATES,
        &before,
        candidate_body("E", "e@example.org"),
    )
    .await;
}

#[tokio::test]
async fn reference_to_a_missing_record_is_422() {
    let api = TestApi::new().await;
    let openings = "/api/v1/openings";
    let before = baseline(&api, openings, opening_body(api.employer_id, "T1")).await;
    refused(
        &api,
        openings,
        opening_body(999, "T2"),
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("employer_id"),
    )
    .await;
    assert_nothing_written(&api, openings, &before, opening_body(api.employer_id, "T3")).await;

    let placements = "/api/v1/placements";
    let candidate = api.new_candidate().await;
    let before = baseline(&api, placements, placement_body(candidate, api.employer_id)).await;
    refused(
        &api,
        placements,
        placement_body(999, api.employer_id),
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("candidate_id"),
    )
    .await;
    let mut no_program = placement_body(candidate, api.employer_id);
    no_program["program_id"] = json!(999);
    refused(
        &api,
        placements,
        no_program,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("program_id"),
    )
    .await;
    assert_nothing_written(
        &api,
        placements,
        &before,
        placement_body(candidate, api.employer_id),
    )
    .await;

    let before = api.ids(CANDIDATES).await;
    refused(
        &api,
        CANDIDATES,
        {
            let mut body = candidate_body("D", "d@example.org");
            body["profile"]["program_id"] = json!(999);
            body
        },
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("profile.program_id"),
    )
    .await;
    assert_nothing_written(
        &api,
        CANDIDATES,
        &before,
        candidate_body("E", "e@example.org"),
    )
    .await;
}

#[tokio::test]
async fn body_over_the_limit_is_413() {
    let api = TestApi::new().await;
    let before = baseline(&api, EMPLOYERS, employer_body("A")).await;
    // Valid JSON in every way but its size.
    let huge = with(
        employer_body("X"),
        "/industry",
        json!("i".repeat(MAX_BODY_BYTES)),
    );
    let bytes = serde_json::to_vec(&huge).expect("encode");
    assert!(bytes.len() > MAX_BODY_BYTES);
    let resp = api
        .send_raw(
            Method::POST,
            EMPLOYERS,
            &api.operator,
            Some("application/json"),
            bytes,
        )
        .await;
    check_error(resp, StatusCode::PAYLOAD_TOO_LARGE, None);
    assert_nothing_written(&api, EMPLOYERS, &before, employer_body("B")).await;
}

#[tokio::test]
async fn wrong_content_type_is_415() {
    let api = TestApi::new().await;
    let before = baseline(&api, EMPLOYERS, employer_body("A")).await;
    let body = serde_json::to_vec(&employer_body("X")).expect("encode");
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let resp = api
            .send_raw(
                Method::POST,
                EMPLOYERS,
                &api.operator,
                content_type,
                body.clone(),
            )
            .await;
        check_error(resp, StatusCode::UNSUPPORTED_MEDIA_TYPE, None);
    }
    assert_nothing_written(&api, EMPLOYERS, &before, employer_body("B")).await;
}

#[tokio::test]
async fn bad_query_parameters_are_400_naming_them() {
    let api = TestApi::new().await;
    let cases = [
        ("/api/v1/employers?colour=red", "colour"),
        ("/api/v1/employers?limit=0", "limit"),
        ("/api/v1/employers?limit=501", "limit"),
        ("/api/v1/employers?limit=ten", "limit"),
        ("/api/v1/employers?after=x", "after"),
        ("/api/v1/employers?advocate=maybe", "advocate"),
        ("/api/v1/openings?status=hiring", "status"),
        ("/api/v1/openings?employer_id=-1", "employer_id"),
        ("/api/v1/candidates?stage=sleeping", "stage"),
        ("/api/v1/candidates?limit=0", "limit"),
        ("/api/v1/tokens?role=operator", "role"),
        ("/api/v1/accounts?username=admin", "username"),
    ];
    let mut problems = Vec::new();
    for (path, field) in cases {
        let resp = api.get(path, &api.operator).await;
        if let Some(p) = error_problem(&resp, StatusCode::BAD_REQUEST, Some(field)) {
            problems.push(format!("GET {path}: {p}"));
        }
    }
    assert_no_problems(&problems);
}

#[tokio::test]
async fn bad_path_id_is_a_json_400() {
    let api = TestApi::new().await;
    let mut problems = Vec::new();
    for path in [
        "/api/v1/employers/abc",
        "/api/v1/employers/-1",
        "/api/v1/employers/99999999999999999999999",
        "/api/v1/candidates/x/stage",
    ] {
        let method = if path.ends_with("/stage") {
            Method::POST
        } else {
            Method::GET
        };
        let body = (method == Method::POST).then(|| json!({"stage": "assessed"}));
        let resp = api.request(method.clone(), path, &api.operator, body).await;
        if let Some(p) = error_problem(&resp, StatusCode::BAD_REQUEST, Some("id")) {
            problems.push(format!("{method} {path}: {p}"));
        }
    }
    assert_no_problems(&problems);
}

#[tokio::test]
async fn unsupported_method_is_a_json_405() {
    let api = TestApi::new().await;
    let resp = api
        .request(Method::PATCH, EMPLOYERS, &api.operator, Some(json!({})))
        .await;
    check_error(resp, StatusCode::METHOD_NOT_ALLOWED, None);
}

// Property tests: nothing a client sends makes the node fail (5xx) or panic.

/// Arbitrary JSON values, with keys that are often real field names.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,24}".prop_map(Value::from),
        (0usize..6000).prop_map(|n| Value::from("x".repeat(n))),
        Just(json!("2024-02-30")),
        Just(json!("a@b.c")),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "name",
            "email",
            "size_band",
            "contacts",
            "commitment",
            "signed_on",
            "hiring_target",
            "personal",
            "profile",
            "id",
        ])
        .prop_map(String::from),
        "[a-z_]{1,10}",
    ]
}

/// Bytes that are sometimes JSON, sometimes nearly, sometimes noise.
fn json_ish_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        "[\\[\\]{}\":,0-9a-z.\\-\\\\ eE+]{0,120}".prop_map(String::into_bytes),
        json_value().prop_map(|v| serde_json::to_vec(&v).expect("encode")),
    ]
}

/// One change to a JSON document: which node (by index, wrapping), and what to do there.
#[derive(Debug, Clone)]
enum Mutation {
    Replace(usize, Value),
    Remove(usize),
    Insert(usize, String, Value),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), json_value()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        any::<usize>().prop_map(Mutation::Remove),
        (any::<usize>(), key(), json_value()).prop_map(|(i, k, v)| Mutation::Insert(i, k, v)),
    ]
}

/// JSON pointers of every node in `v`, the root first.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match v {
        Value::Object(o) => {
            for (k, c) in o {
                pointers(
                    c,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                pointers(c, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn apply(doc: &mut Value, m: &Mutation) {
    let mut all = Vec::new();
    pointers(doc, String::new(), &mut all);
    let pick = |i: usize| all[i % all.len()].clone();
    match m {
        Mutation::Replace(i, v) => {
            if let Some(node) = doc.pointer_mut(&pick(*i)) {
                *node = v.clone();
            }
        }
        Mutation::Remove(i) => {
            let p = pick(*i);
            if let Some((parent, last)) = p.rsplit_once('/') {
                let last = last.replace("~1", "/").replace("~0", "~");
                match doc.pointer_mut(parent) {
                    Some(Value::Object(o)) => {
                        o.remove(&last);
                    }
                    Some(Value::Array(a)) => {
                        if let Ok(i) = last.parse::<usize>() {
                            if i < a.len() {
                                a.remove(i);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        Mutation::Insert(i, k, v) => match doc.pointer_mut(&pick(*i)) {
            Some(Value::Object(o)) => {
                o.insert(k.clone(), v.clone());
            }
            Some(Value::Array(a)) => a.push(v.clone()),
            _ => {}
        },
    }
}

/// A 4xx must carry the error body; a 2xx is fine; anything else is a failure.
fn acceptable(status: StatusCode, body: &Value) -> Result<(), String> {
    if status.is_server_error() {
        return Err(format!("{status}: {body}"));
    }
    if status.is_client_error() {
        let ok = body.as_object().is_some_and(|o| {
            o.get("error").is_some_and(Value::is_string)
                && o.get("reason").is_some_and(Value::is_string)
                && o.contains_key("field")
        });
        if !ok {
            return Err(format!("{status} without an error body: {body}"));
        }
    }
    Ok(())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn arbitrary_bytes_never_cause_a_5xx() {
    let rt = runtime();
    let api = rt.block_on(TestApi::new());
    let id = rt.block_on(api.new_employer("Target"));
    let targets = [
        (Method::POST, EMPLOYERS.to_string()),
        (Method::PUT, format!("{EMPLOYERS}/{id}")),
        (Method::POST, CANDIDATES.to_string()),
        (Method::POST, "/api/v1/applications".to_string()),
        (Method::POST, "/api/v1/auth/login".to_string()),
        (Method::POST, "/api/v1/auth/first-sign-in".to_string()),
        (Method::PUT, "/api/v1/community".to_string()),
    ];
    proptest!(ProptestConfig::with_cases(64), |(bytes in json_ish_bytes())| {
        for (method, path) in &targets {
            let (status, body) = rt.block_on(api.send_raw(
                method.clone(),
                path,
                &api.operator,
                Some("application/json"),
                bytes.clone(),
            ));
            prop_assert!(acceptable(status, &body).is_ok(), "{} {}: {:?}", method, path, acceptable(status, &body));
        }
    });
}

#[test]
fn mutated_employer_bodies_never_cause_a_5xx() {
    let rt = runtime();
    let api = rt.block_on(TestApi::new());
    let id = rt.block_on(api.new_employer("Target"));
    let mut valid = employer_body("Mutant");
    valid["commitment"] =
        json!({"signed_on": "2024-01-15", "interview_non_traditional": true, "hiring_target": 5});
    proptest!(ProptestConfig::with_cases(64), |(mutations in prop::collection::vec(mutation(), 1..4))| {
        let mut doc = valid.clone();
        for m in &mutations {
            apply(&mut doc, m);
        }
        for (method, path) in [(Method::POST, EMPLOYERS.to_string()), (Method::PUT, format!("{EMPLOYERS}/{id}"))] {
            let (status, body) = rt.block_on(api.request(method.clone(), &path, &api.operator, Some(doc.clone())));
            prop_assert!(acceptable(status, &body).is_ok(), "{} {} with {}: {:?}", method, path, doc, acceptable(status, &body));
            if status.is_success() {
                // Whatever was accepted can be read back.
                let rid = body["id"].as_u64().unwrap();
                let (read, _) = rt.block_on(api.get(&format!("{EMPLOYERS}/{rid}"), &api.operator));
                prop_assert_eq!(read, StatusCode::OK);
            }
        }
    });
}
