//! Shared profiles and their tombstones in feeds: a tombstone replaces the profile on every
//! node, also on one that was down when it was published; the old profile offered again
//! afterwards is a replay. (Consent, scoped delivery and search come with issue 6.)

use std::time::Duration;

use techhire_protocol::{
    ProfileId, RecordKind, Scope, SharedProfile, SharedSkill, SignedRecord, Tombstone,
    TombstoneReason,
};

use crate::support::*;

fn profile(id: ProfileId) -> SharedProfile {
    SharedProfile {
        id,
        version: 1,
        home_community: "Akron, OH".into(),
        home_region: "OH".into(),
        scope: Scope::Federation,
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
