//! Introductions across the federation, between two real nodes on loopback: an employer of
//! Birmingham asks for a candidate whose profile Akron shared; Akron's operator answers; the
//! contact details reach that employer only. Also: declines, withdrawn profiles, forged
//! direct messages, a home node that was down, and the placement notice.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::{json, Value};

use techhire_node::federation::direct::{find_profile, RemoteProfile};
use techhire_node::federation::{now_ms, Federation, FederationConfig};
use techhire_node::sharing;
use techhire_protocol::{
    Bulletin, DirectMessage, DirectReply, IntroAnswer, IntroRequest, NodeKeypair, ProfileId,
    RecordKind, RequestId, SignedRecord,
};

use crate::support::*;

const INTRODUCTIONS: &str = "/api/v1/introductions";

/// Polls `f` until it gives `Some`; panics after 20 s.
async fn eventually<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    mut f: impl FnMut() -> F,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
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
            json!({"policy_version": "2026-01", "scope": {"kind": "federation"}}),
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
