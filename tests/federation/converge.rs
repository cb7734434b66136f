//! Convergence: every record published anywhere reaches every member, after downtime and
//! partitions too, once each and in order.

use std::time::Duration;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_nodes_converge_on_every_record() {
    let steward = Steward::new();
    let hub = Member::start(&steward, "Birmingham, AL", vec![]).await;
    let mut members = vec![];
    for name in ["El Paso, TX", "Akron, OH", "Tulsa, OK", "Reno, NV"] {
        members.push(Member::start(&steward, name, vec![hub.addr()]).await);
    }
    members.insert(0, hub);
    let mut published = Vec::new();
    for m in &members {
        published.push((m.key.public(), m.publish(20).await));
    }
    let all: Vec<&Member> = members.iter().collect();
    wait_for(Duration::from_secs(60), || converged(&all, &published)).await;
    for m in &members {
        let status = m.status();
        assert_eq!(status.members.len(), 5, "{} knows every member", m.name);
        // In a healthy federation the only refusals are duplicates (gossip and sync both
        // deliver) and records that arrived before their origin's certificate (fetched
        // again by the next sync).
        let bad: Vec<_> = status
            .rejected
            .iter()
            .filter(|(r, n)| **n > 0 && !["replay", "not_member"].contains(r))
            .collect();
        assert!(bad.is_empty(), "{}: {bad:?}", m.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stopped_node_catches_up_after_restart() {
    let steward = Steward::new();
    let a = Member::start(&steward, "Birmingham, AL", vec![]).await;
    let b = Member::start(&steward, "El Paso, TX", vec![a.addr()]).await;
    let c = Member::start(&steward, "Akron, OH", vec![a.addr()]).await;
    let first = a.publish(5).await;
    wait_for(Duration::from_secs(60), || {
        converged(&[&a, &b, &c], &[(a.key.public(), first)])
    })
    .await;

    // C stops; A and B go on publishing; C's own acknowledged records survive the restart.
    let c_seq = c.publish(3).await;
    let c_key = c.key.public();
    let (key, dir, tmp) = c.stop().await;
    let a_last = a.publish(40).await;
    let b_last = b.publish(40).await;
    let c = Member::open(&steward, "Akron, OH", key, dir, tmp, vec![a.addr()]).await;
    assert_eq!(
        c.head_of(&c_key),
        c_seq,
        "acknowledged records survive a restart"
    );
    let published = [
        (a.key.public(), a_last),
        (b.key.public(), b_last),
        (c_key, c_seq),
    ];
    wait_for(Duration::from_secs(60), || {
        converged(&[&a, &b, &c], &published)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_partition_heals_with_nothing_lost_or_doubled() {
    let steward = Steward::new();
    // Two halves that do not know of each other: {a, b} and {c, d}.
    let a = Member::start(&steward, "Birmingham, AL", vec![]).await;
    let b = Member::start(&steward, "El Paso, TX", vec![a.addr()]).await;
    let c = Member::start(&steward, "Akron, OH", vec![]).await;
    let d = Member::start(&steward, "Tulsa, OK", vec![c.addr()]).await;
    let mut published = Vec::new();
    for m in [&a, &b, &c, &d] {
        published.push((m.key.public(), m.publish(15).await));
    }
    wait_for(Duration::from_secs(60), || {
        converged(&[&a, &b], &published[..2]) && converged(&[&c, &d], &published[2..])
    })
    .await;
    // Neither half has heard anything of the other.
    assert_eq!(a.head_of(&c.key.public()), 0);
    assert_eq!(d.head_of(&a.key.public()), 0);

    // The link comes back: b reaches c.
    b.federation.dial(c.addr()).await.unwrap();
    for m in [&a, &d] {
        m.publish(5).await;
    }
    let published: Vec<_> = [&a, &b, &c, &d]
        .iter()
        .map(|m| (m.key.public(), m.head_of(&m.key.public())))
        .collect();
    wait_for(Duration::from_secs(60), || {
        converged(&[&a, &b, &c, &d], &published)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn superseded_records_are_compacted_everywhere() {
    use techhire_protocol::{Bulletin, RecordKind};
    let steward = Steward::new();
    let a = Member::start(&steward, "Birmingham, AL", vec![]).await;
    let b = Member::start(&steward, "El Paso, TX", vec![a.addr()]).await;
    let edit = |version: u64| Bulletin {
        id: 7,
        title: format!("Job fair, version {version}"),
        body: String::new(),
    };
    for version in 1..=3 {
        a.federation
            .publish(RecordKind::BULLETIN, edit(version).encode())
            .await
            .unwrap();
    }
    let origin = a.key.public();
    let latest_only = |m: &Member| {
        let records = m.federation.records(&origin, 0).unwrap();
        records.len() == 1 && records[0].seq() == 3 && m.head_of(&origin) == 3
    };
    wait_for(Duration::from_secs(60), || {
        latest_only(&a) && latest_only(&b)
    })
    .await;
    // A member joining later fetches only the latest version, and still reaches the head.
    let c = Member::start(&steward, "Akron, OH", vec![b.addr()]).await;
    wait_for(Duration::from_secs(60), || latest_only(&c)).await;
    let kept = Bulletin::decode(c.federation.records(&origin, 0).unwrap()[0].payload()).unwrap();
    assert_eq!(kept.title, "Job fair, version 3");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_new_member_catches_up_a_long_feed_in_batches() {
    let steward = Steward::new();
    let a = Member::start(&steward, "Birmingham, AL", vec![]).await;
    // More than one sync batch (512 records).
    let last = a.publish(1_200).await;
    let b = Member::start(&steward, "El Paso, TX", vec![a.addr()]).await;
    wait_for(Duration::from_secs(60), || {
        converged(&[&b], &[(a.key.public(), last)])
    })
    .await;
}

/// Churn: 20 members join through one bootstrap, which then leaves for good; half of them
/// restart in turn (on new ports, with no bootstrap at all). Every node ends connected to
/// other members and holds every feed, the bootstrap's included.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_members_survive_their_bootstrap_leaving_and_restarts_in_turn() {
    let steward = Steward::new();
    let boot = Member::start(&steward, "Bootstrap, AL", vec![]).await;
    let mut members = Vec::new();
    for i in 0..20 {
        members.push(Member::start(&steward, &format!("Member {i}, TX"), vec![boot.addr()]).await);
    }
    let mut published = vec![(boot.key.public(), boot.publish(2).await)];
    for m in &members {
        published.push((m.key.public(), m.publish(2).await));
    }
    let connected = |m: &Member| m.status().peers.iter().any(|p| p["member"] == true);
    {
        let mut all: Vec<&Member> = members.iter().collect();
        all.push(&boot);
        wait_for(Duration::from_secs(120), || converged(&all, &published)).await;
    }
    boot.stop().await;
    for i in (0..members.len()).step_by(2) {
        let m = members.remove(i);
        let name = m.name.clone();
        let (key, dir, tmp) = m.stop().await;
        let back = Member::open(&steward, &name, key, dir, tmp, vec![]).await;
        let last = back.publish(1).await;
        published.retain(|(origin, _)| *origin != back.key.public());
        published.push((back.key.public(), last));
        members.insert(i, back);
    }
    let all: Vec<&Member> = members.iter().collect();
    wait_for(Duration::from_secs(180), || {
        all.iter().all(|m| connected(m)) && converged(&all, &published)
    })
    .await;
    for m in &members {
        assert!(
            m.status().addresses_known >= 20,
            "{} knows the members",
            m.name
        );
    }
}

/// More certificates and revocations than one `Membership` answer holds (512): a newcomer
/// pages through them all, and is admitted whichever page its peer's certificate is on.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn members_are_admitted_when_the_federation_has_over_512_certificates() {
    let steward = Steward::new();
    let old = Member::start(&steward, "Birmingham, AL", vec![]).await;
    let now = now_ms();
    let others: Vec<_> = (0..700)
        .map(|i| {
            steward.certify(
                &techhire_protocol::NodeKeypair::generate().public(),
                &format!("Community {i}"),
                now - DAY_MS,
                now + DAY_MS,
            )
        })
        .collect();
    old.store
        .commit(move |tx| {
            for c in &others {
                techhire_node::federation::keep_membership(tx, c)?;
            }
            Ok::<_, techhire_node::store::StoreError>(())
        })
        .await
        .unwrap();
    let held = techhire_node::federation::membership_records(&old.store)
        .unwrap()
        .len();
    assert!(held > 700, "{held}");
    let new = Member::start(&steward, "El Paso, TX", vec![old.addr()]).await;
    let member = |m: &Member| m.status().peers.iter().any(|p| p["member"] == true);
    wait_for(Duration::from_secs(60), || member(&new) && member(&old)).await;
    wait_for(Duration::from_secs(60), || {
        techhire_node::federation::membership_records(&new.store)
            .unwrap()
            .len()
            >= held
    })
    .await;
}
