//! Candidate search at scale: index rebuild (cold start), query latency inside the server,
//! and HTTP throughput and latency with keep-alive, over `techhire seed` data.
//!
//! `cargo bench -p techhire-node --bench search`. Settings (environment):
//! - `BENCH_CANDIDATES` (default 1,000,000): how many candidates to seed;
//! - `BENCH_DIR`: a node folder to keep between runs (seeded on the first run only), since
//!   seeding a million candidates takes about two minutes; a temporary one otherwise;
//! - `BENCH_SECONDS` (default 10): the length of each HTTP phase;
//! - `BENCH_CACHE_MB`: sled's page cache (`storage.cache_capacity_mb`; the node's default
//!   otherwise);
//! - `BENCH_REMOTE` (default 0): shared profiles of other member nodes to hold as well
//!   (federated search). They are made from random seeded candidates' skills, signed by nine
//!   other origins and stored in their feeds as sync stores them (once per `BENCH_DIR`), so
//!   the cold start reads them back as `techhire run` does. `BENCH_CANDIDATES=100000
//!   BENCH_REMOTE=900000` is a million profiles, 90% remote.
//!
//! Queries are drawn like real ones: the skills of a random seeded candidate (1 to 5 of
//! them, at random minimum levels; a quarter with an evidence filter, a tenth remote-only),
//! so that most queries have answers, as employers' queries do.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use reqwest::header::AUTHORIZATION;
use tower::ServiceExt;

use techhire_node::auth::{self, Role, Token};
use techhire_node::federation::feed;
use techhire_node::index::{self, Search, SkillFilter};
use techhire_node::matching::{Demand, SkillKey, Supply};
use techhire_node::model::{Candidate, Evidence, Level, Opening, Record, RemotePreference};
use techhire_node::skills::Taxonomy;
use techhire_node::store::{Store, StoreOptions, Table};
use techhire_node::{node_dir, seed, server};
use techhire_protocol::{NodeKeypair, ProfileId, Scope, SharedProfile, SharedSkill, SharedWork};

/// Concurrent connections of the throughput phase.
const CLIENTS: usize = 32;
/// Queries timed inside the server.
const INNER_QUERIES: usize = 20_000;
const TOP: usize = 20;

fn main() {
    let candidates: u64 = env_or("BENCH_CANDIDATES", 1_000_000);
    let seconds: f64 = env_or("BENCH_SECONDS", 10.0);
    let tmp = tempfile::tempdir().expect("a temporary folder");
    let dir = std::env::var_os("BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| tmp.path().join("node"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .thread_name("server")
        .enable_all()
        .build()
        .expect("server runtime");
    let taxonomy = Arc::new(Taxonomy::builtin().clone());

    if !dir.join("db").exists() {
        let started = Instant::now();
        let created = rt
            .block_on(node_dir::init(
                &dir,
                "Bench County, AL",
                Some("AL"),
                &StoreOptions::default(),
            ))
            .expect("creating the node");
        let opts = seed::SeedOptions {
            candidates,
            employers: (candidates / 500).clamp(10, 2_000),
            openings: (candidates / 200).clamp(20, 5_000),
            seed: 42,
        };
        seed::seed(&created.store, &taxonomy, &opts, |p| eprintln!("{p}")).expect("seeding");
        created.store.flush().expect("flush");
        drop(created);
        println!(
            "seeded {candidates} candidates in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }

    let remote: u64 = env_or("BENCH_REMOTE", 0);
    if remote > 0 {
        let (store, _) = node_dir::open_store(&dir, &StoreOptions::default()).expect("open");
        if feed::heads(&store).expect("heads").is_empty() {
            let started = Instant::now();
            store_remote_profiles(&store, &taxonomy, candidates, remote);
            store.flush().expect("flush");
            println!(
                "stored {remote} remote profiles in {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
    }

    // Cold start: open the store and build the state (pseudonym key, index rebuild), as
    // `techhire run` does before it listens.
    let rss_before = rss_mb();
    let started = Instant::now();
    let defaults = StoreOptions::default();
    let opts = StoreOptions {
        verify_on_open: false,
        cache_capacity: env_or("BENCH_CACHE_MB", defaults.cache_capacity / (1024 * 1024))
            * 1024
            * 1024,
    };
    let (store, _) = node_dir::open_store(&dir, &opts).expect("opening the node");
    let key = node_dir::read_key(&dir).expect("the node key");
    let state = server::state(
        store.clone(),
        key.public().to_string(),
        taxonomy.clone(),
        None,
    )
    .expect("state");
    let cold = started.elapsed();
    let index = state.index.clone();
    println!(
        "\ncold start (open + index rebuild): {:.1} s; {} candidates indexed ({} remote); \
         index ≈ {} MB; process RSS {} → {} MB",
        cold.as_secs_f64(),
        index.len(),
        index.remote_len(),
        index.memory_bytes() / (1024 * 1024),
        rss_before,
        rss_mb()
    );

    let mut rng = ChaCha8Rng::seed_from_u64(7);
    // Seeded ids are 1 to N.
    let searches = draw_searches(
        &store,
        index.len() - index.remote_len(),
        &taxonomy,
        &mut rng,
        2_000,
    );

    // Inside the server: the index alone, then the whole handler through the router.
    let mut by_skills: Vec<Vec<Duration>> = vec![Vec::new(); 6];
    let mut all = Vec::with_capacity(INNER_QUERIES);
    let mut found = 0u64;
    for i in 0..INNER_QUERIES {
        let (search, _) = &searches[i % searches.len()];
        let t = Instant::now();
        let r = index.search(search, TOP);
        let took = t.elapsed();
        found += r.total.min(1);
        all.push(took);
        by_skills[search.skills.len()].push(took);
    }
    println!(
        "\nindex.search, top {TOP}, one thread, {INNER_QUERIES} queries ({:.0}% with results):",
        100.0 * found as f64 / INNER_QUERIES as f64
    );
    println!(
        "{:<14} {:>8} {:>9} {:>9} {:>9}",
        "skills", "queries", "p50 ms", "p99 ms", "max ms"
    );
    for (n, l) in by_skills.iter_mut().enumerate().skip(1) {
        print_row(&n.to_string(), l);
    }
    print_row("all", &mut all);

    let openings = opening_demands(&store, &taxonomy);
    let mut matches = Vec::new();
    for i in 0..2_000.min(openings.len() * 20) {
        let t = Instant::now();
        index.matches(&openings[i % openings.len()], TOP);
        matches.push(t.elapsed());
    }
    print_row("opening matches", &mut matches);

    let (_, employer_token) = rt
        .block_on(auth::create_token(
            &store,
            Token {
                role: Role::Employer,
                employer_id: Some(1),
                label: "search bench".into(),
                account_id: None,
                expires_at: None,
                revoked_at: None,
            },
        ))
        .expect("an employer token");
    let (_, operator_token) = rt
        .block_on(auth::create_token(
            &store,
            Token {
                role: Role::Operator,
                employer_id: None,
                label: "search bench".into(),
                account_id: None,
                expires_at: None,
                revoked_at: None,
            },
        ))
        .expect("an operator token");
    let router = techhire_node::http::router(state.clone());
    let mut handler = Vec::new();
    rt.block_on(async {
        for i in 0..5_000 {
            let (_, query) = &searches[i % searches.len()];
            let request = axum::http::Request::get(format!("/api/v1/search/candidates?{query}"))
                .header("authorization", format!("Bearer {employer_token}"))
                .body(axum::body::Body::empty())
                .expect("a request");
            let t = Instant::now();
            let response = router.clone().oneshot(request).await.expect("an answer");
            assert_eq!(response.status(), 200);
            axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .expect("a body");
            handler.push(t.elapsed());
        }
    });
    println!(
        "\nwhole handler in-process (token check, blind page, durable audit entry), one at a time:"
    );
    print_row("handler", &mut handler);

    // Over HTTP on loopback with keep-alive: first as fast as CLIENTS connections go, then
    // open-loop at 70% of that rate, timing each request from when it was due.
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let addr = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding 127.0.0.1:0");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(server::serve(listener, state, async {
            let _ = stopped.await;
        }));
        addr
    });
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .thread_name("client")
        .enable_all()
        .build()
        .expect("client runtime");
    let urls: Arc<[String]> = searches
        .iter()
        .map(|(_, q)| format!("http://{addr}/api/v1/search/candidates?{q}"))
        .collect();
    let auth = format!("Bearer {employer_token}");
    let length = Duration::from_secs_f64(seconds);
    let (rate, mut closed) = client_rt.block_on(closed_loop(&urls, &auth, length));
    println!("\nHTTP, {CLIENTS} keep-alive connections, employer token (audited):");
    println!(
        "{:<22} {:>9} {:>9} {:>9}",
        "phase", "q/s", "p50 ms", "p99 ms"
    );
    println!(
        "{:<22} {:>9.0} {:>9.2} {:>9.2}",
        "as fast as possible",
        rate,
        pct(&mut closed, 0.50),
        pct(&mut closed, 0.99)
    );
    let target = rate * 0.7;
    let (achieved, mut open) = client_rt.block_on(open_loop(&urls, &auth, target, length));
    println!(
        "{:<22} {:>9.0} {:>9.2} {:>9.2}",
        format!("open loop at {target:.0}/s"),
        achieved,
        pct(&mut open, 0.50),
        pct(&mut open, 0.99)
    );
    let operator = format!("Bearer {operator_token}");
    let (rate, mut closed) = client_rt.block_on(closed_loop(&urls, &operator, length));
    println!(
        "{:<22} {:>9.0} {:>9.2} {:>9.2}",
        "operator (no audit)",
        rate,
        pct(&mut closed, 0.50),
        pct(&mut closed, 0.99)
    );
    let _ = stop.send(());
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} must be a number"))
        })
        .unwrap_or(default)
}

fn rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

/// Searches made from random seeded candidates' skills, with their query strings.
fn draw_searches(
    store: &Store,
    max_id: u64,
    taxonomy: &Taxonomy,
    rng: &mut ChaCha8Rng,
    n: usize,
) -> Vec<(Search, String)> {
    let levels = [
        Level::Beginner,
        Level::Intermediate,
        Level::Advanced,
        Level::Expert,
    ];
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let id = rng.gen_range(1..=max_id);
        let Some(c) = store
            .get::<Record<Candidate>>(Table::Candidate, id)
            .expect("read")
        else {
            continue;
        };
        let mut ids: Vec<String> = c
            .data
            .profile
            .skills
            .iter()
            .filter_map(|s| s.skill_id.clone())
            .collect();
        ids.dedup();
        if ids.is_empty() {
            continue;
        }
        ids.shuffle(rng);
        ids.truncate(rng.gen_range(1..=5));
        let skills: Vec<SkillFilter> = ids
            .iter()
            .map(|id| SkillFilter {
                skill: SkillKey::Id(id.clone()),
                min_level: levels[rng.gen_range(0..3)],
            })
            .collect();
        let min_evidence = rng.gen_bool(0.25).then_some(Evidence::Project);
        let remote = rng.gen_bool(0.1);
        let mut query = format!(
            "skills={}",
            skills
                .iter()
                .map(|f| format!("{}:{}", f.skill.as_str(), level_name(f.min_level)))
                .collect::<Vec<_>>()
                .join(",")
        );
        if min_evidence.is_some() {
            query.push_str("&evidence=project");
        }
        if remote {
            query.push_str("&remote=true");
        }
        debug_assert!(taxonomy.get(&ids[0]).is_some());
        out.push((
            Search {
                skills,
                min_evidence,
                remote,
            },
            query,
        ));
    }
    out
}

fn level_name(l: Level) -> &'static str {
    match l {
        Level::Beginner => "beginner",
        Level::Intermediate => "intermediate",
        Level::Advanced => "advanced",
        Level::Expert => "expert",
    }
}

fn opening_demands(store: &Store, taxonomy: &Taxonomy) -> Vec<Demand> {
    store
        .scan::<Record<Opening>>(Table::Opening)
        .map(|r| Demand::from_opening_in(taxonomy, &r.expect("an opening").1.data))
        .collect()
}

fn pct(l: &mut [Duration], p: f64) -> f64 {
    if l.is_empty() {
        return f64::NAN;
    }
    l.sort();
    let i = ((l.len() as f64 - 1.0) * p).round() as usize;
    l[i].as_secs_f64() * 1000.0
}

fn print_row(name: &str, l: &mut [Duration]) {
    if l.is_empty() {
        return;
    }
    let n = l.len();
    let (p50, p99, max) = (pct(l, 0.5), pct(l, 0.99), pct(l, 1.0));
    println!("{name:<14} {n:>8} {p50:>9.3} {p99:>9.3} {max:>9.3}");
}

async fn get(client: &reqwest::Client, url: &str, auth: &str) {
    let response = client
        .get(url)
        .header(AUTHORIZATION, auth)
        .send()
        .await
        .expect("the node answers");
    let status = response.status();
    let body = response.bytes().await.expect("a body");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
}

/// Each of [`CLIENTS`] connections sends its next query as soon as the last is answered.
async fn closed_loop(urls: &Arc<[String]>, auth: &str, length: Duration) -> (f64, Vec<Duration>) {
    let started = Instant::now();
    let deadline = started + length;
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..CLIENTS {
        let (urls, auth) = (urls.clone(), auth.to_string());
        tasks.spawn(async move {
            let client = reqwest::Client::new();
            let mut latencies = Vec::new();
            let mut i = c * 97;
            while Instant::now() < deadline {
                let t = Instant::now();
                get(&client, &urls[i % urls.len()], &auth).await;
                latencies.push(t.elapsed());
                i += 1;
            }
            latencies
        });
    }
    let mut all = Vec::new();
    while let Some(l) = tasks.join_next().await {
        all.extend(l.expect("a client"));
    }
    let rate = all.len() as f64 / started.elapsed().as_secs_f64();
    (rate, all)
}

/// Sends queries at a fixed `rate` whatever the answers do, over a pool of keep-alive
/// connections, and times each from the moment it was due (no coordinated omission).
async fn open_loop(
    urls: &Arc<[String]>,
    auth: &str,
    rate: f64,
    length: Duration,
) -> (f64, Vec<Duration>) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .expect("a client");
    let interval = Duration::from_secs_f64(1.0 / rate);
    let started = Instant::now();
    let total = (length.as_secs_f64() * rate) as usize;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..total {
        let due = started + interval * i as u32;
        tokio::time::sleep_until(due.into()).await;
        let (client, url, auth) = (
            client.clone(),
            urls[i % urls.len()].clone(),
            auth.to_string(),
        );
        tasks.spawn(async move {
            get(&client, &url, &auth).await;
            due.elapsed()
        });
    }
    let mut all = Vec::with_capacity(total);
    while let Some(l) = tasks.join_next().await {
        all.push(l.expect("a request"));
    }
    let achieved = all.len() as f64 / started.elapsed().as_secs_f64();
    (achieved, all)
}

/// Stores `n` shared profiles in the feeds of nine other origins, each made from the skills
/// of a random seeded candidate (ids 1 to `seeded`), as sync would store them.
fn store_remote_profiles(store: &Store, taxonomy: &Taxonomy, seeded: u64, n: u64) {
    let origins: Vec<NodeKeypair> = (1..=9u8).map(|i| NodeKeypair::from_seed([i; 32])).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut seqs = vec![0u64; origins.len()];
    let now = techhire_node::federation::now_ms();
    let mut batch = Vec::with_capacity(2_000);
    let mut made = 0u64;
    while made < n {
        let id = rng.gen_range(1..=seeded);
        let Some(indexed) = index::load(store, taxonomy, id).expect("read a candidate") else {
            continue;
        };
        let o = (made % origins.len() as u64) as usize;
        seqs[o] += 1;
        let mut profile_id = [0u8; 16];
        rng.fill(&mut profile_id);
        let profile = shared_of(
            &indexed.supply,
            ProfileId(profile_id),
            o,
            now + rng.gen_range(30..180) * 86_400_000,
        );
        batch.push(
            profile
                .try_sign(&origins[o], seqs[o], now)
                .expect("a valid profile"),
        );
        made += 1;
        if batch.len() == batch.capacity() || made == n {
            store
                .apply(|tx| {
                    for r in &batch {
                        feed::offer(tx, r, false)?;
                    }
                    Ok::<_, techhire_node::store::StoreError>(())
                })
                .expect("store profiles");
            batch.clear();
            if made % 100_000 == 0 {
                eprintln!("{made} remote profiles stored");
            }
        }
    }
}

/// A shared profile with a seeded candidate's skills (one claim per skill, the strongest).
fn shared_of(supply: &Supply, id: ProfileId, origin: usize, expires_at_ms: u64) -> SharedProfile {
    let mut skills: Vec<SharedSkill> = Vec::new();
    for c in &supply.skills {
        let SkillKey::Id(skill_id) = &c.skill else {
            continue;
        };
        if skills.iter().any(|s| &s.skill_id == skill_id) {
            continue;
        }
        skills.push(SharedSkill {
            skill_id: skill_id.clone(),
            level: c.level as u8 + 1,
            evidence: c.evidence as u8,
        });
    }
    let mut profile = SharedProfile {
        id,
        version: 1,
        home_community: format!("Remote Community {origin}"),
        home_region: format!("R{origin}"),
        scope: Scope::Federation,
        expires_at_ms,
        skills,
        assessments: vec![],
        training: None,
        certificates: vec![],
        work: vec![SharedWork {
            title: "Analyst".into(),
            months: 12,
        }],
        projects: vec![],
        desired_roles: vec![],
        desired_occupations: vec![],
        remote: match supply.remote {
            RemotePreference::OnSite => 0,
            RemotePreference::Hybrid => 1,
            RemotePreference::Remote => 2,
            RemotePreference::Any => 3,
        },
        relocate: supply.willing_to_relocate,
    };
    profile.sort();
    profile
}
