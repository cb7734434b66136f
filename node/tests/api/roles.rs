//! Walks the real route table: every non-public route refuses missing, unknown, revoked and
//! expired tokens (401) and every role outside its `Access` list (403), and lets its roles
//! through; every route is in the OpenAPI document.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use techhire_node::auth::{self, Account, Role, Token};
use techhire_node::http::{routes, Access, Route};

use crate::support::*;

/// A node holding one record of every kind, so that `{id}` routes have something to find.
struct World {
    api: TestApi,
    /// A revoked operator token and an expired one.
    revoked: String,
    expired: String,
    employer_id: u64,
    provider_id: u64,
    program_id: u64,
    candidate_id: u64,
    opening_id: u64,
    assessment_id: u64,
    vetting_id: u64,
    placement_id: u64,
    outreach_id: u64,
    /// Requested by the employer token's employer, so that it can reach it.
    introduction_id: u64,
    token_id: u64,
    account_id: u64,
}

impl World {
    async fn new() -> World {
        World::build(TestApi::new().await).await
    }

    /// A world whose node has joined a federation, so that the federation routes answer
    /// (a node that has not joined answers them with 409: tested in federation.rs).
    async fn joined() -> World {
        World::build(TestApi::joined().await).await
    }

    /// The world a route is walked in: a joined node for the federation routes.
    async fn for_route(route: &Route) -> World {
        if route.path.starts_with("/api/v1/federation/") {
            World::joined().await
        } else {
            World::new().await
        }
    }

    async fn build(api: TestApi) -> World {
        let (revoked_id, revoked) = api.mint(Role::Operator, None).await;
        assert!(auth::revoke_token(&api.store, revoked_id)
            .await
            .expect("revoke"));
        let expired = Token {
            role: Role::Operator,
            employer_id: None,
            label: "expired".into(),
            account_id: None,
            expires_at: Some(chrono::Utc::now() - chrono::Duration::minutes(1)),
            revoked_at: None,
        };
        let (_, expired) = auth::create_token(&api.store, expired)
            .await
            .expect("mint expired token");
        let employer_id = api.new_employer("Walk Employer").await;
        let provider_id = api.new_provider().await;
        let program_id = api
            .create("/api/v1/programs", program_body(provider_id, "Walk"))
            .await;
        let candidate_id = api.new_candidate().await;
        // The employer token's own opening, so that the employer role can reach it.
        let opening_id = api.new_opening(api.employer_id).await;
        // Before the placement below: a placed candidate cannot be introduced.
        let introduction_id = api
            .create(
                "/api/v1/introductions",
                json!({
                    "candidate_id": candidate_id,
                    "employer_id": api.employer_id,
                    "opening_id": opening_id,
                    "message": "Walk"
                }),
            )
            .await;
        let assessment_id = api
            .create(
                "/api/v1/assessments",
                assessment_body(candidate_id, "Python"),
            )
            .await;
        let vetting_id = api
            .create("/api/v1/vetting", vetting_body(candidate_id, "recommend"))
            .await;
        let placement_id = api
            .create(
                "/api/v1/placements",
                placement_body(candidate_id, employer_id),
            )
            .await;
        let outreach_id = api.create("/api/v1/outreach", outreach_body("event")).await;
        let (token_id, _) = api.mint(Role::Reviewer, None).await;
        let account = Account {
            username: "walker".into(),
            role: Role::Reviewer,
            employer_id: None,
            password_hash: None,
        };
        let account_id = api
            .store
            .commit(|tx| auth::stage_account(tx, account, chrono::Utc::now()))
            .await
            .expect("create account");
        World {
            api,
            revoked,
            expired,
            employer_id,
            provider_id,
            program_id,
            candidate_id,
            opening_id,
            assessment_id,
            vetting_id,
            placement_id,
            outreach_id,
            introduction_id,
            token_id,
            account_id,
        }
    }

    /// The route's path with `{id}` replaced by an existing record of its collection.
    fn concrete(&self, route: &Route) -> String {
        if !route.path.contains('{') {
            return route.path.clone();
        }
        let collection = route.path.split('/').nth(3).unwrap_or_default();
        let id = match collection {
            "employers" => self.employer_id,
            "providers" => self.provider_id,
            "programs" => self.program_id,
            "candidates" => self.candidate_id,
            "openings" => self.opening_id,
            "assessments" => self.assessment_id,
            "vetting" => self.vetting_id,
            "placements" => self.placement_id,
            "outreach" => self.outreach_id,
            "introductions" => self.introduction_id,
            "tokens" => self.token_id,
            "accounts" => self.account_id,
            other => panic!(
                "{} {}: the role walk has no record of {other:?}; add one to World in roles.rs",
                route.method, route.path
            ),
        };
        let path = route.path.replace("{id}", &id.to_string());
        assert!(
            !path.contains('{'),
            "{} {}: a path parameter other than {{id}}; teach roles.rs to fill it",
            route.method,
            route.path
        );
        path
    }

    fn token(&self, role: Role) -> &str {
        match role {
            Role::Operator => &self.api.operator,
            Role::Reviewer => &self.api.reviewer,
            Role::Employer => &self.api.employer,
            Role::National => &self.api.national,
        }
    }

    /// Calls the route as `token`, with `{}` as the body of a POST or PUT.
    async fn call(&self, route: &Route, path: &str, token: &str) -> (StatusCode, Value) {
        let body = (route.method == Method::POST || route.method == Method::PUT).then(|| json!({}));
        self.api
            .request(route.method.clone(), path, token, body)
            .await
    }
}

#[tokio::test]
async fn every_route_enforces_its_roles() {
    let mut failures = Vec::new();
    let all = routes();
    assert!(all.len() > 40, "the route table looks truncated");
    for route in &all {
        // A fresh world per route: the allowed roles' calls may delete the record.
        let w = World::for_route(route).await;
        let path = w.concrete(route);
        let what = format!("{} {}", route.method, path);
        let roles = match route.access {
            Access::Public => {
                let (status, body) = w.call(route, &path, NO_TOKEN).await;
                if matches!(status.as_u16(), 401 | 403) || status.is_server_error() {
                    failures.push(format!("{what} is public but gave {status}: {body}"));
                }
                continue;
            }
            Access::Roles(roles) => roles,
        };
        let refused = [
            ("no token", None),
            ("a garbage token", Some("Bearer garbage".to_string())),
            (
                "an unknown token",
                Some(format!("Bearer th_{}", "0".repeat(64))),
            ),
            ("a revoked token", Some(format!("Bearer {}", w.revoked))),
            ("an expired token", Some(format!("Bearer {}", w.expired))),
            (
                "an operator token without Bearer",
                Some(format!("Token {}", w.api.operator)),
            ),
        ];
        for (how, authorization) in refused {
            let (status, body) = match authorization {
                None => w.call(route, &path, NO_TOKEN).await,
                Some(a) => {
                    w.api
                        .send_authorization(route.method.clone(), &path, &a)
                        .await
                }
            };
            if status != StatusCode::UNAUTHORIZED || !is_error_shape(&body) {
                failures.push(format!(
                    "{what} with {how}: expected 401 with an error body, got {status}: {body}"
                ));
            }
        }
        for role in Role::ALL.iter().filter(|r| !roles.contains(r)) {
            let (status, body) = w.call(route, &path, w.token(*role)).await;
            if status != StatusCode::FORBIDDEN || !is_error_shape(&body) {
                failures.push(format!(
                    "{what} as {role:?}: expected 403 with an error body, got {status}: {body}"
                ));
            }
        }
        for role in roles {
            let (status, body) = w.call(route, &path, w.token(*role)).await;
            // A 409 from a federation route would mean the walk never got past "not joined".
            let not_joined =
                status == StatusCode::CONFLICT && route.path.starts_with("/api/v1/federation/");
            if matches!(status.as_u16(), 401 | 403) || status.is_server_error() || not_joined {
                failures.push(format!(
                    "{what} as {role:?} (allowed): got {status}: {body}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} role-check failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Who DESIGN.md says may call a route (`None`: anyone). Rules go by collection, so a new
/// route under an existing collection is covered; a new collection needs a decision here.
fn designed_access(method: &Method, path: &str) -> Option<Vec<Role>> {
    use Role::{Employer, National, Operator, Reviewer};
    let public = [
        "GET /healthz",
        "GET /readyz",
        "GET /metrics",
        "GET /api/v1/openapi.json",
        "POST /api/v1/auth/login",
        "POST /api/v1/auth/first-sign-in",
        "POST /api/v1/applications",
    ];
    if public.contains(&format!("{method} {path}").as_str()) {
        return None;
    }
    let collection = path.split('/').nth(3).unwrap_or_default();
    Some(match collection {
        // The free text no skill matched is the operator's to tidy.
        "skills" if path.ends_with("/unmatched") => vec![Operator],
        "whoami" => vec![Operator, Reviewer, Employer, National],
        "skills" => vec![Operator, Reviewer, Employer],
        // Ranking openings for a candidate is placement work, not vetting.
        "candidates" if path.ends_with("/openings") => vec![Operator],
        // Everything the node holds on a person, personal data included.
        "candidates" if path.ends_with("/export") => vec![Operator],
        // Reviewers vet skills profiles; contact data and changes stay with operators.
        "candidates" if *method == Method::GET => vec![Operator, Reviewer],
        // Employers search blind; only the operator reads what each employer was shown.
        "search" if path.ends_with("/audit") => vec![Operator],
        "search" => vec![Operator, Employer],
        "assessments" | "vetting" => vec![Operator, Reviewer],
        // An employer manages its own openings.
        "openings" => vec![Operator, Employer],
        // Employers request and follow their own introductions; the candidate's answer is
        // recorded by the operator, who spoke to them.
        "introductions" if path.ends_with("/outcome") => vec![Operator],
        "introductions" => vec![Operator, Employer],
        // Every member's bulletins are for everyone on the node; publishing one speaks for
        // the community, and the federation status is the operator's.
        "federation" if path.ends_with("/bulletins") && *method == Method::GET => {
            vec![Operator, Reviewer, Employer]
        }
        // National staff read the national view and the federation's state, nothing else;
        // publishing speaks for the community.
        "federation"
            if *method == Method::GET
                && (path.ends_with("/status") || path.ends_with("/metrics")) =>
        {
            vec![Operator, National]
        }
        "federation" => vec![Operator],
        // A backup holds every record, personal data included.
        "community" | "tokens" | "accounts" | "candidates" | "employers" | "providers"
        | "programs" | "placements" | "outreach" | "backup" => vec![Operator],
        other => panic!("{method} {path}: no access rule for {other:?}; decide one in roles.rs"),
    })
}

#[test]
fn the_role_table_matches_the_design() {
    let mut problems = Vec::new();
    for route in routes() {
        let actual = match route.access {
            Access::Public => None,
            Access::Roles(r) => Some(r.to_vec()),
        };
        let designed = designed_access(&route.method, &route.path);
        let same = match (&actual, &designed) {
            (None, None) => true,
            (Some(a), Some(d)) => a.len() == d.len() && d.iter().all(|r| a.contains(r)),
            _ => false,
        };
        if !same {
            problems.push(format!(
                "{} {}: table says {actual:?}, design says {designed:?}",
                route.method, route.path
            ));
        }
    }
    assert_no_problems(&problems);
}

#[tokio::test]
async fn allowed_roles_reach_existing_records() {
    // Stronger than "not 401/403" for the reads: each role allowed to read a record gets it.
    let w = World::joined().await;
    for route in routes() {
        let Access::Roles(roles) = route.access else {
            continue;
        };
        if route.method != Method::GET {
            continue;
        }
        let mut path = w.concrete(&route);
        if route.path == "/api/v1/skills" {
            path.push_str("?q=java"); // autocomplete needs something to complete
        }
        if route.path == "/api/v1/search/candidates" {
            path.push_str("?skills=python"); // a search needs at least one skill
        }
        for role in roles {
            check(w.api.get(&path, w.token(*role)).await, StatusCode::OK);
        }
    }
}

#[tokio::test]
async fn health_and_the_api_document_are_public() {
    let api = TestApi::new().await;
    let health = check(api.get("/healthz", NO_TOKEN).await, StatusCode::OK);
    assert_eq!(health["status"], "ok");
    assert_eq!(health["community"], COMMUNITY);
    check(
        api.get("/api/v1/openapi.json", NO_TOKEN).await,
        StatusCode::OK,
    );
    let public: Vec<String> = routes()
        .iter()
        .filter(|r| r.access == Access::Public)
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    for expected in ["GET /healthz", "GET /api/v1/openapi.json"] {
        assert!(
            public.iter().any(|p| p == expected),
            "{expected} should be public"
        );
    }
}

#[tokio::test]
async fn every_route_is_in_the_openapi_document() {
    let api = TestApi::new().await;
    let doc = check(
        api.get("/api/v1/openapi.json", NO_TOKEN).await,
        StatusCode::OK,
    );
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    let table = routes();
    for route in &table {
        let method = route.method.as_str().to_lowercase();
        let op = &doc["paths"][&route.path][&method];
        assert!(
            op.is_object(),
            "{} {} is missing from the OpenAPI document",
            route.method,
            route.path
        );
        let secured = op.get("security").is_some();
        assert_eq!(
            secured,
            route.access != Access::Public,
            "{} {}: the document's security does not match the route's access",
            route.method,
            route.path
        );
    }
    // And nothing is documented that the table does not serve.
    let documented: usize = doc["paths"]
        .as_object()
        .expect("paths")
        .values()
        .map(|p| p.as_object().map_or(0, |ops| ops.len()))
        .sum();
    assert_eq!(documented, table.len());
}

#[tokio::test]
async fn unknown_routes_are_json_404s() {
    let api = TestApi::new().await;
    check_error(
        api.get("/api/v1/no-such-thing", &api.operator).await,
        StatusCode::NOT_FOUND,
        None,
    );
}
