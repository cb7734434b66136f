//! Introductions across the federation, between two real nodes on loopback: an employer of
//! Birmingham asks for a candidate whose profile Akron shared; Akron's operator answers; the
//! contact details reach that employer only. Also: declines, withdrawn profiles, forged
//! direct messages, a home node that was down, and the placement notice.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::{json, Value};

use techhire_node::federation::direct::{find_profile, RemoteProfile};
use techhire_node::federation::{now_ms, Federation, FederationConfig};
use techhire_node::model;
use techhire_node::sharing;
use techhire_protocol::{
    AnswerOutcome, Bulletin, DirectMessage, DirectReply, IntroAnswer, IntroRequest, NodeKeypair,
    PlacementNotice, ProfileId, PublicKey, RecordKind, RefusalReason, RequestId, SharedProfile,
    SignedRecord,
};

use crate::support::*;

const INTRODUCTIONS: &str = "/api/v1/introductions";

/// Polls `f` until it gives `Some`; panics after 60 s (the suite runs many nodes at once).
async fn eventually<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    mut f: impl FnMut() -> F,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn node(steward: &NodeKeypair, community: &str, region: &str) -> Join {
    Join {
        steward: steward.clone(),
        community: community.into(),
        region: region.into(),
        sync_interval: Some(Duration::from_millis(500)),
    }
}

fn fed(api: &TestApi) -> &Federation {
    api.federation.as_ref().expect("a joined node")
}

/// Akron (the candidate's home) and Birmingham (the employer's), same steward, not yet
/// connected.
async fn pair() -> (TestApi, TestApi) {
    let steward = NodeKeypair::generate();
    let akron = TestApi::joined_with(node(&steward, "Akron", "OH")).await;
    let birmingham = TestApi::joined_with(node(&steward, "Birmingham", "AL")).await;
    (akron, birmingham)
}

async fn connect(from: &Federation, to: &Federation) {
    let addr = eventually("a listen address", || async {
        to.listen_addrs().into_iter().next()
    })
    .await;
    from.dial(addr).await.unwrap();
    let (a, b) = (from.key().to_string(), to.key().to_string());
    eventually("both nodes see each other as members", || async {
        let member = |f: &Federation, k: &str| {
            f.status()
                .unwrap()
                .peers
                .iter()
                .any(|p| p["key"].as_str() == Some(k) && p["member"].as_bool() == Some(true))
        };
        (member(from, &b) && member(to, &a)).then_some(())
    })
    .await;
}

/// A candidate of `home` with consent to share with the whole federation: its profile id.
async fn shared_candidate(home: &TestApi) -> (u64, ProfileId) {
    shared_candidate_in(home, json!({"kind": "federation"})).await
}

/// A candidate of `home` with consent to share within `scope`: its profile id.
async fn shared_candidate_in(home: &TestApi, scope: Value) -> (u64, ProfileId) {
    let id = home
        .create(
            "/api/v1/candidates",
            candidate_body("Ada Lovelace", "ada@example.org"),
        )
        .await;
    check(
        home.put(
            &format!("/api/v1/candidates/{id}/consent"),
            &home.operator,
            json!({"policy_version": "2026-01", "scope": scope}),
        )
        .await,
        StatusCode::OK,
    );
    let store = home.store.clone();
    let profile = eventually("the profile is published", || {
        let store = store.clone();
        async move {
            sharing::state_of(&store, id)
                .unwrap()
                .filter(|s| s.published_seq.is_some())
                .map(|s| s.profile_id)
        }
    })
    .await;
    (id, profile)
}

async fn holds_live(api: &TestApi, profile: ProfileId) {
    eventually("the profile reaches the requesting node", || async {
        matches!(
            find_profile(&api.store, &fed(api).key(), &profile, now_ms()).unwrap(),
            RemoteProfile::Live { .. }
        )
        .then_some(())
    })
    .await;
}

async fn ask(api: &TestApi, profile: ProfileId, opening: u64) -> u64 {
    let created = check(
        api.post(
            INTRODUCTIONS,
            &api.employer,
            json!({"profile": profile.to_string(), "opening_id": opening, "message": "We would love to talk about our data role."}),
        )
        .await,
        StatusCode::CREATED,
    );
    assert_eq!(created["status"], "requested");
    assert_eq!(created["profile"], profile.to_string());
    assert!(created["contact"].is_null());
    created["id"].as_u64().unwrap()
}

/// The home operator's queue of requested introductions.
async fn queue(api: &TestApi) -> Vec<Value> {
    check(
        api.get(&format!("{INTRODUCTIONS}?status=requested"), &api.operator)
            .await,
        StatusCode::OK,
    )["items"]
        .as_array()
        .unwrap()
        .clone()
}

async fn arrived(home: &TestApi) -> Value {
    eventually("the request reaches the home operator's queue", || async {
        queue(home).await.into_iter().next()
    })
    .await
}

async fn decided(api: &TestApi, id: u64, token: &str) -> Value {
    let path = format!("{INTRODUCTIONS}/{id}");
    eventually("the answer reaches the requesting node", || async {
        let (status, body) = api.get(&path, token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        (body["status"] != "requested").then_some(body)
    })
    .await
}

#[tokio::test]
async fn an_accepted_introduction_reaches_only_the_employer_that_asked() {
    let (akron, birmingham) = pair().await;
    connect(fed(&birmingham), fed(&akron)).await;
    let (candidate, profile) = shared_candidate(&akron).await;
    holds_live(&birmingham, profile).await;
    let opening = birmingham.new_opening(birmingham.employer_id).await;
    let intro = ask(&birmingham, profile, opening).await;

    // Akron's operator sees who asked, for what, and for which of its candidates.
    let queued = arrived(&akron).await;
    assert_eq!(queued["candidate_id"], candidate);
    assert!(queued["employer_id"].is_null());
    assert_eq!(queued["requested_by"], "other_node");
    let remote = &queued["remote"];
    assert_eq!(remote["direction"], "incoming");
    assert_eq!(remote["community"], "Birmingham");
    assert_eq!(remote["employer_name"], "Home Employer");
    assert_eq!(remote["opening_title"], "Help Desk Technician");
    assert_eq!(remote["node"], fed(&birmingham).key().to_string());
    assert_eq!(remote["profile"], profile.to_string());
    assert_eq!(
        queued["message"],
        "We would love to talk about our data role."
    );

    // Accepted, sharing name and email only.
    let home_id = queued["id"].as_u64().unwrap();
    let answered = check(
        akron
            .post(
                &format!("{INTRODUCTIONS}/{home_id}/outcome"),
                &akron.operator,
                json!({"outcome": "accepted", "note": "Call after 5pm", "share": ["name", "email"]}),
            )
            .await,
        StatusCode::OK,
    );
    assert_eq!(answered["status"], "accepted");
    assert_eq!(answered["remote"]["shared"], json!(["name", "email"]));

    let seen = decided(&birmingham, intro, &birmingham.employer).await;
    assert_eq!(seen["status"], "accepted");
    assert_eq!(seen["contact"]["name"], "Ada Lovelace");
    assert_eq!(seen["contact"]["email"], "ada@example.org");
    assert!(seen["contact"]["phone"].is_null(), "not chosen: {seen}");
    assert_eq!(seen["outcome_note"], "Call after 5pm");
    assert_eq!(seen["home_community"], "Akron");
    assert!(seen.get("candidate_id").is_none() && seen.get("remote").is_none());

    // Birmingham's operator sees it too; another employer of Birmingham does not.
    let op = check(
        birmingham
            .get(&format!("{INTRODUCTIONS}/{intro}"), &birmingham.operator)
            .await,
        StatusCode::OK,
    );
    assert_eq!(op["remote"]["contact"]["email"], "ada@example.org");
    let other = birmingham.new_employer("Other Employer").await;
    let (_, other_token) = birmingham
        .mint(techhire_node::auth::Role::Employer, Some(other))
        .await;
    check_error(
        birmingham
            .get(&format!("{INTRODUCTIONS}/{intro}"), &other_token)
            .await,
        StatusCode::NOT_FOUND,
        None,
    );
    assert!(birmingham
        .ids_as(INTRODUCTIONS, &other_token)
        .await
        .is_empty());
    // Only a home node decides.
    check_error(
        birmingham
            .post(
                &format!("{INTRODUCTIONS}/{intro}/outcome"),
                &birmingham.operator,
                json!({"outcome": "declined"}),
            )
            .await,
        StatusCode::CONFLICT,
        None,
    );

    // The placement at home is credited at Birmingham: the notice marks its introduction.
    let employer = akron
        .new_employer("Birmingham Data Co (placed remotely)")
        .await;
    let mut placement = placement_body(candidate, employer);
    placement["start_date"] = json!("2026-03-02");
    placement["introduction_id"] = json!(home_id);
    akron.create("/api/v1/placements", placement).await;
    let placed = eventually("the placement notice arrives", || async {
        let body = check(
            birmingham
                .get(&format!("{INTRODUCTIONS}/{intro}"), &birmingham.employer)
                .await,
            StatusCode::OK,
        );
        body["placed"].as_str().map(str::to_owned)
    })
    .await;
    assert_eq!(placed, "2026-03");
    let home = check(
        akron
            .get(&format!("{INTRODUCTIONS}/{home_id}"), &akron.operator)
            .await,
        StatusCode::OK,
    );
    assert_eq!(home["remote"]["placed"], "2026-03");

    // Both nodes still compute their metrics: Birmingham counts the hire from another
    // community in the month the job starts, Akron its own candidate in `placed`.
    assert_eq!(
        year_total(&birmingham, 2026, "hired_from_other_communities"),
        1
    );
    let this_year = {
        use chrono::Datelike;
        chrono::Utc::now().year() as u16
    };
    assert_eq!(year_total(&akron, this_year, "placed"), 1);
    assert_eq!(year_total(&akron, 2026, "hired_from_other_communities"), 0);
}

/// The year's raw figure of `metric` (no breakdown) at `api`, computed from its store.
fn year_total(api: &TestApi, year: u16, metric: &str) -> u64 {
    use techhire_node::metrics::compute::{compute_year, plan_year};
    use techhire_protocol::suppression::Raw;
    // The reports themselves must compute (a row that fails to decode aborts them).
    compute_year(&api.store, year, techhire_protocol::MIN_THRESHOLD, 0, &[])
        .expect("the year's reports");
    let plan = plan_year(&api.store, year, techhire_protocol::MIN_THRESHOLD, &[])
        .expect("the year's figures");
    let at = plan
        .cells
        .iter()
        .position(|c| {
            c.period == techhire_protocol::Period::Year { year }
                && c.metric == metric
                && c.dimension.is_empty()
        })
        .unwrap_or_else(|| panic!("no cell for {metric}"));
    match plan.plan.cells[at] {
        Raw::People(n) | Raw::Count(n) => n,
        Raw::Amount(_) => panic!("{metric} is an amount"),
    }
}

#[tokio::test]
async fn a_declined_introduction_never_shows_contact_details() {
    let (akron, birmingham) = pair().await;
    connect(fed(&birmingham), fed(&akron)).await;
    let (_, profile) = shared_candidate(&akron).await;
    holds_live(&birmingham, profile).await;
    let opening = birmingham.new_opening(birmingham.employer_id).await;
    let intro = ask(&birmingham, profile, opening).await;
    let home_id = arrived(&akron).await["id"].as_u64().unwrap();
    check(
        akron
            .post(
                &format!("{INTRODUCTIONS}/{home_id}/outcome"),
                &akron.operator,
                json!({"outcome": "declined", "note": "Ada has just taken another job"}),
            )
            .await,
        StatusCode::OK,
    );
    let seen = decided(&birmingham, intro, &birmingham.employer).await;
    assert_eq!(seen["status"], "declined");
    assert!(seen["contact"].is_null());
    assert!(
        seen["outcome_note"].is_null(),
        "a decline's note stays home"
    );
    let op = check(
        birmingham
            .get(&format!("{INTRODUCTIONS}/{intro}"), &birmingham.operator)
            .await,
        StatusCode::OK,
    );
    assert!(op["remote"]["contact"].is_null());
    let all = serde_json::to_string(&op).unwrap();
    assert!(!all.contains("ada@example.org") && !all.contains("Lovelace"));

    // A placement notice for a declined introduction credits nothing.
    let notice = PlacementNotice {
        id: op["remote"]["request_id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap(),
        year: 2026,
        month: 3,
    };
    let from = fed(&akron).key();
    let applied = birmingham
        .store
        .commit(move |tx| model::apply_notice(tx, &from, &notice, chrono::Utc::now()))
        .await
        .unwrap();
    assert_eq!(applied, model::Applied::Duplicate);
    let op = check(
        birmingham
            .get(&format!("{INTRODUCTIONS}/{intro}"), &birmingham.operator)
            .await,
        StatusCode::OK,
    );
    assert!(op["remote"]["placed"].is_null(), "{op}");
}

/// The answers `api` has queued for node `to`.
fn answers_to(api: &TestApi, to: &PublicKey) -> Vec<IntroAnswer> {
    outbox(api)
        .into_iter()
        .filter_map(|(k, m)| match m {
            DirectMessage::Answer(a) if k == *to => Some(a),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_declines_note_stays_at_the_home_node() {
    let api = TestApi::joined().await;
    let candidate = api
        .create(
            "/api/v1/candidates",
            candidate_body("Ada Lovelace", "ada@example.org"),
        )
        .await;
    let outcome = |intro: u64, body: Value| {
        let api = &api;
        async move {
            check(
                api.post(
                    &format!("{INTRODUCTIONS}/{intro}/outcome"),
                    &api.operator,
                    body,
                )
                .await,
                StatusCode::OK,
            )
        }
    };
    // Declined: what is queued for the requesting node holds no note.
    let (declined_to, declined) = incoming_request(&api, candidate).await;
    outcome(
        declined,
        json!({"outcome": "declined", "note": "Ada has just taken another job"}),
    )
    .await;
    let queued = answers_to(&api, &declined_to);
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].outcome, AnswerOutcome::Declined);
    assert_eq!(queued[0].note, None, "a decline's note left the node");
    // Accepted: the note goes with the contact details.
    let (accepted_to, accepted) = incoming_request(&api, candidate).await;
    outcome(
        accepted,
        json!({"outcome": "accepted", "note": "Call after 5pm", "share": ["email"]}),
    )
    .await;
    let queued = answers_to(&api, &accepted_to);
    assert_eq!(queued.len(), 1);
    assert!(matches!(queued[0].outcome, AnswerOutcome::Accepted(_)));
    assert_eq!(queued[0].note.as_deref(), Some("Call after 5pm"));
}

#[tokio::test]
async fn only_a_placement_naming_its_introduction_credits_the_other_community() {
    let api = TestApi::joined().await;
    let candidate = api
        .create(
            "/api/v1/candidates",
            candidate_body("Ada Lovelace", "ada@example.org"),
        )
        .await;
    let (requester, intro) = incoming_request(&api, candidate).await;
    check(
        api.post(
            &format!("{INTRODUCTIONS}/{intro}/outcome"),
            &api.operator,
            json!({"outcome": "accepted"}),
        )
        .await,
        StatusCode::OK,
    );
    let notices = |api: &TestApi| {
        outbox(api)
            .into_iter()
            .filter(|(to, m)| *to == requester && matches!(m, DirectMessage::Placement(_)))
            .count()
    };
    // Hired by an employer of this node, not through that introduction: nothing is sent,
    // even though it is the candidate's only accepted one.
    let employer = api.new_employer("Local Hire Co").await;
    api.create("/api/v1/placements", placement_body(candidate, employer))
        .await;
    assert_eq!(
        notices(&api),
        0,
        "a placement credited a guessed introduction"
    );
    let home = check(
        api.get(&format!("{INTRODUCTIONS}/{intro}"), &api.operator)
            .await,
        StatusCode::OK,
    );
    assert!(home["remote"]["placed"].is_null(), "{home}");
    // Named: the notice goes out.
    let mut named = placement_body(candidate, employer);
    named["introduction_id"] = json!(intro);
    api.create("/api/v1/placements", named).await;
    assert_eq!(notices(&api), 1);
}

#[tokio::test]
async fn a_request_withdrawn_or_timed_out_at_the_requester_cannot_be_accepted_at_home() {
    let (akron, birmingham) = pair().await;
    connect(fed(&birmingham), fed(&akron)).await;
    let (candidate, profile) = shared_candidate(&akron).await;
    holds_live(&birmingham, profile).await;
    let first = birmingham.new_opening(birmingham.employer_id).await;
    let second = birmingham.new_opening(birmingham.employer_id).await;
    let withdrawn = ask(&birmingham, profile, first).await;
    let timed_out = ask(&birmingham, profile, second).await;
    let request_id = |intro: u64| {
        let b = &birmingham;
        async move {
            check(
                b.get(&format!("{INTRODUCTIONS}/{intro}"), &b.operator)
                    .await,
                StatusCode::OK,
            )["remote"]["request_id"]
                .clone()
        }
    };
    let (withdrawn_rid, timed_out_rid) = (request_id(withdrawn).await, request_id(timed_out).await);
    let home_of = |rid: Value| {
        let akron = &akron;
        async move {
            eventually("the request reaches the home node", || async {
                let ids = akron.ids(INTRODUCTIONS).await;
                for id in ids {
                    let body = check(
                        akron
                            .get(&format!("{INTRODUCTIONS}/{id}"), &akron.operator)
                            .await,
                        StatusCode::OK,
                    );
                    if body["remote"]["request_id"] == rid {
                        return Some(id);
                    }
                }
                None
            })
            .await
        }
    };
    let home_withdrawn = home_of(withdrawn_rid).await;
    let home_timed_out = home_of(timed_out_rid).await;

    // The employer withdraws one; the other times out at Birmingham.
    check(
        birmingham
            .post(
                &format!("{INTRODUCTIONS}/{withdrawn}/withdraw"),
                &birmingham.employer,
                json!({}),
            )
            .await,
        StatusCode::OK,
    );
    let later = chrono::Utc::now() + chrono::Duration::days(365);
    let expired = birmingham
        .store
        .commit(move |tx| model::stage_expiry(tx, timed_out, later))
        .await
        .unwrap();
    assert!(expired);
    fed(&birmingham).direct().deliver_now();

    for home in [home_withdrawn, home_timed_out] {
        let path = format!("{INTRODUCTIONS}/{home}");
        let closed = eventually("the home node learns the request was closed", || async {
            let body = check(akron.get(&path, &akron.operator).await, StatusCode::OK);
            (body["status"] != "requested").then_some(body)
        })
        .await;
        assert_eq!(closed["status"], "expired", "{closed}");
        let refused = check_error(
            akron
                .post(
                    &format!("{path}/outcome"),
                    &akron.operator,
                    json!({"outcome": "accepted"}),
                )
                .await,
            StatusCode::CONFLICT,
            None,
        );
        assert!(
            refused["reason"].as_str().unwrap().contains("expired"),
            "{refused}"
        );
    }
    // No contact details were queued, and the candidate was not introduced.
    let to = fed(&birmingham).key();
    assert!(answers_to(&akron, &to)
        .iter()
        .all(|a| !matches!(a.outcome, AnswerOutcome::Accepted(_))));
    let c = check(
        akron
            .get(&format!("/api/v1/candidates/{candidate}"), &akron.operator)
            .await,
        StatusCode::OK,
    );
    assert_ne!(c["stage"], "introduced", "{c}");
}

#[tokio::test]
async fn a_request_from_outside_the_consent_scope_is_refused_as_unknown() {
    let (akron, birmingham) = pair().await;
    connect(fed(&birmingham), fed(&akron)).await;
    // Shared with Ohio only; Birmingham is in Alabama.
    let (_, profile) =
        shared_candidate_in(&akron, json!({"kind": "regions", "regions": ["OH"]})).await;
    let to = fed(&akron).key();
    let send = |message: DirectMessage| {
        let b = fed(&birmingham).clone();
        let record = message.sign(&birmingham.keypair, now_ms()).unwrap();
        async move {
            b.direct()
                .send_unchecked(&to, record.encode())
                .await
                .expect("a reply")
        }
    };
    assert_eq!(send(request_to(profile)).await, DirectReply::Ack);
    assert!(akron.ids(INTRODUCTIONS).await.is_empty(), "stored anyway");
    let refusal = answers_to(&akron, &fed(&birmingham).key());
    assert!(
        refusal.is_empty()
            || refusal
                .iter()
                .all(|a| a.outcome == AnswerOutcome::Refused(RefusalReason::UnknownProfile)),
        "{refusal:?}"
    );
    // The same request for a profile shared with the whole federation is kept.
    let (_, everywhere) = shared_candidate(&akron).await;
    assert_eq!(send(request_to(everywhere)).await, DirectReply::Ack);
    assert_eq!(akron.ids(INTRODUCTIONS).await.len(), 1);
}

#[tokio::test]
async fn a_profile_id_two_nodes_hold_is_asked_for_by_home_node() {
    let (akron, birmingham) = pair().await;
    connect(fed(&birmingham), fed(&akron)).await;
    let (_, profile) = shared_candidate(&akron).await;
    holds_live(&birmingham, profile).await;
    // Another origin publishes a profile under the same id (a copy).
    let copied = fed(&akron)
        .records(&fed(&akron).key(), 0)
        .unwrap()
        .into_iter()
        .filter(|r| r.kind() == RecordKind::PROFILE)
        .map(|r| SharedProfile::decode(r.payload()).unwrap())
        .find(|p| p.id == profile)
        .unwrap();
    let mallory = NodeKeypair::generate();
    let copy = copied.try_sign(&mallory, 1, now_ms()).unwrap();
    birmingham.store_feed_records(vec![copy]).await;
    let opening = birmingham.new_opening(birmingham.employer_id).await;

    let refused = check_error(
        birmingham
            .post(
                INTRODUCTIONS,
                &birmingham.employer,
                json!({"profile": profile.to_string(), "opening_id": opening, "message": "Hello"}),
            )
            .await,
        StatusCode::CONFLICT,
        Some("home_node"),
    );
    assert!(
        refused["reason"].as_str().unwrap().contains("home_node"),
        "{refused}"
    );
    check_error(
        birmingham
            .post(
                INTRODUCTIONS,
                &birmingham.employer,
                json!({"profile": profile.to_string(), "home_node": "nope", "message": "Hello"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("home_node"),
    );
    // Named, it goes to the home node named, and only there.
    let created = check(
        birmingham
            .post(
                INTRODUCTIONS,
                &birmingham.employer,
                json!({"profile": profile.to_string(), "home_node": fed(&akron).key().to_string(), "opening_id": opening, "message": "Hello"}),
            )
            .await,
        StatusCode::CREATED,
    );
    assert_eq!(created["home_community"], "Akron", "{created}");
    arrived(&akron).await;
}

#[tokio::test]
async fn a_request_for_a_withdrawn_profile_is_refused_at_either_end() {
    let (akron, birmingham) = pair().await;
    let (candidate, profile) = shared_candidate(&akron).await;
    // Birmingham holds the profile (as sync would store it) but not yet the tombstone.
    let records = fed(&akron).records(&fed(&akron).key(), 0).unwrap();
    birmingham.store_feed_records(records).await;
    holds_live(&birmingham, profile).await;
    check(
        akron
            .delete(
                &format!("/api/v1/candidates/{candidate}/consent"),
                &akron.operator,
            )
            .await,
        StatusCode::OK,
    );
    let opening = birmingham.new_opening(birmingham.employer_id).await;
    let intro = ask(&birmingham, profile, opening).await;

    // The request goes out when the nodes connect; Akron refuses it without storing it.
    connect(fed(&birmingham), fed(&akron)).await;
    let seen = decided(&birmingham, intro, &birmingham.employer).await;
    assert_eq!(seen["status"], "refused");
    assert_eq!(seen["refusal"], "profile_withdrawn");
    assert!(seen["contact"].is_null());
    assert!(akron.ids(INTRODUCTIONS).await.is_empty());

    // Once the tombstone is in, Birmingham refuses at once, and says why.
    eventually("the tombstone reaches Birmingham", || async {
        matches!(
            find_profile(
                &birmingham.store,
                &fed(&birmingham).key(),
                &profile,
                now_ms()
            )
            .unwrap(),
            RemoteProfile::Withdrawn { .. }
        )
        .then_some(())
    })
    .await;
    let refused = check_error(
        birmingham
            .post(
                INTRODUCTIONS,
                &birmingham.employer,
                json!({"profile": profile.to_string(), "message": "Hello"}),
            )
            .await,
        StatusCode::CONFLICT,
        Some("profile"),
    );
    assert!(
        refused["reason"]
            .as_str()
            .unwrap()
            .contains("profile_withdrawn"),
        "{refused}"
    );
    check_error(
        birmingham
            .post(
                INTRODUCTIONS,
                &birmingham.employer,
                json!({"profile": "ab".repeat(16), "message": "Hello"}),
            )
            .await,
        StatusCode::CONFLICT,
        Some("profile"),
    );
    check_error(
        birmingham
            .post(
                INTRODUCTIONS,
                &birmingham.employer,
                json!({"profile": "not hex", "message": "Hello"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("profile"),
    );
}

fn request_to(profile: ProfileId) -> DirectMessage {
    DirectMessage::Request(IntroRequest {
        id: RequestId::random(),
        profile,
        community: "Birmingham".into(),
        employer: "Mallory Ltd".into(),
        opening: None,
        message: "hello".into(),
        requested_at_ms: now_ms(),
    })
}

fn rejected(api: &TestApi, reason: &str) -> u64 {
    fed(api).status().unwrap().direct.rejected[reason]
}

#[tokio::test]
async fn forged_tampered_and_non_member_direct_messages_are_refused_and_counted() {
    let (akron, birmingham) = pair().await;
    connect(fed(&birmingham), fed(&akron)).await;
    let (_, profile) = shared_candidate(&akron).await;
    let to = fed(&akron).key();
    let send = |bytes: Vec<u8>| {
        let b = fed(&birmingham).clone();
        async move {
            b.direct()
                .send_unchecked(&to, bytes)
                .await
                .expect("a reply")
        }
    };
    let refused = |reply: &DirectReply| matches!(reply, DirectReply::Refused { .. });

    // Tampered: a byte of a signed request changed.
    let good = request_to(profile)
        .sign(&birmingham.keypair, now_ms())
        .unwrap();
    let mut tampered = good.encode();
    let at = tampered.len() - 70;
    tampered[at] ^= 1;
    assert!(refused(&send(tampered).await));
    // Forged: signed by another key, claiming Birmingham's.
    let mallory = NodeKeypair::generate();
    let mut forged = request_to(profile)
        .sign(&mallory, now_ms())
        .unwrap()
        .encode();
    forged[3..35].copy_from_slice(birmingham.keypair.public().as_bytes());
    assert!(refused(&send(forged).await));
    assert_eq!(rejected(&akron, "bad_signature"), 2);
    // Not a member: a well-signed request from a key no steward certified.
    let outsider = request_to(profile).sign(&mallory, now_ms()).unwrap();
    assert_eq!(
        send(outsider.encode()).await,
        DirectReply::Refused {
            retry: true,
            reason: "not_member".into()
        }
    );
    assert_eq!(rejected(&akron, "not_member"), 1);
    // Oversized, undecodable, and a feed record sent as a direct message.
    assert!(refused(&send(vec![1; 70 * 1024]).await));
    assert_eq!(rejected(&akron, "oversized"), 1);
    assert!(refused(&send(vec![1, 2, 3]).await));
    assert_eq!(rejected(&akron, "undecodable"), 1);
    let bulletin = Bulletin {
        id: 1,
        title: "t".into(),
        body: String::new(),
    };
    let feed_record = SignedRecord::sign(
        &birmingham.keypair,
        RecordKind::BULLETIN,
        1,
        now_ms(),
        bulletin.encode(),
    )
    .unwrap();
    assert!(refused(&send(feed_record.encode()).await));
    assert_eq!(rejected(&akron, "unknown_kind"), 1);
    // A request naming another community than the sender's certificate.
    let mut lying = request_to(profile);
    if let DirectMessage::Request(r) = &mut lying {
        r.community = "Akron".into();
    }
    let lying = lying.sign(&birmingham.keypair, now_ms()).unwrap();
    assert!(refused(&send(lying.encode()).await));
    assert_eq!(rejected(&akron, "bad_payload"), 1);
    // An answer to a request Akron never made.
    let answer = DirectMessage::Answer(IntroAnswer {
        id: RequestId::random(),
        outcome: techhire_protocol::AnswerOutcome::Declined,
        note: None,
        decided_at_ms: now_ms(),
    })
    .sign(&birmingham.keypair, now_ms())
    .unwrap();
    assert!(refused(&send(answer.encode()).await));
    assert_eq!(rejected(&akron, "unknown_request"), 1);
    assert!(
        akron.ids(INTRODUCTIONS).await.is_empty(),
        "nothing forged was stored"
    );

    // The genuine request is stored once, however often it is delivered.
    assert_eq!(send(good.encode()).await, DirectReply::Ack);
    assert_eq!(send(good.encode()).await, DirectReply::Ack);
    assert_eq!(rejected(&akron, "replay"), 1);
    assert_eq!(akron.ids(INTRODUCTIONS).await.len(), 1);
    assert_eq!(fed(&akron).status().unwrap().direct.accepted, 1);

    // A direct message gossiped as a feed record goes nowhere.
    let before = fed(&akron).status().unwrap().rejected["unknown_kind"];
    fed(&birmingham)
        .gossip_unchecked(good.encode())
        .await
        .unwrap();
    eventually("the gossiped request is refused", || async {
        (fed(&akron).status().unwrap().rejected["unknown_kind"] > before).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_request_waits_for_a_home_node_that_was_down() {
    let steward = NodeKeypair::generate();
    let akron = TestApi::joined_with(node(&steward, "Akron", "OH")).await;
    let birmingham = TestApi::joined_with(node(&steward, "Birmingham", "AL")).await;
    connect(fed(&birmingham), fed(&akron)).await;
    let (_, profile) = shared_candidate(&akron).await;
    holds_live(&birmingham, profile).await;

    fed(&akron).shutdown().await;
    let opening = birmingham.new_opening(birmingham.employer_id).await;
    let intro = ask(&birmingham, profile, opening).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(fed(&birmingham).status().unwrap().direct.outbox, 1);
    assert!(queue(&akron).await.is_empty());

    // Akron comes back (same store and key, a new port) and Birmingham reconnects.
    let listen = "/ip4/127.0.0.1/tcp/0".parse().unwrap();
    let mut config = FederationConfig::new(vec![listen], vec![steward.public()]);
    config.sync_interval = Duration::from_millis(500);
    let back = Federation::start(akron.store.clone(), akron.keypair.clone(), config)
        .await
        .unwrap();
    connect(fed(&birmingham), &back).await;
    let queued = arrived(&akron).await;
    assert_eq!(queued["remote"]["community"], "Birmingham");
    eventually("Birmingham's outbox drains", || async {
        (fed(&birmingham).status().unwrap().direct.outbox == 0).then_some(())
    })
    .await;
    let seen = check(
        birmingham
            .get(&format!("{INTRODUCTIONS}/{intro}"), &birmingham.employer)
            .await,
        StatusCode::OK,
    );
    assert_eq!(seen["status"], "requested");
    back.shutdown().await;
}

/// The demo's layout: El Paso and Akron each know only Birmingham (their bootstrap), and
/// have never been told each other's addresses. Returns the steward and the three nodes.
async fn spokes() -> (NodeKeypair, TestApi, TestApi, TestApi) {
    let steward = NodeKeypair::generate();
    let hub = TestApi::joined_with(node(&steward, "Birmingham", "AL")).await;
    let el_paso = TestApi::joined_with(node(&steward, "El Paso", "TX")).await;
    let akron = TestApi::joined_with(node(&steward, "Akron", "OH")).await;
    connect(fed(&el_paso), fed(&hub)).await;
    connect(fed(&akron), fed(&hub)).await;
    (steward, hub, el_paso, akron)
}

/// Whether `a` holds a confirmed member connection to `b`.
fn linked(a: &TestApi, b: &TestApi) -> bool {
    let key = fed(b).key().to_string();
    fed(a)
        .status()
        .unwrap()
        .peers
        .iter()
        .any(|p| p["key"].as_str() == Some(key.as_str()) && p["member"] == true)
}

/// El Paso's employer asks for Akron's candidate; Akron's operator accepts; the contact
/// reaches El Paso's employer, and only after the acceptance.
async fn introduce_across_spokes(el_paso: &TestApi, akron: &TestApi, profile: ProfileId) {
    let opening = el_paso.new_opening(el_paso.employer_id).await;
    let intro = ask(el_paso, profile, opening).await;
    let queued = arrived(akron).await;
    assert_eq!(queued["remote"]["community"], "El Paso");
    let waiting = check(
        el_paso
            .get(&format!("{INTRODUCTIONS}/{intro}"), &el_paso.employer)
            .await,
        StatusCode::OK,
    );
    assert!(waiting["contact"].is_null(), "before the answer: {waiting}");
    let home_id = queued["id"].as_u64().unwrap();
    check(
        akron
            .post(
                &format!("{INTRODUCTIONS}/{home_id}/outcome"),
                &akron.operator,
                json!({"outcome": "accepted", "share": ["email"]}),
            )
            .await,
        StatusCode::OK,
    );
    let seen = decided(el_paso, intro, &el_paso.employer).await;
    assert_eq!(seen["status"], "accepted");
    assert_eq!(seen["contact"]["email"], "ada@example.org");
    assert!(seen["contact"]["name"].is_null(), "not chosen: {seen}");
}

#[tokio::test]
async fn spokes_that_know_only_the_hub_introduce_to_each_other() {
    let (_steward, _hub, el_paso, akron) = spokes().await;
    let (_, profile) = shared_candidate(&akron).await;
    holds_live(&el_paso, profile).await;
    introduce_across_spokes(&el_paso, &akron, profile).await;
    // They found each other through the hub's address records and talk directly.
    assert!(linked(&el_paso, &akron) && linked(&akron, &el_paso));
    let status = fed(&el_paso).status().unwrap();
    assert_eq!(status.addresses_known, 3, "every member's addresses");
}

#[tokio::test]
async fn an_introduction_between_spokes_survives_the_hub_restarting_mid_way() {
    let (steward, mut hub, el_paso, akron) = spokes().await;
    let (_, profile) = shared_candidate(&akron).await;
    holds_live(&el_paso, profile).await;
    // The hub goes down before the request is made, and comes back while the request is on
    // its way.
    fed(&hub).shutdown().await;
    let opening = el_paso.new_opening(el_paso.employer_id).await;
    let intro = ask(&el_paso, profile, opening).await;
    hub.restart_federation(&steward, vec![]).await;
    let queued = arrived(&akron).await;
    let home_id = queued["id"].as_u64().unwrap();
    check(
        akron
            .post(
                &format!("{INTRODUCTIONS}/{home_id}/outcome"),
                &akron.operator,
                json!({"outcome": "accepted", "share": ["email"]}),
            )
            .await,
        StatusCode::OK,
    );
    let seen = decided(&el_paso, intro, &el_paso.employer).await;
    assert_eq!(seen["contact"]["email"], "ada@example.org");
}

#[tokio::test]
async fn spokes_that_met_reconnect_after_a_restart_while_the_hub_is_down() {
    let (steward, hub, mut el_paso, mut akron) = spokes().await;
    let (_, profile) = shared_candidate(&akron).await;
    holds_live(&el_paso, profile).await;
    eventually("the spokes learn each other's addresses", || async {
        (linked(&el_paso, &akron) && linked(&akron, &el_paso)).then_some(())
    })
    .await;
    // Everyone stops; the spokes come back with no bootstrap at all, the hub never does.
    fed(&hub).shutdown().await;
    el_paso.restart_federation(&steward, vec![]).await;
    akron.restart_federation(&steward, vec![]).await;
    eventually(
        "the spokes reconnect from the addresses they kept",
        || async { (linked(&el_paso, &akron) && linked(&akron, &el_paso)).then_some(()) },
    )
    .await;
    introduce_across_spokes(&el_paso, &akron, profile).await;
}
