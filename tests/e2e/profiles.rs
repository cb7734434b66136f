//! Issue 6 end to end, on three real nodes: Akron and Cleveland in region OH, Birmingham
//! in AL. Akron's operator records consent; the shared profiles appear in the searches of
//! the nodes in scope only; Birmingham's employer asks for an introduction that Akron
//! accepts (the contact details reach that employer alone), Cleveland's one that Akron
//! declines; withdrawal removes a profile everywhere, also from a node that was down at the
//! time, and a request for it is then refused.

use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::federation::{init_node, issue_in, join, start_member, steward_init};
use crate::support::{temp_dir, Api, Node};

/// A node of the test: its folder, operator token and running process.
struct Community {
    node: Node,
    operator: Api,
    addr: String,
}

impl Community {
    async fn employer_token(&self, name: &str) -> (u64, Api) {
        let (status, employer) = self
            .operator
            .post(
                "/api/v1/employers",
                &json!({"name": name, "size_band": "10-49"}),
            )
            .await;
        assert_eq!(status, 201, "{employer}");
        let id = employer["id"].as_u64().unwrap();
        let (status, token) = self
            .operator
            .post(
                "/api/v1/tokens",
                &json!({"role": "employer", "employer_id": id, "label": name}),
            )
            .await;
        assert_eq!(status, 201, "{token}");
        let api = Api {
            token: token["token"].as_str().unwrap().to_string(),
            ..self.operator.clone()
        };
        (id, api)
    }
}

fn start(dir: &Path, token: &str) -> Community {
    let (node, addrs) = start_member(dir);
    let operator = node.api(token);
    Community {
        node,
        operator,
        addr: addrs[0].clone(),
    }
}

/// Polls `check` (an async search) until it holds, for at most `limit`.
async fn eventually<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The profile ids of remote results of a search for `skills` at a node.
async fn remote_profiles(api: &Api, skills: &str) -> Vec<String> {
    let (status, page) = api
        .get(&format!(
            "/api/v1/search/candidates?skills={skills}&limit=100"
        ))
        .await;
    assert_eq!(status, 200, "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|hit| hit["profile"].as_str().map(str::to_string))
        .collect()
}

fn applicant(name: &str, email: &str) -> Value {
    json!({
        "personal": {"name": name, "email": email, "phone": "+1 330 555 0199", "city": "Kenmore"},
        "profile": {
            "skills": [
                {"skill": "Kubernetes", "level": "advanced", "evidence": "project"},
                {"skill": "Linux", "level": "intermediate", "evidence": "work_experience"}
            ],
            "work_history": [{"title": "Warehouse lead", "start": "2019-03-01", "end": "2023-06-30"}],
            "desired_roles": ["Cloud support"]
        }
    })
}

#[tokio::test]
async fn shared_profiles_and_introductions_across_three_communities() {
    let tmp = temp_dir();
    let steward_file = tmp.path().join("steward.key");
    let steward = steward_init(&steward_file);
    let mut tokens = Vec::new();
    for (name, community, region) in [
        ("akron", "Akron, OH", "OH"),
        ("cleveland", "Cleveland, OH", "OH"),
        ("birmingham", "Birmingham, AL", "AL"),
    ] {
        let dir = tmp.path().join(name);
        let (token, key) = init_node(&dir, community);
        let cert = tmp.path().join(format!("{name}.cert"));
        issue_in(&steward_file, &key, community, region, &cert).assert_success();
        tokens.push((dir, cert, token));
    }
    let akron_dir = tokens[0].0.clone();
    join(&akron_dir, &tokens[0].1, &[&steward], &[]).assert_success();
    let akron = start(&akron_dir, &tokens[0].2);
    for (dir, cert, _) in &tokens[1..] {
        join(dir, cert, &[&steward], &[&akron.addr]).assert_success();
    }
    let cleveland = start(&tokens[1].0, &tokens[1].2);
    let birmingham = start(&tokens[2].0, &tokens[2].2);
    // Cleveland and Birmingham know only Akron: gossip reaches them through it, and their
    // introduction requests go to it, the home node, directly.

    // Akron: two applicants who consent, one to the whole federation, one to Ohio only.
    let mut ids = Vec::new();
    for (name, email) in [
        ("Grace Everywhere", "grace@akron.example"),
        ("Otto Ohio", "otto@akron.example"),
    ] {
        let (status, made) = akron
            .operator
            .post("/api/v1/candidates", &applicant(name, email))
            .await;
        assert_eq!(status, 201, "{made}");
        ids.push(made["id"].as_u64().unwrap());
    }
    let consent = |scope: Value| json!({"policy_version": "2026-01", "scope": scope});
    let (status, body) = akron
        .operator
        .send(
            Method::PUT,
            &format!("/api/v1/candidates/{}/consent", ids[0]),
            Some(&consent(json!({"kind": "federation"}))),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = akron
        .operator
        .send(
            Method::PUT,
            &format!("/api/v1/candidates/{}/consent", ids[1]),
            Some(&consent(json!({"kind": "regions", "regions": ["OH"]}))),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let (cle_employer_id, cle_employer) = cleveland.employer_token("Lakefront Cloud").await;
    let (bhm_employer_id, bhm_employer) = birmingham.employer_token("Magic City IT").await;
    let (_, bhm_other) = birmingham.employer_token("Vulcan Systems").await;
    let limit = Duration::from_secs(60);
    eventually(limit, "Cleveland finds both Akron profiles", || async {
        remote_profiles(&cle_employer, "kubernetes").await.len() == 2
    })
    .await;
    eventually(
        limit,
        "Birmingham finds the federation-wide one",
        || async { remote_profiles(&bhm_employer, "kubernetes").await.len() == 1 },
    )
    .await;
    let (_, page) = bhm_employer
        .get("/api/v1/search/candidates?skills=kubernetes")
        .await;
    let hit = &page["items"][0];
    assert_eq!(hit["home_community"], "Akron, OH", "{hit}");
    let text = page.to_string();
    for personal in ["Grace", "grace@akron.example", "330 555", "Kenmore"] {
        assert!(!text.contains(personal), "{personal} leaked: {text}");
    }
    let grace = hit["profile"].as_str().unwrap().to_string();
    // The Ohio-only profile never reaches Alabama, however long it waits.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        remote_profiles(&bhm_employer, "kubernetes").await,
        std::slice::from_ref(&grace)
    );
    let otto = remote_profiles(&cle_employer, "kubernetes")
        .await
        .into_iter()
        .find(|p| *p != grace)
        .unwrap();

    // Birmingham asks for Grace; Cleveland for Otto.
    let opening = |employer_id: u64| {
        json!({
            "employer_id": employer_id,
            "title": "Cloud support technician",
            "soc_code": "15-1232",
            "required_skills": [{"skill": "Kubernetes", "min_level": "intermediate"}],
            "remote": "remote"
        })
    };
    let (status, bhm_opening) = birmingham
        .operator
        .post("/api/v1/openings", &opening(bhm_employer_id))
        .await;
    assert_eq!(status, 201, "{bhm_opening}");
    let (status, asked) = bhm_employer
        .post(
            "/api/v1/introductions",
            &json!({"profile": grace, "message": "We would love to talk.", "opening_id": bhm_opening["id"]}),
        )
        .await;
    assert_eq!(status, 201, "{asked}");
    let bhm_intro = asked["id"].as_u64().unwrap();
    let (status, cle_opening) = cleveland
        .operator
        .post("/api/v1/openings", &opening(cle_employer_id))
        .await;
    assert_eq!(status, 201, "{cle_opening}");
    let (status, asked) = cle_employer
        .post(
            "/api/v1/introductions",
            &json!({"profile": otto, "message": "Join our team.", "opening_id": cle_opening["id"]}),
        )
        .await;
    assert_eq!(status, 201, "{asked}");
    let cle_intro = asked["id"].as_u64().unwrap();

    // Akron's queue holds both, for its own candidates; the operator answers.
    eventually(limit, "Akron's queue holds both requests", || async {
        let (_, page) = akron
            .operator
            .get("/api/v1/introductions?status=requested")
            .await;
        page["items"].as_array().is_some_and(|q| q.len() == 2)
    })
    .await;
    let (_, page) = akron
        .operator
        .get("/api/v1/introductions?status=requested")
        .await;
    let queue = page["items"].as_array().cloned().unwrap_or_default();
    for intro in &queue {
        let outcome = if intro["candidate_id"] == ids[0] {
            "accepted"
        } else {
            assert_eq!(intro["candidate_id"], ids[1], "{intro}");
            "declined"
        };
        let (status, body) = akron
            .operator
            .post(
                &format!("/api/v1/introductions/{}/outcome", intro["id"]),
                &json!({"outcome": outcome}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }

    let path = format!("/api/v1/introductions/{bhm_intro}");
    eventually(
        limit,
        "Birmingham's employer sees Grace's email",
        || async {
            let (_, intro) = bhm_employer.get(&path).await;
            intro.to_string().contains("grace@akron.example")
        },
    )
    .await;
    let (status, body) = bhm_other.get(&path).await;
    assert!(
        status == 404 || status == 403,
        "another employer reads it: {status} {body}"
    );
    assert!(!body.to_string().contains("grace@akron.example"));
    let path = format!("/api/v1/introductions/{cle_intro}");
    eventually(limit, "Cleveland's employer sees the decline", || async {
        let (_, intro) = cle_employer.get(&path).await;
        intro["status"] == "declined"
    })
    .await;
    let (_, intro) = cle_employer.get(&path).await;
    let text = intro.to_string();
    assert!(
        !text.contains("otto@akron.example") && !text.contains("Otto"),
        "{text}"
    );

    // Cleveland is down while Otto withdraws; Grace withdraws with everyone up.
    let cleveland_token = tokens[1].2.clone();
    cleveland.node.terminate();
    for id in &ids {
        let (status, body) = akron
            .operator
            .send(
                Method::DELETE,
                &format!("/api/v1/candidates/{id}/consent"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let started = Instant::now();
    eventually(limit, "Grace is gone from Birmingham", || async {
        remote_profiles(&bhm_employer, "kubernetes")
            .await
            .is_empty()
    })
    .await;
    println!("withdrawal reached Birmingham in {:?}", started.elapsed());
    let (status, refused) = bhm_employer
        .post(
            "/api/v1/introductions",
            &json!({"profile": grace, "message": "Another try."}),
        )
        .await;
    assert_eq!(status, 409, "{refused}");
    assert!(
        refused.to_string().contains("withdrawn"),
        "the refusal says why: {refused}"
    );

    let cleveland = start(&tokens[1].0, &cleveland_token);
    let cle_employer = Api {
        token: cle_employer.token.clone(),
        ..cleveland.operator.clone()
    };
    eventually(
        limit,
        "both are gone from Cleveland after its return",
        || async {
            remote_profiles(&cle_employer, "kubernetes")
                .await
                .is_empty()
        },
    )
    .await;

    for c in [akron, cleveland, birmingham] {
        c.node.terminate();
    }
}
