//! Shared profiles and their tombstones in feeds: a tombstone replaces the profile on every
//! node, also on one that was down when it was published; the old profile offered again
//! afterwards is a replay. A profile scoped to a region is delivered only to member nodes
//! of that region, by gossip and by sync, also to one that was down; others are never even
//! offered it, and refuse it when a misbehaving member forges a delivery.

use std::time::Duration;

use techhire_protocol::{
    ProfileId, RecordKind, Scope, SharedProfile, SharedSkill, SignedRecord, Tombstone,
    TombstoneReason,
};

use crate::support::*;

fn profile(id: ProfileId) -> SharedProfile {
    scoped(id, Scope::Federation)
}

fn scoped(id: ProfileId, scope: Scope) -> SharedProfile {
    SharedProfile {
        id,
        version: 1,
        home_community: "Akron, OH".into(),
        home_region: "OH".into(),
        scope,
        expires_at_ms: now_ms() + 180 * DAY_MS,
        skills: vec![SharedSkill {
            skill_id: "python".into(),
            level: 2,
            evidence: 4,
        }],
        assessments: vec![],
        training: None,
        certificates: vec![],
        work: vec![],
        projects: vec![],
        desired_roles: vec!["Data analyst".into()],
        desired_occupations: vec!["15-2051".into()],
        remote: 3,
        relocate: false,
    }
}

/// The kinds of the records `m` holds of `origin`'s feed, in order.
fn kinds(m: &Member, origin: &Member) -> Vec<RecordKind> {
    m.federation
        .records(&origin.key.public(), 0)
        .unwrap()
        .iter()
        .map(SignedRecord::kind)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tombstone_replaces_the_profile_everywhere_even_on_a_node_that_was_down() {
    let steward = Steward::new();
    let home = Member::start(&steward, "Akron, OH", vec![]).await;
    let up = Member::start(&steward, "Birmingham, AL", vec![home.addr()]).await;
    let down = Member::start(&steward, "El Paso, TX", vec![home.addr()]).await;

    let id = ProfileId::random();
    let shared = home
        .federation
        .publish(RecordKind::PROFILE, profile(id).encode())
        .await
        .unwrap();
    wait_for(Duration::from_secs(60), || {
        kinds(&up, &home) == [RecordKind::PROFILE] && kinds(&down, &home) == [RecordKind::PROFILE]
    })
    .await;

    // One node goes down; the candidate withdraws; the home node publishes the tombstone.
    let (key, dir, tmp) = down.stop().await;
    let tombstone = Tombstone {
        id,
        reason: TombstoneReason::Withdrawn,
    };
    home.federation
        .publish(RecordKind::TOMBSTONE, tombstone.encode())
        .await
        .unwrap();
    wait_for(Duration::from_secs(60), || {
        kinds(&up, &home) == [RecordKind::TOMBSTONE]
    })
    .await;
    assert_eq!(kinds(&home, &home), [RecordKind::TOMBSTONE]);

    // The profile offered again at its old place in the feed (re-signed: gossip drops a
    // message it has already seen before anyone checks it) is a replay: counted, not stored.
    let home_key = techhire_protocol::NodeKeypair::from_seed(home.key.seed());
    let again = SignedRecord::sign(
        &home_key,
        RecordKind::PROFILE,
        shared.seq(),
        now_ms(),
        profile(id).encode(),
    )
    .unwrap();
    let before = up.rejected("replay");
    home.federation
        .gossip_unchecked(again.encode())
        .await
        .unwrap();
    wait_for(Duration::from_secs(30), || up.rejected("replay") > before).await;
    assert_eq!(kinds(&up, &home), [RecordKind::TOMBSTONE]);

    // The node that was down catches up: the profile it held is gone, the tombstone kept.
    let back = Member::open(&steward, "El Paso, TX", key, dir, tmp, vec![home.addr()]).await;
    wait_for(Duration::from_secs(60), || {
        kinds(&back, &home) == [RecordKind::TOMBSTONE]
    })
    .await;
    let held = back.federation.records(&home.key.public(), 0).unwrap();
    assert_eq!(Tombstone::decode(held[0].payload()).unwrap().id, id);
}

/// The profile ids `m` holds as profiles (not tombstones) of `origin`'s feed.
fn profile_ids(m: &Member, origin: &Member) -> Vec<ProfileId> {
    m.federation
        .records(&origin.key.public(), 0)
        .unwrap()
        .iter()
        .filter(|r| r.kind() == RecordKind::PROFILE)
        .map(|r| SharedProfile::decode(r.payload()).unwrap().id)
        .collect()
}

/// The tombstoned ids `m` holds of `origin`'s feed.
fn tombstone_ids(m: &Member, origin: &Member) -> Vec<ProfileId> {
    m.federation
        .records(&origin.key.public(), 0)
        .unwrap()
        .iter()
        .filter(|r| r.kind() == RecordKind::TOMBSTONE)
        .map(|r| Tombstone::decode(r.payload()).unwrap().id)
        .collect()
}

/// Every profile `m` holds, of any origin, that is scoped to regions without `region`.
fn out_of_scope_held(m: &Member, region: &str) -> usize {
    techhire_node::federation::heads(&m.store)
        .unwrap()
        .iter()
        .flat_map(|(origin, _)| m.federation.records(origin, 0).unwrap())
        .filter(|r| r.kind() == RecordKind::PROFILE)
        .filter(|r| !SharedProfile::decode(r.payload()).unwrap().in_scope(region))
        .count()
}

/// The lag `m` reports for `origin`'s feed: how far its head is behind the highest head a
/// peer announced. Zero means no peer promised it records it was not then given.
fn lag(m: &Member, origin: &Member) -> u64 {
    let origin = origin.key.public().to_string();
    m.status()
        .feeds
        .iter()
        .find(|f| f.origin == origin)
        .map_or(0, |f| f.lag)
}

fn ohio() -> Scope {
    Scope::Regions(vec!["OH".into()])
}

/// Long enough for many sync rounds (support's `sync_interval` is 400 ms) on a loaded machine.
const SYNC_ROUNDS: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_profile_scoped_to_a_region_reaches_that_region_only() {
    let steward = Steward::new();
    // home — relay — late, and the outsider connected to both: the late node hears of the
    // home node's records only through the relay, by gossip and by sync; the outsider is
    // offered whatever either would wrongly send it.
    let home = Member::start_in(&steward, "Akron, OH", "OH", vec![]).await;
    let relay = Member::start_in(&steward, "Dayton, OH", "OH", vec![home.addr()]).await;
    let outsider = Member::start_in(
        &steward,
        "Birmingham, AL",
        "AL",
        vec![relay.addr(), home.addr()],
    )
    .await;
    let late = Member::start_in(&steward, "Toledo, OH", "OH", vec![relay.addr()]).await;

    // Everyone is connected once a bulletin has gone round.
    let bulletin = home.publish(1).await;
    wait_for(Duration::from_secs(90), || {
        [&relay, &outsider, &late]
            .iter()
            .all(|m| m.head_of(&home.key.public()) == bulletin)
    })
    .await;

    // A federation profile, then one for Ohio only: the outsider's feed of the home node
    // ends with a record it may not hold.
    let everyone = ProfileId::random();
    let ohio_only = ProfileId::random();
    home.federation
        .publish(RecordKind::PROFILE, profile(everyone).encode())
        .await
        .unwrap();
    home.federation
        .publish(RecordKind::PROFILE, scoped(ohio_only, ohio()).encode())
        .await
        .unwrap();
    wait_for(Duration::from_secs(90), || {
        profile_ids(&relay, &home) == [everyone, ohio_only]
            && profile_ids(&late, &home) == [everyone, ohio_only]
            && profile_ids(&outsider, &home) == [everyone]
    })
    .await;
    tokio::time::sleep(SYNC_ROUNDS).await;
    assert_eq!(profile_ids(&outsider, &home), [everyone]);
    assert_eq!(out_of_scope_held(&outsider, "AL"), 0);
    // Never offered, rather than refused on arrival; and never promised by `Heads`.
    assert_eq!(outsider.rejected("out_of_scope"), 0);
    assert_eq!(lag(&outsider, &home), 0);

    // The outsider and the late node go down; more goes out meanwhile.
    let (out_key, out_dir, out_tmp) = outsider.stop().await;
    let (late_key, late_dir, late_tmp) = late.stop().await;
    let second = ProfileId::random();
    let also_everyone = ProfileId::random();
    home.federation
        .publish(RecordKind::PROFILE, scoped(second, ohio()).encode())
        .await
        .unwrap();
    home.federation
        .publish(RecordKind::PROFILE, profile(also_everyone).encode())
        .await
        .unwrap();
    wait_for(Duration::from_secs(90), || {
        profile_ids(&relay, &home) == [everyone, ohio_only, second, also_everyone]
    })
    .await;

    // Back: the Ohio node catches up on both, the Alabama node on the federation one only.
    let outsider = Member::open(
        &steward,
        "Birmingham, AL",
        out_key,
        out_dir,
        out_tmp,
        vec![relay.addr(), home.addr()],
    )
    .await;
    let late = Member::open(
        &steward,
        "Toledo, OH",
        late_key,
        late_dir,
        late_tmp,
        vec![relay.addr()],
    )
    .await;
    wait_for(Duration::from_secs(90), || {
        profile_ids(&late, &home) == [everyone, ohio_only, second, also_everyone]
            && profile_ids(&outsider, &home) == [everyone, also_everyone]
    })
    .await;
    tokio::time::sleep(SYNC_ROUNDS).await;
    assert_eq!(profile_ids(&outsider, &home), [everyone, also_everyone]);
    assert_eq!(out_of_scope_held(&outsider, "AL"), 0);
    assert_eq!(outsider.rejected("out_of_scope"), 0);
    assert_eq!(lag(&outsider, &home), 0);

    // A misbehaving Ohio member pushes an Ohio profile of its own at the outsider on the
    // main topic: refused and counted, not stored.
    let relay_key = techhire_protocol::NodeKeypair::from_seed(relay.key.seed());
    let forged = SignedRecord::sign(
        &relay_key,
        RecordKind::PROFILE,
        relay.head_of(&relay.key.public()) + 1,
        now_ms(),
        scoped(ProfileId::random(), ohio()).encode(),
    )
    .unwrap();
    relay
        .federation
        .gossip_unchecked(forged.encode())
        .await
        .unwrap();
    wait_for(Duration::from_secs(60), || {
        outsider.rejected("out_of_scope") > 0
    })
    .await;
    assert!(outsider
        .federation
        .records(&relay.key.public(), 0)
        .unwrap()
        .is_empty());
    assert_eq!(out_of_scope_held(&outsider, "AL"), 0);

    // The tombstone of the Ohio profile goes to everyone, the outsider included (it may
    // hold a copy from elsewhere, and the tombstone says nothing but a random id).
    home.federation
        .publish(
            RecordKind::TOMBSTONE,
            Tombstone {
                id: ohio_only,
                reason: TombstoneReason::Withdrawn,
            }
            .encode(),
        )
        .await
        .unwrap();
    wait_for(Duration::from_secs(90), || {
        [&relay, &late, &outsider]
            .iter()
            .all(|m| tombstone_ids(m, &home) == [ohio_only])
    })
    .await;
    assert_eq!(
        profile_ids(&relay, &home),
        [everyone, second, also_everyone]
    );
    assert_eq!(profile_ids(&outsider, &home), [everyone, also_everyone]);

    // The home node signs the withdrawn id again at a new sequence (re-signed: gossip drops
    // a message it has seen before checking it): refused as a replay, the id stays dead.
    let home_key = techhire_protocol::NodeKeypair::from_seed(home.key.seed());
    let revived = SignedRecord::sign(
        &home_key,
        RecordKind::PROFILE,
        home.head_of(&home.key.public()) + 1,
        now_ms(),
        profile(ohio_only).encode(),
    )
    .unwrap();
    let before = relay.rejected("replay");
    home.federation
        .gossip_unchecked(revived.encode())
        .await
        .unwrap();
    wait_for(Duration::from_secs(60), || {
        relay.rejected("replay") > before
    })
    .await;
    tokio::time::sleep(SYNC_ROUNDS).await;
    for m in [&relay, &late, &outsider] {
        assert!(!profile_ids(m, &home).contains(&ohio_only), "{}", m.name);
        assert_eq!(tombstone_ids(m, &home), [ohio_only], "{}", m.name);
        // Not held under any form: the feed never took its sequence either.
        assert!(
            m.head_of(&home.key.public()) < revived.seq(),
            "{} holds the revived record",
            m.name
        );
    }
}
