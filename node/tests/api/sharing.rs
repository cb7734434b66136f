//! Consent → shared profile → tombstone on the home node, read back from the node's own
//! feed (what gossip and sync send), and the candidate's export and erasure.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::{json, Value};

use techhire_node::config::ProfilesSettings;
use techhire_node::federation::{feed, Federation, FederationConfig};
use techhire_node::sharing::{self, EndReason, Sharing};
use techhire_node::store::Table;
use techhire_protocol::{
    AnswerOutcome, DirectMessage, IntroAnswer, NodeKeypair, ProfileId, RecordKind, RefusalReason,
    Scope, SharedProfile, SignedRecord, Tombstone, TombstoneReason,
};

use crate::support::*;

const FEDERATION: &str = r#"{"policy_version": "2026-01", "scope": {"kind": "federation"}}"#;

fn consent(scope: Value) -> Value {
    json!({"policy_version": "2026-01", "scope": scope})
}

fn federation_consent() -> Value {
    serde_json::from_str(FEDERATION).unwrap()
}

fn item(id: u64) -> String {
    format!("/api/v1/candidates/{id}")
}

/// What the node's own feed holds under one profile id.
#[derive(Debug)]
enum Latest {
    Profile(Box<SharedProfile>),
    Tombstone(Tombstone),
}

/// The latest record of every profile id in the node's own feed.
fn feed_of(api: &TestApi) -> Vec<(SignedRecord, Latest)> {
    let own = api.federation.as_ref().expect("a joined node").key();
    feed::keyed(&api.store, &own, RecordKind::PROFILE)
        .unwrap()
        .into_iter()
        .map(|r| {
            let latest = match r.kind() {
                RecordKind::PROFILE => {
                    Latest::Profile(Box::new(SharedProfile::decode(r.payload()).unwrap()))
                }
                RecordKind::TOMBSTONE => Latest::Tombstone(Tombstone::decode(r.payload()).unwrap()),
                other => panic!("unexpected kind {other:?} under a profile key"),
            };
            (r, latest)
        })
        .collect()
}

fn profile(api: &TestApi, id: ProfileId) -> Option<SharedProfile> {
    feed_of(api).into_iter().find_map(|(_, l)| match l {
        Latest::Profile(p) if p.id == id => Some(*p),
        _ => None,
    })
}

fn tombstone(api: &TestApi, id: ProfileId) -> Option<TombstoneReason> {
    feed_of(api).into_iter().find_map(|(_, l)| match l {
        Latest::Tombstone(t) if t.id == id => Some(t.reason),
        _ => None,
    })
}

fn live_profiles(api: &TestApi) -> Vec<SharedProfile> {
    feed_of(api)
        .into_iter()
        .filter_map(|(_, l)| match l {
            Latest::Profile(p) => Some(*p),
            Latest::Tombstone(_) => None,
        })
        .collect()
}

fn own_head(api: &TestApi) -> u64 {
    let own = api.federation.as_ref().unwrap().key();
    feed::head(&api.store, &own).unwrap()
}

fn shared_id(api: &TestApi, candidate: u64) -> ProfileId {
    sharing::state_of(&api.store, candidate)
        .unwrap()
        .expect("a sharing state")
        .profile_id
}

async fn give(api: &TestApi, candidate: u64, body: Value) -> Value {
    check(
        api.put(&format!("{}/consent", item(candidate)), &api.operator, body)
            .await,
        StatusCode::OK,
    )
}

/// Polls until `ok` holds (for changes the API makes in the background); panics after 10 s.
async fn eventually(mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn consent_publishes_a_profile_and_changes_publish_new_versions_of_it() {
    let api = TestApi::joined().await;
    let id = api.new_candidate().await;
    assert!(
        feed_of(&api).is_empty(),
        "nothing is shared without consent"
    );
    assert!(sharing::state_of(&api.store, id).unwrap().is_none());

    give(&api, id, federation_consent()).await;
    let pid = shared_id(&api, id);
    let p = profile(&api, pid).expect("a profile in the feed");
    assert_eq!(p.version, 1);
    assert_eq!(p.home_community, COMMUNITY);
    assert_eq!(p.home_region, "TV", "the region of the node's certificate");
    assert_eq!(p.scope, Scope::Federation);
    assert_eq!(
        p.skills
            .iter()
            .map(|s| s.skill_id.as_str())
            .collect::<Vec<_>>(),
        ["python"]
    );
    assert_eq!((p.skills[0].level, p.skills[0].evidence), (2, 1));
    assert_eq!(p.work.len(), 1);
    assert_eq!(
        (p.work[0].title.as_str(), p.work[0].months),
        ("Cashier", 39)
    );
    assert_eq!(p.desired_roles, ["Junior developer"]);
    let day_ms = 86_400_000;
    let expected_expiry = techhire_node::federation::now_ms() + 180 * day_ms;
    assert!(p.expires_at_ms.abs_diff(expected_expiry) < 60_000);
    assert_eq!(sharing::candidate_of(&api.store, &pid).unwrap(), Some(id));
    assert_eq!(
        sharing::candidate_of(&api.store, &ProfileId::random()).unwrap(),
        None
    );

    // A change to the profile: version 2 under the same id, which replaces version 1.
    let mut body = candidate_body("Ada Example", "ada@example.org");
    body["profile"]["desired_roles"] = json!(["Data analyst"]);
    check(
        api.put(&item(id), &api.operator, body.clone()).await,
        StatusCode::OK,
    );
    let p = profile(&api, pid).expect("still shared");
    assert_eq!(
        (p.version, p.desired_roles.clone()),
        (2, vec!["Data analyst".to_string()])
    );
    assert_eq!(feed_of(&api).len(), 1, "one record per profile id");

    // A write that changes nothing shared (personal data only) publishes nothing.
    let head = own_head(&api);
    body["personal"]["phone"] = json!("+1 555 999 0000");
    check(
        api.put(&item(id), &api.operator, body).await,
        StatusCode::OK,
    );
    assert_eq!(own_head(&api), head);

    // An assessment (a generic route, followed in the background) is version 3.
    api.create("/api/v1/assessments", assessment_body(id, "Python"))
        .await;
    eventually(|| profile(&api, pid).is_some_and(|p| p.version == 3)).await;
    let p = profile(&api, pid).unwrap();
    assert_eq!(p.assessments.len(), 1);
    assert_eq!(
        (
            p.assessments[0].skill_id.as_str(),
            p.assessments[0].percent,
            p.assessments[0].year
        ),
        ("python", 80, 2024)
    );
    let state = sharing::state_of(&api.store, id).unwrap().unwrap();
    assert!(!state.pending && state.live());
    assert_eq!(state.version, 3);
}

#[tokio::test]
async fn withdrawal_tombstones_and_renewed_consent_gets_a_fresh_id() {
    let api = TestApi::joined().await;
    let id = api.new_candidate().await;
    give(&api, id, federation_consent()).await;
    let first = shared_id(&api, id);

    check(
        api.delete(&format!("{}/consent", item(id)), &api.operator)
            .await,
        StatusCode::OK,
    );
    assert_eq!(tombstone(&api, first), Some(TombstoneReason::Withdrawn));
    assert!(live_profiles(&api).is_empty());
    assert_eq!(sharing::candidate_of(&api.store, &first).unwrap(), None);
    let state = sharing::state_of(&api.store, id).unwrap().unwrap();
    assert_eq!(
        state.tombstone.map(|t| t.reason),
        Some(EndReason::Withdrawn)
    );

    // Updating a withdrawn candidate shares nothing.
    let head = own_head(&api);
    let mut body = candidate_body("Ada Example", "ada@example.org");
    body["profile"]["desired_roles"] = json!(["Data analyst"]);
    check(
        api.put(&item(id), &api.operator, body).await,
        StatusCode::OK,
    );
    assert_eq!(own_head(&api), head);

    give(&api, id, federation_consent()).await;
    let second = shared_id(&api, id);
    assert_ne!(second, first, "a tombstoned id is never used again");
    assert_eq!(profile(&api, second).map(|p| p.version), Some(1));
    assert_eq!(tombstone(&api, first), Some(TombstoneReason::Withdrawn));
    assert_eq!(
        sharing::candidate_of(&api.store, &second).unwrap(),
        Some(id)
    );
}

#[tokio::test]
async fn a_scope_change_tombstones_the_old_id_and_a_renewal_keeps_it() {
    let api = TestApi::joined().await;
    let id = api.new_candidate().await;
    give(&api, id, federation_consent()).await;
    let first = shared_id(&api, id);
    let expiry = profile(&api, first).unwrap().expires_at_ms;

    // The same scope again renews the consent: a new version with a later expiry.
    tokio::time::sleep(Duration::from_millis(5)).await;
    give(&api, id, federation_consent()).await;
    assert_eq!(shared_id(&api, id), first);
    let renewed = profile(&api, first).unwrap();
    assert_eq!(renewed.version, 2);
    assert!(renewed.expires_at_ms > expiry);

    give(
        &api,
        id,
        consent(json!({"kind": "regions", "regions": ["TX", "OH", "TX"]})),
    )
    .await;
    let second = shared_id(&api, id);
    assert_ne!(second, first);
    assert_eq!(tombstone(&api, first), Some(TombstoneReason::Withdrawn));
    let p = profile(&api, second).unwrap();
    assert_eq!(p.scope, Scope::Regions(vec!["OH".into(), "TX".into()]));
    assert_eq!(p.version, 1);

    // A consent the protocol could not carry is refused, naming the field.
    let many: Vec<String> = (0..21).map(|i| format!("R{i}")).collect();
    check_error(
        api.put(
            &format!("{}/consent", item(id)),
            &api.operator,
            consent(json!({"kind": "regions", "regions": many})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("scope.regions"),
    );
    check_error(
        api.put(
            &format!("{}/consent", item(id)),
            &api.operator,
            consent(json!({"kind": "regions", "regions": ["é".repeat(33)]})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("scope.regions[0]"),
    );
    assert_eq!(
        shared_id(&api, id),
        second,
        "a refused consent changes nothing"
    );
}

#[tokio::test]
async fn leaving_the_pipeline_and_deletion_tombstone_the_profile() {
    let api = TestApi::joined().await;
    let placed = api.new_candidate().await;
    let deleted = api.new_candidate().await;
    give(&api, placed, federation_consent()).await;
    give(&api, deleted, federation_consent()).await;
    let (p1, p2) = (shared_id(&api, placed), shared_id(&api, deleted));
    assert_eq!(live_profiles(&api).len(), 2);

    check(
        api.post(
            &format!("{}/stage", item(placed)),
            &api.operator,
            json!({"stage": "placed"}),
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(tombstone(&api, p1), Some(TombstoneReason::Withdrawn));

    check(
        api.delete(&item(deleted), &api.operator).await,
        StatusCode::NO_CONTENT,
    );
    assert_eq!(tombstone(&api, p2), Some(TombstoneReason::Deleted));
    assert!(sharing::state_of(&api.store, deleted).unwrap().is_none());
    assert_eq!(sharing::candidate_of(&api.store, &p2).unwrap(), None);
    assert!(api
        .store
        .lookup(Table::SharingByProfile, p2.as_bytes())
        .unwrap()
        .is_none());
    assert!(live_profiles(&api).is_empty());
}

#[tokio::test]
async fn an_expired_consent_is_tombstoned_by_the_sweep_until_renewed() {
    let api = TestApi::joined().await;
    let id = api.new_candidate().await;
    give(&api, id, federation_consent()).await;
    let first = shared_id(&api, id);
    let federation = api.federation.as_ref();

    let sweeper = Sharing::new(&ProfilesSettings {
        expiry_days: 30,
        sweep_interval_minutes: 60,
    });
    let now = chrono::Utc::now();
    // Before expiry (and with the default 180 days the profile was published with, the
    // sweep sees a changed expiry and publishes it).
    let report = sweeper
        .sweep(&api.store, federation, now + chrono::Duration::days(29))
        .await
        .unwrap();
    assert_eq!(
        (report.checked, report.published, report.tombstoned),
        (1, 1, 0)
    );
    let p = profile(&api, first).unwrap();
    assert_eq!(p.version, 2);
    let thirty_days_ms = 30 * 86_400_000;
    let given_ms = techhire_node::federation::now_ms();
    assert!(p.expires_at_ms.abs_diff(given_ms + thirty_days_ms) < 60_000);

    let report = sweeper
        .sweep(&api.store, federation, now + chrono::Duration::days(31))
        .await
        .unwrap();
    assert_eq!(
        (report.published, report.tombstoned, report.failed),
        (0, 1, 0)
    );
    assert_eq!(tombstone(&api, first), Some(TombstoneReason::Expired));
    let again = sweeper
        .sweep(&api.store, federation, now + chrono::Duration::days(32))
        .await
        .unwrap();
    assert_eq!((again.published, again.tombstoned), (0, 0), "idempotent");

    // Renewing the consent shares again under a fresh id.
    give(&api, id, federation_consent()).await;
    let second = shared_id(&api, id);
    assert_ne!(second, first);
    assert!(profile(&api, second).is_some());
}

#[tokio::test]
async fn without_a_federation_consent_is_recorded_and_the_first_sweep_after_joining_publishes_it() {
    let api = TestApi::new().await;
    let id = api.new_candidate().await;
    let given = give(&api, id, federation_consent()).await;
    assert!(given["consent"]["given_at"].is_string());
    assert!(sharing::state_of(&api.store, id).unwrap().is_none());

    // The node joins: a federation side on the same store, certified by a steward.
    let steward = NodeKeypair::generate();
    let key = NodeKeypair::generate();
    let config = FederationConfig::new(
        vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        vec![steward.public()],
    );
    let federation = Federation::start(api.store.clone(), key.clone(), config)
        .await
        .unwrap();
    let now = techhire_node::federation::now_ms();
    let cert = techhire_protocol::MembershipCert {
        member: key.public(),
        community: "Joined Later".into(),
        region: "OH".into(),
        not_before_ms: now - 3_600_000,
        not_after_ms: now + 86_400_000,
    }
    .sign(&steward, now);
    federation.admit_membership(cert).await.unwrap();

    let report = Sharing::default()
        .sweep(&api.store, Some(&federation), chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(report.published, 1);
    let records = feed::keyed(&api.store, &key.public(), RecordKind::PROFILE).unwrap();
    assert_eq!(records.len(), 1);
    let p = SharedProfile::decode(records[0].payload()).unwrap();
    assert_eq!(
        (p.home_community.as_str(), p.home_region.as_str()),
        ("Joined Later", "OH")
    );
    assert_eq!(sharing::candidate_of(&api.store, &p.id).unwrap(), Some(id));
    federation.shutdown().await;
}

/// Every JSON string in `value`, at any depth.
fn strings_in(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|v| strings_in(v, out)),
        Value::Object(o) => o.values().for_each(|v| strings_in(v, out)),
        _ => {}
    }
}

/// Checks the JSON Resume 1.0.0 shape of the parts we fill: types of every field used,
/// and ISO 8601 dates.
fn assert_json_resume(r: &Value) {
    let is_date = |v: &Value| {
        v.as_str().is_some_and(|s| {
            let parts: Vec<&str> = s.split('-').collect();
            (1..=3).contains(&parts.len())
                && parts[0].len() == 4
                && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()))
                && parts[1..].iter().all(|p| p.len() == 2)
        })
    };
    let strings = |o: &Value, keys: &[&str]| {
        for k in keys {
            if let Some(v) = o.get(k) {
                assert!(v.is_string(), "{k} is not a string: {o}");
            }
        }
    };
    let dates = |o: &Value, keys: &[&str]| {
        for k in keys {
            if let Some(v) = o.get(k) {
                assert!(is_date(v), "{k} is not an ISO 8601 date: {o}");
            }
        }
    };
    let allowed = [
        "$schema",
        "basics",
        "work",
        "volunteer",
        "education",
        "awards",
        "certificates",
        "publications",
        "skills",
        "languages",
        "interests",
        "references",
        "projects",
        "meta",
    ];
    for k in r.as_object().expect("an object").keys() {
        assert!(
            allowed.contains(&k.as_str()),
            "{k} is not a JSON Resume section"
        );
    }
    let basics = &r["basics"];
    strings(basics, &["name", "label", "email", "phone"]);
    strings(&basics["location"], &["city"]);
    for w in r["work"].as_array().expect("work is an array") {
        strings(w, &["name", "position", "summary"]);
        dates(w, &["startDate", "endDate"]);
    }
    for p in r["projects"].as_array().expect("projects is an array") {
        strings(p, &["name", "description", "url"]);
        assert!(p.get("keywords").is_none_or(Value::is_array));
    }
    for s in r["skills"].as_array().expect("skills is an array") {
        strings(s, &["name", "level"]);
        assert!(s["keywords"]
            .as_array()
            .is_some_and(|k| k.iter().all(Value::is_string)));
    }
    for c in r["certificates"]
        .as_array()
        .expect("certificates is an array")
    {
        strings(c, &["name", "issuer"]);
        dates(c, &["date"]);
    }
    for e in r["education"].as_array().expect("education is an array") {
        strings(e, &["institution", "area", "studyType"]);
        dates(e, &["startDate", "endDate"]);
    }
    let mut all = Vec::new();
    strings_in(r, &mut all);
    assert!(!all.is_empty());
}

#[tokio::test]
async fn the_export_holds_everything_the_node_has_on_the_candidate() {
    let api = TestApi::joined().await;
    let program = api.new_program().await;
    let mut body = candidate_body("Grace Export", "grace@example.org");
    body["profile"]["program_id"] = json!(program);
    body["profile"]["training_started_on"] = json!("2024-01-08");
    body["profile"]["projects"] =
        json!([{"name": "Food bank app", "url": "https://example.org/app", "skills": ["Python"]}]);
    body["profile"]["certificates"] =
        json!([{"name": "CompTIA A+", "issuer": "CompTIA", "issued_on": "2023-09-01"}]);
    let id = api.create("/api/v1/candidates", body).await;
    let assessment = api
        .create("/api/v1/assessments", assessment_body(id, "Python"))
        .await;
    let vetting = api
        .create("/api/v1/vetting", vetting_body(id, "recommend"))
        .await;
    check(
        api.post(
            &format!("{}/stage", item(id)),
            &api.operator,
            json!({"stage": "assessed", "note": "called Grace on Monday"}),
        )
        .await,
        StatusCode::OK,
    );
    give(&api, id, federation_consent()).await;
    // An employer's search shows them: the audit entry names them.
    check(
        api.get("/api/v1/search/candidates?skills=python", &api.employer)
            .await,
        StatusCode::OK,
    );
    let other = api.new_candidate().await;

    let export = check(
        api.get(&format!("{}/export", item(id)), &api.operator)
            .await,
        StatusCode::OK,
    );
    assert_eq!(export["personal"]["name"], "Grace Export");
    assert_eq!(export["personal"]["city"], "Smallville");
    assert_eq!(export["personal"]["segments"], json!(["veteran"]));
    assert_eq!(export["candidate"]["id"], id);
    // (The vetting interview moved her to `vetted` first, so the note is not entry 1.)
    let history = export["candidate"]["stage_history"].as_array().unwrap();
    assert!(
        history
            .iter()
            .any(|h| h["note"] == "called Grace on Monday"),
        "the operators' notes are part of what is held: {history:?}"
    );
    assert_eq!(
        export["candidate"]["consent_history"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(export["assessments"][0]["id"], assessment);
    assert_eq!(export["assessments"][0]["assessor"], "Volunteer Vic");
    assert_eq!(export["vetting"][0]["id"], vetting);
    assert_eq!(export["placements"], json!([]));
    assert_eq!(export["introductions"], json!([]));
    let audit = export["search_audit"].as_array().expect("audit entries");
    assert!(!audit.is_empty(), "the search audit names them: {export}");
    assert!(audit.iter().all(|a| a["candidates"]
        .as_array()
        .is_some_and(|c| c.contains(&json!(id)))));
    let pid = shared_id(&api, id);
    assert_eq!(export["sharing"]["profile_id"], pid.to_string());
    assert_eq!(export["shared_profile"]["kind"], "profile");
    assert_eq!(export["shared_profile"]["payload"]["id"], pid.to_string());
    assert_eq!(
        export["shared_profile"]["payload"]["training"]["program"],
        "Web Basics"
    );
    // Never a link in what was shared; the export keeps it.
    assert_eq!(
        export["shared_profile"]["payload"]["projects"][0],
        json!({"name": "Food bank app", "description": "", "skills": ["python"]})
    );

    let resume = &export["json_resume"];
    assert_json_resume(resume);
    assert_eq!(resume["basics"]["name"], "Grace Export");
    assert_eq!(resume["basics"]["email"], "grace@example.org");
    assert_eq!(resume["basics"]["phone"], "+1 555 123 4567");
    assert_eq!(resume["basics"]["location"]["city"], "Smallville");
    assert_eq!(resume["work"][0]["position"], "Cashier");
    assert_eq!(resume["work"][0]["startDate"], "2019-03-01");
    assert_eq!(resume["work"][0]["endDate"], "2022-06-30");
    assert_eq!(
        resume["skills"][0],
        json!({"name": "Python", "level": "Intermediate", "keywords": ["python"]})
    );
    assert_eq!(resume["projects"][0]["url"], "https://example.org/app");
    assert_eq!(resume["certificates"][0]["date"], "2023-09-01");
    assert_eq!(resume["education"][0]["institution"], "Code Forge");
    assert_eq!(resume["education"][0]["area"], "Web Basics");
    assert_eq!(resume["education"][0]["startDate"], "2024-01-08");

    // Another candidate's export holds nothing of this one.
    let theirs = check(
        api.get(&format!("{}/export", item(other)), &api.operator)
            .await,
        StatusCode::OK,
    );
    assert!(!theirs.to_string().contains("Grace"));
    assert!(theirs["sharing"].is_null() && theirs["shared_profile"].is_null());

    check_error(
        api.get(&format!("{}/export", item(9999)), &api.operator)
            .await,
        StatusCode::NOT_FOUND,
        None,
    );
    check_error(
        api.get(&format!("{}/export", item(id)), &api.reviewer)
            .await,
        StatusCode::FORBIDDEN,
        None,
    );
}

/// Every JSON value the store holds in the tables that hold records, as text.
fn every_record(api: &TestApi) -> Vec<(Table, u64, String)> {
    let tables = [
        Table::Community,
        Table::Employer,
        Table::Provider,
        Table::Program,
        Table::Candidate,
        Table::CandidatePersonal,
        Table::Opening,
        Table::Assessment,
        Table::Vetting,
        Table::Placement,
        Table::Outreach,
        Table::Introduction,
        Table::Shown,
        Table::Sharing,
    ];
    let mut out = Vec::new();
    for t in tables {
        for item in api.store.scan::<Value>(t) {
            let (id, v) = item.unwrap();
            out.push((t, id, v.to_string()));
        }
    }
    out
}

#[tokio::test]
async fn erasing_a_candidate_leaves_nothing_behind_and_tombstones_their_profile() {
    let api = TestApi::joined().await;
    let mut body = candidate_body("Erin Erasure", "erin.erasure@example.org");
    body["personal"]["phone"] = json!("+1 555 777 8888");
    body["personal"]["city"] = json!("Littletown");
    let id = api.create("/api/v1/candidates", body).await;
    api.create("/api/v1/assessments", assessment_body(id, "Python"))
        .await;
    api.create("/api/v1/vetting", vetting_body(id, "recommend"))
        .await;
    give(&api, id, federation_consent()).await;
    let pid = shared_id(&api, id);
    eventually(|| profile(&api, pid).is_some()).await;

    let traces = |api: &TestApi| {
        every_record(api)
            .into_iter()
            .filter(|(_, _, text)| {
                [
                    "Erin Erasure",
                    "erin.erasure@example.org",
                    "+1 555 777 8888",
                    "Littletown",
                ]
                .iter()
                .any(|needle| text.contains(needle))
                    || text.contains(&pid.to_string())
            })
            .map(|(t, id, _)| (t, id))
            .collect::<Vec<_>>()
    };
    // The check can fail: before erasure it finds them.
    assert_eq!(
        traces(&api),
        [(Table::CandidatePersonal, id), (Table::Sharing, id)]
    );
    // Another node's introduction request, accepted: the answer with their contact details
    // waits in the outbox for a node that is not connected.
    let (requester, intro) = incoming_request(&api, id).await;
    check(
        api.post(
            &format!("/api/v1/introductions/{intro}/outcome"),
            &api.operator,
            json!({"outcome": "accepted"}),
        )
        .await,
        StatusCode::OK,
    );
    let queued_traces = |api: &TestApi| {
        outbox(api)
            .into_iter()
            .map(|(_, m)| format!("{m:?}"))
            .filter(|text| {
                [
                    "Erin Erasure",
                    "erin.erasure@example.org",
                    "+1 555 777 8888",
                ]
                .iter()
                .any(|needle| text.contains(needle))
            })
            .count()
    };
    assert_eq!(queued_traces(&api), 1, "the queued acceptance carries them");

    check(
        api.delete(&item(id), &api.operator).await,
        StatusCode::NO_CONTENT,
    );
    assert_eq!(traces(&api), [], "traces of the erased candidate");
    // Nothing queued for another node carries them either: the acceptance was replaced by
    // a refusal without contact details.
    assert_eq!(
        queued_traces(&api),
        0,
        "contact details queued after erasure"
    );
    let to_requester: Vec<_> = outbox(&api)
        .into_iter()
        .filter(|(to, _)| *to == requester)
        .map(|(_, m)| m)
        .collect();
    assert!(
        matches!(
            to_requester.as_slice(),
            [DirectMessage::Answer(IntroAnswer {
                outcome: AnswerOutcome::Refused(RefusalReason::ProfileWithdrawn),
                note: None,
                ..
            })]
        ),
        "{to_requester:?}"
    );
    let by_candidate_id = every_record(&api)
        .into_iter()
        .filter(|(t, rid, text)| {
            (*rid == id
                && matches!(
                    t,
                    Table::Candidate | Table::CandidatePersonal | Table::Sharing
                ))
                || text.contains(&format!("\"candidate_id\":{id}"))
        })
        .collect::<Vec<_>>();
    assert_eq!(by_candidate_id, []);
    assert!(api
        .store
        .referrers(Table::Candidate, id)
        .unwrap()
        .is_empty());
    assert!(api
        .store
        .lookup(Table::SharingByProfile, pid.as_bytes())
        .unwrap()
        .is_none());
    // What went out is the tombstone: peers delete the profile.
    assert_eq!(tombstone(&api, pid), Some(TombstoneReason::Deleted));
    check_error(
        api.get(&format!("{}/export", item(id)), &api.operator)
            .await,
        StatusCode::NOT_FOUND,
        None,
    );
}
