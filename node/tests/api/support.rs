//! `TestApi`: the router over a fresh sled store in a temp dir, with tokens for every role,
//! request helpers that return `(StatusCode, JSON)`, and valid bodies for every resource.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tempfile::TempDir;
use tower::ServiceExt;

use techhire_node::auth::{self, Role, Token};
use techhire_node::federation::{feed, Federation, FederationConfig};
use techhire_node::index::CandidateIndex;
use techhire_node::model::{self, Community, Employer};
use techhire_node::store::{Store, StoreOptions, SCHEMA_VERSION};
use techhire_protocol::{NodeKeypair, SignedRecord};

/// Pass as the token to send no `Authorization` header at all.
pub(crate) const NO_TOKEN: &str = "";

/// The name of the community every `TestApi` starts with.
pub(crate) const COMMUNITY: &str = "Test Valley TechHire";

/// One node's API, called in-process, over its own store.
pub(crate) struct TestApi {
    pub(crate) store: Store,
    router: Router,
    /// Secrets of the tokens minted at start-up, one per role.
    pub(crate) operator: String,
    pub(crate) reviewer: String,
    pub(crate) employer: String,
    pub(crate) national: String,
    /// The employer the `employer` token belongs to (it cannot be deleted while the token
    /// holds it).
    pub(crate) employer_id: u64,
    pub(crate) operator_token_id: u64,
    /// The node's federation side, for a node made by [`TestApi::joined`].
    pub(crate) federation: Option<Federation>,
    /// The search index, which follows the feeds as the federation stores records.
    pub(crate) index: Arc<CandidateIndex>,
    /// This node's key (its own feed's signer).
    pub(crate) keypair: NodeKeypair,
    // Last, so that the store is closed before the folder goes.
    _dir: TempDir,
}

/// How a node made by [`TestApi::joined_with`] joins its federation.
pub(crate) struct Join {
    pub(crate) steward: NodeKeypair,
    /// What its certificate names.
    pub(crate) community: String,
    pub(crate) region: String,
    /// Instead of the default 10 s.
    pub(crate) sync_interval: Option<std::time::Duration>,
}

impl TestApi {
    /// A node with a schema, a community, one employer and a token for every role.
    pub(crate) async fn new() -> TestApi {
        TestApi::with_taxonomy(techhire_node::skills::Taxonomy::builtin().clone()).await
    }

    /// As [`TestApi::new`], with this skills taxonomy (a community's extended one, say).
    pub(crate) async fn with_taxonomy(taxonomy: techhire_node::skills::Taxonomy) -> TestApi {
        TestApi::build(taxonomy, false).await
    }

    /// As [`TestApi::new`], for a node that has joined a federation: its federation side
    /// runs (listening on 127.0.0.1, trusting one steward, with no peers).
    pub(crate) async fn joined() -> TestApi {
        TestApi::build(techhire_node::skills::Taxonomy::builtin().clone(), true).await
    }

    /// As [`TestApi::joined`], certified by `join.steward` for `join.community` and
    /// `join.region`: nodes made with the same steward accept each other once connected.
    pub(crate) async fn joined_with(join: Join) -> TestApi {
        TestApi::build_as(
            techhire_node::skills::Taxonomy::builtin().clone(),
            Some(join),
        )
        .await
    }

    async fn build(taxonomy: techhire_node::skills::Taxonomy, joined: bool) -> TestApi {
        let join = joined.then(|| Join {
            steward: NodeKeypair::generate(),
            community: COMMUNITY.into(),
            region: "TV".into(),
            sync_interval: None,
        });
        TestApi::build_as(taxonomy, join).await
    }

    async fn build_as(taxonomy: techhire_node::skills::Taxonomy, join: Option<Join>) -> TestApi {
        let dir = tempfile::tempdir().expect("temp dir");
        let store =
            Store::open(&dir.path().join("db"), &StoreOptions::default()).expect("open store");
        let community = Community {
            name: COMMUNITY.into(),
            region: Some("US-TV".into()),
            backbone_organisation: None,
            goals: Vec::new(),
        };
        store
            .commit(|tx| {
                tx.put_meta("schema_version", &SCHEMA_VERSION)?;
                tx.put_meta("community", &community)
            })
            .await
            .expect("write schema and community");
        let (operator_token_id, operator) = mint(&store, Role::Operator, None).await;
        let (_, reviewer) = mint(&store, Role::Reviewer, None).await;
        let (_, national) = mint(&store, Role::National, None).await;
        let home: Employer =
            serde_json::from_value(employer_body("Home Employer")).expect("employer body");
        let employer_id = store
            .commit(|tx| model::stage_create(tx, home, chrono::Utc::now()))
            .await
            .expect("create the token's employer")
            .id;
        let (_, employer) = mint(&store, Role::Employer, Some(employer_id)).await;
        let keypair = NodeKeypair::generate();
        // As `techhire run` does: the index first, so that it hears every record the
        // federation stores.
        let index = Arc::new(CandidateIndex::following(keypair.public()));
        let federation = if let Some(join) = join {
            let steward = join.steward;
            let listen = "/ip4/127.0.0.1/tcp/0".parse().expect("a multiaddr");
            let mut config = FederationConfig::new(vec![listen], vec![steward.public()]);
            if let Some(interval) = join.sync_interval {
                config.sync_interval = interval;
            }
            config.on_stored = Some(index.follower(store.clone()));
            let federation = Federation::start(store.clone(), keypair.clone(), config)
                .await
                .expect("start the federation");
            // Certified, as `techhire federation join` leaves a node: its own records then
            // verify against its membership, as they do at every peer.
            let now = techhire_node::federation::now_ms();
            let cert = techhire_protocol::MembershipCert {
                member: keypair.public(),
                community: join.community,
                region: join.region,
                not_before_ms: now - 3_600_000,
                not_after_ms: now + 365 * 86_400_000,
            }
            .sign(&steward, now);
            federation
                .admit_membership(cert)
                .await
                .expect("admit the node's certificate");
            Some(federation)
        } else {
            None
        };
        let router = techhire_node::http::router(
            techhire_node::server::state_with_index(
                store.clone(),
                keypair.public().to_string(),
                Arc::new(taxonomy),
                federation.clone(),
                index.clone(),
            )
            .expect("state"),
        );
        TestApi {
            store,
            router,
            operator,
            reviewer,
            employer,
            national,
            employer_id,
            operator_token_id,
            federation,
            index,
            keypair,
            _dir: dir,
        }
    }

    /// Stores records of other nodes' feeds (signed by them, in their feed order) as sync
    /// stores them, and tells the search index, as the federation's listener does.
    pub(crate) async fn store_feed_records(&self, records: Vec<SignedRecord>) {
        let stored = records.clone();
        self.store
            .commit(move |tx| {
                for record in &stored {
                    feed::offer(tx, record, false)?;
                }
                Ok::<_, techhire_node::store::StoreError>(())
            })
            .await
            .expect("store feed records");
        self.index.follow(&self.store, &records);
    }

    /// Stops this node's federation side and starts it again on the same store, key and
    /// port, as a restart of `techhire run` does (its certificate is in the store already),
    /// with `bootstrap` to dial; the API then uses the new one.
    pub(crate) async fn restart_federation(
        &mut self,
        steward: &NodeKeypair,
        bootstrap: Vec<libp2p::Multiaddr>,
    ) {
        let mut listen: libp2p::Multiaddr = "/ip4/127.0.0.1/tcp/0".parse().expect("a multiaddr");
        if let Some(old) = self.federation.take() {
            if let Some(mut addr) = old.listen_addrs().into_iter().next() {
                addr.pop(); // its /p2p/ suffix
                listen = addr;
            }
            old.shutdown().await;
        }
        let index = Arc::new(CandidateIndex::following(self.keypair.public()));
        let mut config = FederationConfig::new(vec![listen], vec![steward.public()]);
        config.sync_interval = std::time::Duration::from_millis(500);
        config.bootstrap = bootstrap;
        config.on_stored = Some(index.follower(self.store.clone()));
        let federation = Federation::start(self.store.clone(), self.keypair.clone(), config)
            .await
            .expect("restart the federation");
        self.router = techhire_node::http::router(
            techhire_node::server::state_with_index(
                self.store.clone(),
                self.keypair.public().to_string(),
                Arc::new(techhire_node::skills::Taxonomy::builtin().clone()),
                Some(federation.clone()),
                index.clone(),
            )
            .expect("state"),
        );
        self.federation = Some(federation);
        self.index = index;
    }

    /// Mints another token straight into the store; returns its id and secret.
    pub(crate) async fn mint(&self, role: Role, employer_id: Option<u64>) -> (u64, String) {
        mint(&self.store, role, employer_id).await
    }

    pub(crate) async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.request(Method::GET, path, token, None).await
    }

    pub(crate) async fn delete(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.request(Method::DELETE, path, token, None).await
    }

    pub(crate) async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.request(Method::POST, path, token, Some(body)).await
    }

    pub(crate) async fn put(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.request(Method::PUT, path, token, Some(body)).await
    }

    /// Any method, with an optional JSON body.
    pub(crate) async fn request(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        match body {
            Some(b) => {
                let bytes = serde_json::to_vec(&b).expect("encode body");
                self.send_raw(method, path, token, Some("application/json"), bytes)
                    .await
            }
            None => self.send_raw(method, path, token, None, Vec::new()).await,
        }
    }

    /// Sends exactly these bytes with this content type (none if `None`).
    pub(crate) async fn send_raw(
        &self,
        method: Method,
        path: &str,
        token: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let authorization = (!token.is_empty()).then(|| format!("Bearer {token}"));
        self.send(method, path, authorization.as_deref(), content_type, body)
            .await
    }

    /// Sends a bodiless request with this exact `Authorization` header value.
    pub(crate) async fn send_authorization(
        &self,
        method: Method,
        path: &str,
        authorization: &str,
    ) -> (StatusCode, Value) {
        self.send(method, path, Some(authorization), None, Vec::new())
            .await
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        authorization: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(a) = authorization {
            req = req.header(header::AUTHORIZATION, a);
        }
        if let Some(ct) = content_type {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        let req = req.body(Body::from(body)).expect("build request");
        let resp = self
            .router
            .clone()
            .oneshot(req)
            .await
            .expect("the router is infallible");
        let status = resp.status();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .expect("read response body")
            .to_bytes();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            // Not JSON is kept as text, so that the assertion that fails shows it.
            serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                Value::String(format!("<not JSON: {}>", String::from_utf8_lossy(&bytes)))
            })
        };
        (status, value)
    }

    /// Creates a record as the operator and returns its id; panics unless it is 201.
    pub(crate) async fn create(&self, path: &str, body: Value) -> u64 {
        let created = check(
            self.post(path, &self.operator, body).await,
            StatusCode::CREATED,
        );
        created["id"]
            .as_u64()
            .unwrap_or_else(|| panic!("POST {path}: no id in {created}"))
    }

    /// The ids of every record a list route returns to the operator (all pages).
    pub(crate) async fn ids(&self, path: &str) -> Vec<u64> {
        self.ids_as(path, &self.operator).await
    }

    /// The ids of every record a list route returns to `token`, following `next_after`.
    pub(crate) async fn ids_as(&self, path: &str, token: &str) -> Vec<u64> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut out = Vec::new();
        let mut after: Option<u64> = None;
        loop {
            let url = match after {
                Some(a) => format!("{path}{sep}limit=500&after={a}"),
                None => format!("{path}{sep}limit=500"),
            };
            let page = check(self.get(&url, token).await, StatusCode::OK);
            let items = page["items"]
                .as_array()
                .unwrap_or_else(|| panic!("GET {url}: no items in {page}"));
            out.extend(items.iter().map(|i| i["id"].as_u64().expect("item id")));
            match page["next_after"].as_u64() {
                Some(n) => after = Some(n),
                None => return out,
            }
        }
    }

    /// The number of records a list route returns to the operator.
    pub(crate) async fn count(&self, path: &str) -> usize {
        self.ids(path).await.len()
    }

    // Fixtures made through the API, with their dependencies.

    pub(crate) async fn new_employer(&self, name: &str) -> u64 {
        self.create("/api/v1/employers", employer_body(name)).await
    }

    pub(crate) async fn new_provider(&self) -> u64 {
        self.create("/api/v1/providers", provider_body("Code Forge"))
            .await
    }

    pub(crate) async fn new_program(&self) -> u64 {
        let provider = self.new_provider().await;
        self.create("/api/v1/programs", program_body(provider, "Web Basics"))
            .await
    }

    pub(crate) async fn new_candidate(&self) -> u64 {
        self.create(
            "/api/v1/candidates",
            candidate_body("Ada Example", "ada@example.org"),
        )
        .await
    }

    pub(crate) async fn new_opening(&self, employer_id: u64) -> u64 {
        self.create(
            "/api/v1/openings",
            opening_body(employer_id, "Help Desk Technician"),
        )
        .await
    }
}

async fn mint(store: &Store, role: Role, employer_id: Option<u64>) -> (u64, String) {
    let token = Token {
        role,
        employer_id,
        label: format!("test {role:?}"),
        account_id: None,
        expires_at: None,
        revoked_at: None,
    };
    auth::create_token(store, token).await.expect("mint token")
}

/// Returns the body if the status is `expected`; otherwise panics showing both.
#[track_caller]
pub(crate) fn check((status, body): (StatusCode, Value), expected: StatusCode) -> Value {
    assert_eq!(
        status, expected,
        "expected {expected}, got {status} with body {body}"
    );
    body
}

/// Checks an error response: the status, the `{"error","field","reason"}` shape, and which
/// field is blamed (`None`: the body must say `"field": null`).
#[track_caller]
pub(crate) fn check_error(
    resp: (StatusCode, Value),
    expected: StatusCode,
    field: Option<&str>,
) -> Value {
    let body = check(resp, expected);
    assert_error_shape(&body);
    assert_eq!(
        body["field"].as_str(),
        field,
        "the error blames the wrong field: {body}"
    );
    body
}

/// What is wrong with an error response, if anything: for tests that check many cases
/// and report every failure at once.
pub(crate) fn error_problem(
    (status, body): &(StatusCode, Value),
    expected: StatusCode,
    field: Option<&str>,
) -> Option<String> {
    if *status != expected {
        Some(format!("expected {expected}, got {status}: {body}"))
    } else if !is_error_shape(body) {
        Some(format!("not an error body: {body}"))
    } else if body["field"].as_str() != field {
        Some(format!(
            "blames {} instead of {field:?}: {body}",
            body["field"]
        ))
    } else {
        None
    }
}

/// Panics listing every problem, if there are any.
#[track_caller]
pub(crate) fn assert_no_problems(problems: &[String]) {
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// Whether `body` is exactly `{"error": string, "field": string|null, "reason": string}`.
pub(crate) fn is_error_shape(body: &Value) -> bool {
    body.as_object().is_some_and(|o| {
        o.len() == 3
            && o.get("error").is_some_and(Value::is_string)
            && o.get("reason").is_some_and(Value::is_string)
            && o.get("field").is_some_and(|f| f.is_null() || f.is_string())
    })
}

/// The body is exactly `{"error": string, "field": string|null, "reason": string}`.
#[track_caller]
pub(crate) fn assert_error_shape(body: &Value) {
    let obj = body
        .as_object()
        .unwrap_or_else(|| panic!("error body is not a JSON object: {body}"));
    assert!(
        obj.get("error").is_some_and(Value::is_string),
        "no error code: {body}"
    );
    assert!(
        obj.get("reason").is_some_and(Value::is_string),
        "no reason: {body}"
    );
    assert!(
        obj.get("field")
            .is_some_and(|f| f.is_string() || f.is_null()),
        "no field key: {body}"
    );
    assert_eq!(obj.len(), 3, "unexpected keys in error body: {body}");
}

// Valid bodies, one function per resource.

pub(crate) fn employer_body(name: &str) -> Value {
    json!({
        "name": name,
        "industry": "Software",
        "size_band": "10-49",
        "contacts": [{"name": "Pat Hiring", "email": "pat@example.com", "phone": "+1 555 010 0100"}],
        "advocate": false
    })
}

pub(crate) fn provider_body(name: &str) -> Value {
    json!({"name": name, "kind": "bootcamp", "city": "Springfield"})
}

pub(crate) fn program_body(provider_id: u64, name: &str) -> Value {
    json!({
        "provider_id": provider_id,
        "name": name,
        "skills_taught": [{"skill": "HTML"}, {"skill": "JavaScript"}],
        "yearly_enrolment": 40,
        "yearly_completion": 30,
        "delivery": "live",
        "length_weeks": 12,
        "schedule": "part_time",
        "tuition_usd": 0
    })
}

pub(crate) fn opening_body(employer_id: u64, title: &str) -> Value {
    json!({
        "employer_id": employer_id,
        "title": title,
        "soc_code": "15-1232",
        "required_skills": [{"skill": "Troubleshooting", "min_level": "intermediate"}],
        "remote": "on_site"
    })
}

pub(crate) fn candidate_body(name: &str, email: &str) -> Value {
    json!({
        "personal": {
            "name": name,
            "email": email,
            "phone": "+1 555 123 4567",
            "city": "Smallville",
            "segments": ["veteran"]
        },
        "profile": {
            "skills": [{"skill": "Python", "level": "intermediate", "evidence": "project"}],
            "work_history": [{"title": "Cashier", "start": "2019-03-01", "end": "2022-06-30"}],
            "desired_roles": ["Junior developer"]
        }
    })
}

pub(crate) fn assessment_body(candidate_id: u64, skill: &str) -> Value {
    json!({
        "candidate_id": candidate_id,
        "skill": skill,
        "instrument": "HackerRank Python (Basic)",
        "score": 80,
        "max_score": 100,
        "taken_on": "2024-05-02",
        "assessor": "Volunteer Vic"
    })
}

pub(crate) fn vetting_body(candidate_id: u64, recommendation: &str) -> Value {
    json!({
        "candidate_id": candidate_id,
        "reviewer": "HR Helen",
        "interviewed_on": "2024-05-10",
        "rubric": {"communication": 4, "teamwork": 5, "problem_solving": 3, "reliability": 4, "learning_agility": 5},
        "recommendation": recommendation
    })
}

pub(crate) fn placement_body(candidate_id: u64, employer_id: u64) -> Value {
    json!({
        "candidate_id": candidate_id,
        "employer_id": employer_id,
        "start_date": "2024-06-03",
        "starting_wage_annual_usd": 48000,
        "soc_code": "15-1232"
    })
}

pub(crate) fn outreach_body(channel: &str) -> Value {
    json!({
        "channel": channel,
        "period_start": "2024-01-01",
        "period_end": "2024-03-31",
        "job_seekers_reached": 120
    })
}

/// Every direct message queued in `api`'s outbox: its recipient and the message as it
/// will leave (decoded from the queued bytes).
pub(crate) fn outbox(
    api: &TestApi,
) -> Vec<(
    techhire_protocol::PublicKey,
    techhire_protocol::DirectMessage,
)> {
    use techhire_protocol::{DirectMessage, PublicKey, RecordKind};
    api.store
        .blob_range(
            techhire_node::store::Table::DirectOutbox,
            &[],
            None,
            usize::MAX,
        )
        .unwrap()
        .into_iter()
        .map(|(name, value)| {
            let to = PublicKey::from_bytes(name[..32].try_into().unwrap()).unwrap();
            let kind = RecordKind(u16::from_be_bytes([value[0], value[1]]));
            (to, DirectMessage::decode(kind, &value[2..]).unwrap())
        })
        .collect()
}

/// Stores a request from a made-up node (never connected, so whatever `api` queues for it
/// stays in the outbox) for candidate `candidate`, as if it had arrived; returns the
/// requesting node's key and the introduction's id.
pub(crate) async fn incoming_request(
    api: &TestApi,
    candidate: u64,
) -> (techhire_protocol::PublicKey, u64) {
    use techhire_protocol::{IntroRequest, ProfileId, RequestId};
    let from = NodeKeypair::generate().public();
    let request = IntroRequest {
        id: RequestId::random(),
        profile: ProfileId([7; 16]),
        community: "Faraway".into(),
        employer: "Faraway Data Co".into(),
        opening: None,
        message: "We would like to talk.".into(),
        requested_at_ms: 1_700_000_000_000,
    };
    let stored = api
        .store
        .commit(move |tx| {
            model::stage_incoming(
                tx,
                &from,
                &request,
                Some(candidate),
                true,
                chrono::Utc::now(),
            )
        })
        .await
        .unwrap();
    match stored {
        model::Incoming::Stored(id) => (from, id),
        other => panic!("not stored: {other:?}"),
    }
}
