//! Every kind of bad record a member can gossip is rejected, counted and never stored; a
//! node that is not a member is disconnected.

use std::time::Duration;

use techhire_protocol::{
    Bulletin, NodeKeypair, RecordKind, Revocation, SignedRecord, MAX_RECORD_BYTES,
};

use crate::support::*;

fn bulletin(key: &NodeKeypair, seq: u64, at: u64) -> SignedRecord {
    let b = Bulletin {
        id: seq,
        title: "Open house".into(),
        body: String::new(),
    };
    b.sign(key, seq, at)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_records_are_rejected_counted_and_never_stored() {
    let steward = Steward::new();
    let honest = Member::start(&steward, "Birmingham, AL", vec![]).await;
    let rogue = Member::start(&steward, "El Paso, TX", vec![honest.addr()]).await;
    // The rogue is a member in good standing at first: one good record gets through.
    rogue.publish(1).await;
    let rogue_key = NodeKeypair::from_seed(rogue.key.seed());
    wait_for(Duration::from_secs(60), || {
        honest.head_of(&rogue_key.public()) == 1
    })
    .await;

    let now = now_ms();
    let stranger = NodeKeypair::generate();
    let expired = NodeKeypair::generate();
    honest
        .federation
        .admit_membership(steward.certify(
            &expired.public(),
            "Gone, OK",
            now - 3 * DAY_MS,
            now - DAY_MS,
        ))
        .await
        .unwrap();

    let mut tampered = bulletin(&rogue_key, 2, now).encode();
    let last = tampered.len() - 70;
    tampered[last] ^= 0x01;
    // A record claiming to be the honest node's, signed by the rogue.
    let mut forged = bulletin(&rogue_key, 1, now).encode();
    forged[3..35].copy_from_slice(honest.key.public().as_bytes());
    let undecodable_payload =
        SignedRecord::sign(&rogue_key, RecordKind::BULLETIN, 2, now, vec![0xff; 9]).unwrap();
    let unknown_kind = SignedRecord::sign(&rogue_key, RecordKind(999), 2, now, vec![]).unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("bad_signature", tampered),
        ("bad_signature", forged),
        ("not_member", bulletin(&stranger, 1, now).encode()),
        ("expired", bulletin(&expired, 1, now).encode()),
        ("replay", bulletin(&rogue_key, 1, now).encode()),
        ("oversized", vec![7u8; MAX_RECORD_BYTES + 100]),
        (
            "future_timestamp",
            bulletin(&rogue_key, 2, now + 3600 * 1000).encode(),
        ),
        ("bad_payload", undecodable_payload.encode()),
        ("unknown_kind", unknown_kind.encode()),
        ("undecodable", vec![1, 2, 3]),
    ];
    for (reason, bytes) in &cases {
        let before = honest.rejected(reason);
        rogue
            .federation
            .gossip_unchecked(bytes.clone())
            .await
            .unwrap();
        wait_for(Duration::from_secs(30), || honest.rejected(reason) > before).await;
    }
    // Nothing of it was stored: the honest node holds the rogue's one good record, and no
    // feed of the stranger, the expired member, or a second record of its own.
    assert_eq!(honest.head_of(&rogue_key.public()), 1);
    assert_eq!(honest.head_of(&stranger.public()), 0);
    assert_eq!(honest.head_of(&expired.public()), 0);
    assert_eq!(honest.head_of(&honest.key.public()), 0);

    // Revoked: once the steward's revocation is in, the rogue's new records are refused.
    let revocation = Revocation {
        member: rogue_key.public(),
        effective_ms: now_ms(),
        reason: "key lost".into(),
    }
    .sign(&steward.key, now_ms());
    honest
        .federation
        .admit_membership(revocation)
        .await
        .unwrap();
    // The honest node drops the revoked peer at its next membership check, and stores
    // nothing of it after its one good record.
    wait_for(Duration::from_secs(30), || honest.status().peers.is_empty()).await;
    assert_eq!(honest.head_of(&rogue_key.public()), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_without_a_certificate_is_disconnected() {
    let steward = Steward::new();
    let member = Member::start(&steward, "Birmingham, AL", vec![]).await;
    member.publish(3).await;
    // An outsider: trusts the same steward, but holds no certificate of its own.
    let outsider_dir = tempfile::TempDir::new().unwrap();
    let outsider = Member::open(
        &steward,
        "Nowhere",
        NodeKeypair::generate(),
        outsider_dir.path().join("db"),
        Some(outsider_dir),
        vec![member.addr()],
    )
    .await;
    wait_for(Duration::from_secs(30), || {
        member.rejected("not_member") > 0
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    // It learned nothing of the member's feed.
    assert_eq!(outsider.head_of(&member.key.public()), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_gossip_flood_does_not_stop_the_node_serving_http() {
    let steward = Steward::new();
    let honest = Member::start(&steward, "Birmingham, AL", vec![]).await;
    let rogue = Member::start(&steward, "El Paso, TX", vec![honest.addr()]).await;
    rogue.publish(1).await;
    let rogue_key = NodeKeypair::from_seed(rogue.key.seed());
    wait_for(Duration::from_secs(60), || {
        honest.head_of(&rogue_key.public()) == 1
    })
    .await;

    // The honest node serves its API over real HTTP, with its federation in the state.
    let state = techhire_node::server::state(
        honest.store.clone(),
        honest.key.public().to_string(),
        std::sync::Arc::new(techhire_node::skills::Taxonomy::builtin().clone()),
        Some(honest.federation.clone()),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/healthz", listener.local_addr().unwrap());
    tokio::spawn(techhire_node::server::serve(
        listener,
        state,
        std::future::pending(),
    ));

    // Replays: signed by a member, so they are verified before being refused, and not
    // penalised (an honest peer can relay a duplicate), so the flood is not cut off.
    let flood = tokio::spawn({
        let rogue = rogue.federation.clone();
        let key = NodeKeypair::from_seed(rogue_key.seed());
        async move {
            let start = now_ms();
            for i in 0..5_000u64 {
                rogue
                    .gossip_unchecked(bulletin(&key, 1, start - i).encode())
                    .await
                    .unwrap();
            }
        }
    });
    // Health checks all the while the node works through the flood.
    let client = reqwest::Client::new();
    let mut slowest = Duration::ZERO;
    let mut checks = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while honest.rejected("replay") < 4_000 {
        assert!(
            std::time::Instant::now() < deadline,
            "the flood never arrived"
        );
        let t = std::time::Instant::now();
        let response = client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        slowest = slowest.max(t.elapsed());
        checks += 1;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    flood.await.unwrap();
    assert!(checks > 0);
    assert!(
        slowest < Duration::from_secs(1),
        "health checks waited {slowest:?} during the flood"
    );
    assert_eq!(honest.head_of(&rogue_key.public()), 1);
}
