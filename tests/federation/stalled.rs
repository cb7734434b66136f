//! Peers that take a connection and never become members: one that speaks the sync
//! protocol but never answers the membership question, one that does not speak it at all.
//! Both are disconnected (and counted as stalled) instead of staying connected for ever;
//! an oversized gossip frame is counted and leaves the sender's later gossip working.

use std::io;
use std::time::{Duration, Instant};

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, StreamExt};
use libp2p::request_response::{self, ProtocolSupport, ResponseChannel};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{identity, noise, ping, tcp, yamux, StreamProtocol};

use techhire_protocol::{NodeKeypair, MAX_RECORD_BYTES, SYNC_PROTOCOL};

use crate::support::*;

/// Reads sync requests and never answers them.
#[derive(Clone, Default)]
struct Mute;

#[async_trait::async_trait]
impl request_response::Codec for Mute {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        let mut bytes = Vec::new();
        io.take(1024).read_to_end(&mut bytes).await?;
        Ok(bytes)
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, _: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        Ok(Vec::new())
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        _: &mut T,
        _: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        Ok(())
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        _: &mut T,
        _: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        Ok(())
    }
}

#[derive(NetworkBehaviour)]
struct Silent {
    ping: ping::Behaviour,
    sync: request_response::Behaviour<Mute>,
}

/// A libp2p peer with an ed25519 identity that pings, and takes sync requests without
/// answering them if `speaks_sync`.
fn silent_peer(speaks_sync: bool) -> libp2p::Swarm<Silent> {
    let protocols = if speaks_sync {
        vec![(StreamProtocol::new(SYNC_PROTOCOL), ProtocolSupport::Full)]
    } else {
        Vec::new()
    };
    libp2p::SwarmBuilder::with_existing_identity(identity::Keypair::generate_ed25519())
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(|_| Silent {
            ping: ping::Behaviour::default(),
            sync: request_response::Behaviour::with_codec(
                Mute,
                protocols,
                request_response::Config::default().with_request_timeout(Duration::from_secs(600)),
            ),
        })
        .unwrap()
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(600)))
        .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn peers_that_never_answer_or_do_not_speak_sync_are_disconnected() {
    let steward = Steward::new();
    let member = Member::start(&steward, "Birmingham, AL", vec![]).await;
    for (n, speaks_sync) in [(1, true), (2, false)] {
        let mut peer = silent_peer(speaks_sync);
        peer.dial(member.addr()).unwrap();
        let mut held: Vec<ResponseChannel<Vec<u8>>> = Vec::new();
        let started = Instant::now();
        let mut connected = false;
        let closed = tokio::time::timeout(Duration::from_secs(60), async {
            loop {
                match peer.select_next_some().await {
                    SwarmEvent::ConnectionEstablished { .. } => connected = true,
                    SwarmEvent::ConnectionClosed { .. } => return,
                    // Asked the membership question: keep the channel, never answer.
                    SwarmEvent::Behaviour(SilentEvent::Sync(
                        request_response::Event::Message {
                            message: request_response::Message::Request { channel, .. },
                            ..
                        },
                    )) => held.push(channel),
                    _ => {}
                }
            }
        })
        .await;
        assert!(connected, "the peer connected (sync: {speaks_sync})");
        assert!(
            closed.is_ok(),
            "still connected after 60 s (sync: {speaks_sync})"
        );
        assert_eq!(
            !held.is_empty(),
            speaks_sync,
            "it was asked and held the question"
        );
        let took = started.elapsed();
        eprintln!("a peer (sync: {speaks_sync}) was disconnected after {took:?}");
        wait_for(Duration::from_secs(10), || {
            member.status().stalled_peers == n
        })
        .await;
        assert!(member.status().peers.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn oversized_gossip_frames_are_counted_and_later_gossip_still_arrives() {
    let steward = Steward::new();
    let honest = Member::start(&steward, "Birmingham, AL", vec![]).await;
    let sender = Member::start(&steward, "El Paso, TX", vec![honest.addr()]).await;
    let sender_key = NodeKeypair::from_seed(sender.key.seed());
    sender.publish(1).await;
    wait_for(Duration::from_secs(60), || {
        honest.head_of(&sender_key.public()) == 1
    })
    .await;
    // Above the record limit by more than gossipsub's frame allowance used to be: each of
    // these broke the sender's gossip stream, and after five the connection's gossip was
    // dropped without a word.
    for i in 1..=8u64 {
        sender
            .federation
            .gossip_unchecked(vec![i as u8; MAX_RECORD_BYTES + 4096])
            .await
            .unwrap();
        wait_for(Duration::from_secs(30), || {
            honest.rejected("oversized") == i
        })
        .await;
    }
    let last = sender.publish(3).await;
    wait_for(Duration::from_secs(30), || {
        honest.head_of(&sender_key.public()) == last
    })
    .await;
    assert_eq!(honest.status().peers.len(), 1, "still connected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rejection_counters_survive_a_restart() {
    let steward = Steward::new();
    let honest = Member::start(&steward, "Birmingham, AL", vec![]).await;
    let sender = Member::start(&steward, "El Paso, TX", vec![honest.addr()]).await;
    wait_for(Duration::from_secs(30), || {
        honest.status().peers.iter().any(|p| p["member"] == true)
    })
    .await;
    sender
        .federation
        .gossip_unchecked(vec![1, 2, 3])
        .await
        .unwrap();
    wait_for(Duration::from_secs(30), || {
        honest.rejected("undecodable") == 1
    })
    .await;
    // Stored at the next tick.
    wait_for(Duration::from_secs(30), || {
        honest
            .store
            .get_meta::<serde_json::Value>("federation_counters")
            .unwrap()
            .is_some_and(|c| c["rejected"]["undecodable"] == 1)
    })
    .await;
    let name = honest.name.clone();
    let (key, dir, tmp) = honest.stop().await;
    let back = Member::open(&steward, &name, key, dir, tmp, vec![]).await;
    assert_eq!(back.rejected("undecodable"), 1);
}
