//! Federated search: the shared profiles of other member nodes that this node holds are
//! searched and matched with its own candidates, ranked by the same score, marked with their
//! home community, audited, and gone once their tombstone arrives or their consent ends.
//!
//! The remote records are signed by another node's key and stored in its feed as sync
//! stores them; the index hears of them through the same listener the federation calls.

use axum::http::StatusCode;
use serde_json::{json, Value};

use techhire_protocol::{
    NodeKeypair, ProfileId, Scope, SharedProfile, SharedSkill, SharedWork, SignedRecord, Tombstone,
    TombstoneReason,
};

use crate::support::*;

const DAY_MS: u64 = 86_400_000;

fn now_ms() -> u64 {
    techhire_node::federation::now_ms()
}

fn shared(id: u8, python: (u8, u8), expires_at_ms: u64) -> SharedProfile {
    SharedProfile {
        id: ProfileId([id; 16]),
        version: 1,
        home_community: "Akron, OH".into(),
        home_region: "OH".into(),
        scope: Scope::Federation,
        expires_at_ms,
        skills: vec![SharedSkill {
            skill_id: "python".into(),
            level: python.0,
            evidence: python.1,
        }],
        assessments: vec![],
        training: None,
        certificates: vec![],
        work: vec![SharedWork {
            title: "Data analyst".into(),
            months: 18,
        }],
        projects: vec![],
        desired_roles: vec!["Data engineer".into()],
        desired_occupations: vec![],
        remote: 3,
        relocate: false,
    }
}

fn sign(akron: &NodeKeypair, seq: u64, p: &SharedProfile) -> SignedRecord {
    p.try_sign(akron, seq, now_ms()).unwrap()
}

async fn local_python(api: &TestApi) -> u64 {
    api.create(
        "/api/v1/candidates",
        json!({
            "personal": {"name": "Local Lee", "email": "lee@example.org"},
            "profile": {
                "skills": [{"skill": "Python", "level": "advanced", "evidence": "certificate"}],
                "remote_preference": "any"
            }
        }),
    )
    .await
}

fn items(page: &Value) -> &Vec<Value> {
    page["items"].as_array().expect("items")
}

/// `profile` of each item, or `"local"`.
fn origins(page: &Value) -> Vec<String> {
    items(page)
        .iter()
        .map(|i| i["profile"].as_str().unwrap_or("local").to_string())
        .collect()
}

#[tokio::test]
async fn remote_profiles_are_searched_ranked_marked_audited_and_withdrawn() {
    let api = TestApi::joined().await;
    let local = local_python(&api).await;
    let akron = NodeKeypair::generate();
    let strong = ProfileId([1; 16]).to_string();
    let weak = ProfileId([2; 16]).to_string();
    let far = now_ms() + 180 * DAY_MS;
    api.store_feed_records(vec![
        // Expert by assessment: above the local candidate (advanced, certificate).
        sign(&akron, 1, &shared(1, (4, 4), far)),
        // Beginner, self-reported: below.
        sign(&akron, 2, &shared(2, (1, 0), far)),
        // Consent ended already: never shown.
        sign(&akron, 3, &shared(3, (4, 4), now_ms() - 1)),
    ])
    .await;
    // The node's own shared profiles are its local candidates, never remote results.
    let own = shared(4, (4, 4), far)
        .try_sign(&api.keypair, 1, now_ms())
        .unwrap();
    api.store_feed_records(vec![own]).await;

    let page = check(
        api.get("/api/v1/search/candidates?skills=python", &api.employer)
            .await,
        StatusCode::OK,
    );
    assert_eq!(page["total"], 3);
    assert_eq!(
        origins(&page),
        vec![strong.clone(), "local".into(), weak.clone()]
    );
    let scores: Vec<u64> = items(&page)
        .iter()
        .map(|i| i["score"].as_u64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] > w[1]), "{scores:?}");

    let remote = &items(&page)[0];
    assert_eq!(remote["id"], strong.as_str());
    assert_eq!(remote["home_community"], "Akron, OH");
    assert_eq!(remote["home_region"], "OH");
    assert_eq!(remote["home_node"], akron.public().to_string().as_str());
    assert_eq!(remote["skills"][0]["skill"], "Python");
    assert_eq!(remote["skills"][0]["skill_id"], "python");
    assert_eq!(remote["skills"][0]["level"], "expert");
    assert_eq!(remote["skills"][0]["evidence"], "assessment");
    assert_eq!(remote["work_history"][0]["title"], "Data analyst");
    assert_eq!(remote["work_history"][0]["months"], 18);
    assert_eq!(remote["desired_roles"][0], "Data engineer");
    assert_eq!(remote["vetting"], Value::Null);
    assert_eq!(
        remote["explanation"]["required"][0]["fit"], "matched",
        "{remote}"
    );
    let mine = &items(&page)[1];
    assert_eq!(mine["home_community"], COMMUNITY);
    assert!(mine["id"].as_str().unwrap().starts_with("c-"));
    assert!(mine.get("profile").is_none() && mine.get("home_node").is_none());

    // Operators see the same ranking; a remote profile has no local id to show them.
    let as_operator = check(
        api.get("/api/v1/search/candidates?skills=python", &api.operator)
            .await,
        StatusCode::OK,
    );
    assert_eq!(origins(&as_operator), origins(&page));
    assert!(items(&as_operator)[0].get("candidate_id").is_none());
    assert_eq!(items(&as_operator)[1]["candidate_id"], local);

    // The audit names the remote profiles shown to the employer, beside the local ids.
    let audit = check(
        api.get(
            &format!("/api/v1/search/audit?profile={strong}"),
            &api.operator,
        )
        .await,
        StatusCode::OK,
    );
    let entries = audit["items"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{audit}");
    assert_eq!(entries[0]["candidates"], json!([local]));
    assert_eq!(entries[0]["profiles"], json!([strong, weak]));

    // An opening's matches rank them the same way.
    let opening = api
        .create(
            "/api/v1/openings",
            json!({
                "employer_id": api.employer_id,
                "title": "Data engineer",
                "soc_code": "15-1243",
                "required_skills": [{"skill": "Python", "min_level": "advanced"}],
                "remote": "remote"
            }),
        )
        .await;
    let matches = check(
        api.get(
            &format!("/api/v1/openings/{opening}/matches"),
            &api.employer,
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(
        origins(&matches),
        vec![strong.clone(), "local".into(), weak.clone()]
    );

    // The home node withdraws the strong profile: gone from every result.
    let tombstone = Tombstone {
        id: ProfileId([1; 16]),
        reason: TombstoneReason::Withdrawn,
    }
    .try_sign(&akron, 4, now_ms())
    .unwrap();
    api.store_feed_records(vec![tombstone]).await;
    let page = check(
        api.get("/api/v1/search/candidates?skills=python", &api.employer)
            .await,
        StatusCode::OK,
    );
    assert_eq!(page["total"], 2);
    assert_eq!(origins(&page), vec!["local".to_string(), weak.clone()]);
    let matches = check(
        api.get(
            &format!("/api/v1/openings/{opening}/matches"),
            &api.employer,
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(origins(&matches), vec!["local".to_string(), weak]);
}

#[tokio::test]
async fn a_new_version_replaces_the_old_one_in_results() {
    let api = TestApi::new().await;
    let akron = NodeKeypair::generate();
    let far = now_ms() + 180 * DAY_MS;
    api.store_feed_records(vec![sign(&akron, 1, &shared(1, (4, 4), far))])
        .await;
    let before = check(
        api.get(
            "/api/v1/search/candidates?skills=python:expert",
            &api.employer,
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(before["total"], 1);
    // Version 2 drops to intermediate: no longer an expert.
    let v2 = SharedProfile {
        version: 2,
        ..shared(1, (2, 4), far)
    };
    api.store_feed_records(vec![sign(&akron, 2, &v2)]).await;
    let after = check(
        api.get(
            "/api/v1/search/candidates?skills=python:expert",
            &api.employer,
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(after["total"], 0);
    let any = check(
        api.get("/api/v1/search/candidates?skills=python", &api.employer)
            .await,
        StatusCode::OK,
    );
    assert_eq!(any["total"], 1);
    assert_eq!(items(&any)[0]["skills"][0]["level"], "intermediate");
}
