//! HTTP throughput and latency of a node, measured with real HTTP clients.
//!
//! Starts the server in-process on 127.0.0.1:0 over a fresh data folder, then measures
//! acknowledged candidate writes (POST /api/v1/candidates answered 201, i.e. flushed by the
//! group commit) with 1 and 64 clients, and the latency of GET /api/v1/candidates/{id} for
//! random existing ids with 1 and 64 clients. Two baseline rows show what the HTTP stack
//! alone (GET /healthz) and the token check alone (GET /api/v1/whoami) cost. The last table
//! splits the CPU time of each phase between the server's threads, the store's threads and
//! the clients, which share the same cores.
//!
//! `cargo bench -p techhire-node --bench http`; `BENCH_SECONDS=2` for a quick run (each
//! main phase lasts that long; the baselines half as long).

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use techhire_node::{node_dir, server};

/// Concurrent clients of the "many clients" phases.
const MANY: usize = 64;

/// A realistic small candidate: the kind of record a community enters all day.
const CANDIDATE: &str = r#"{
  "personal": {"name": "Ada Bench", "email": "ada.bench@example.net", "city": "Birmingham"},
  "profile": {
    "skills": [
      {"skill": "SQL", "level": "beginner", "evidence": "self_reported"},
      {"skill": "Linux", "level": "intermediate", "evidence": "project"},
      {"skill": "Customer support", "level": "advanced", "evidence": "work_experience"}
    ],
    "desired_roles": ["Computer User Support Specialist"],
    "remote_preference": "hybrid"
  }
}"#;

#[derive(Clone, Copy)]
enum Op {
    WriteCandidate,
    ReadCandidate,
    Healthz,
    Whoami,
}

struct Phase {
    name: &'static str,
    clients: usize,
    requests: usize,
    elapsed: Duration,
    /// Latency of every request, sorted.
    latencies: Vec<Duration>,
    /// CPU seconds by thread group during the phase.
    cpu: BTreeMap<String, f64>,
}

impl Phase {
    fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[i].as_secs_f64() * 1000.0
    }
}

#[derive(Clone)]
struct Target {
    addr: SocketAddr,
    auth: String,
}

fn main() {
    let seconds: f64 = std::env::var("BENCH_SECONDS")
        .ok()
        .map(|s| s.parse().expect("BENCH_SECONDS is a number of seconds"))
        .unwrap_or(8.0);
    let main_phase = Duration::from_secs_f64(seconds);
    let baseline = main_phase / 2;

    let tmp = tempfile::tempdir().expect("a temporary folder");
    let dir = tmp.path().join("node");
    // Server and clients get their own runtimes (as separate processes would), but share
    // the machine's cores.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .thread_name("server")
        .enable_all()
        .build()
        .expect("server runtime");
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .thread_name("client")
        .enable_all()
        .build()
        .expect("client runtime");

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (target, serving) = server_rt.block_on(async {
        let created = node_dir::init(
            &dir,
            "Bench County, AL",
            Some("AL"),
            &techhire_node::store::StoreOptions::default(),
        )
        .await
        .expect("creating the node");
        let store = created.store.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding 127.0.0.1:0");
        let addr = listener.local_addr().expect("the bound address");
        let state = server::state(
            store,
            created.node_key.clone(),
            std::sync::Arc::new(techhire_node::skills::Taxonomy::builtin().clone()),
            None,
        )
        .expect("state");
        let serving = tokio::spawn(server::serve(listener, state, async {
            let _ = stopped.await;
        }));
        let target = Target {
            addr,
            auth: format!("Bearer {}", created.operator_token),
        };
        (target, serving)
    });

    let mut ids = Vec::new();
    let mut phases = Vec::new();
    client_rt.block_on(async {
        // Warm-up: connections, caches, the first sled segments.
        let (_, warm) = run_phase(
            &target,
            Op::WriteCandidate,
            8,
            Duration::from_millis(500),
            &[],
        )
        .await;
        ids.extend(warm);
        for (name, op, clients, length) in [
            ("baseline: GET /healthz", Op::Healthz, MANY, baseline),
            ("baseline: GET /api/v1/whoami", Op::Whoami, MANY, baseline),
            ("write candidate (201)", Op::WriteCandidate, 1, main_phase),
            (
                "write candidate (201)",
                Op::WriteCandidate,
                MANY,
                main_phase,
            ),
            ("read candidate by id", Op::ReadCandidate, 1, main_phase),
            ("read candidate by id", Op::ReadCandidate, MANY, main_phase),
        ] {
            let cpu_before = cpu_sample();
            let started = Instant::now();
            let (latencies, created) = run_phase(&target, op, clients, length, &ids).await;
            let elapsed = started.elapsed();
            let cpu_after = cpu_sample();
            ids.extend(created);
            let cpu = cpu_between(&cpu_before, &cpu_after);
            phases.push(Phase {
                name,
                clients,
                requests: latencies.len(),
                elapsed,
                latencies,
                cpu,
            });
        }
    });

    let _ = stop.send(());
    server_rt
        .block_on(serving)
        .expect("the server task")
        .expect("the server stops cleanly");

    report(&phases, seconds, ids.len());
}

/// Runs `clients` concurrent clients doing `op` until `length` has passed. Returns the
/// sorted latencies and, for writes, the ids created.
async fn run_phase(
    target: &Target,
    op: Op,
    clients: usize,
    length: Duration,
    ids: &[u64],
) -> (Vec<Duration>, Vec<u64>) {
    let deadline = Instant::now() + length;
    let ids: std::sync::Arc<[u64]> = ids.into();
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..clients {
        let target = target.clone();
        let ids = ids.clone();
        tasks.spawn(async move {
            // One client (connection pool) each, as independent users would have.
            let client = reqwest::Client::new();
            let mut latencies = Vec::new();
            let mut created = Vec::new();
            let mut rng =
                0x9E37_79B9_7F4A_7C15_u64 ^ (c as u64 + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            while Instant::now() < deadline {
                let request = match op {
                    Op::WriteCandidate => client
                        .post(format!("http://{}/api/v1/candidates", target.addr))
                        .header(AUTHORIZATION, &target.auth)
                        .header(CONTENT_TYPE, "application/json")
                        .body(CANDIDATE),
                    Op::ReadCandidate => {
                        rng ^= rng << 13;
                        rng ^= rng >> 7;
                        rng ^= rng << 17;
                        let id = ids[(rng % ids.len() as u64) as usize];
                        client
                            .get(format!("http://{}/api/v1/candidates/{id}", target.addr))
                            .header(AUTHORIZATION, &target.auth)
                    }
                    Op::Healthz => client.get(format!("http://{}/healthz", target.addr)),
                    Op::Whoami => client
                        .get(format!("http://{}/api/v1/whoami", target.addr))
                        .header(AUTHORIZATION, &target.auth),
                };
                let sent = Instant::now();
                let response = request.send().await.expect("the node answers");
                let status = response.status();
                let body = response.bytes().await.expect("a response body");
                latencies.push(sent.elapsed());
                let expected = match op {
                    Op::WriteCandidate => 201,
                    _ => 200,
                };
                assert_eq!(
                    status.as_u16(),
                    expected,
                    "{}",
                    String::from_utf8_lossy(&body)
                );
                if let Op::WriteCandidate = op {
                    let v: serde_json::Value =
                        serde_json::from_slice(&body).expect("a JSON answer");
                    created.push(v["id"].as_u64().expect("an id"));
                }
            }
            (latencies, created)
        });
    }
    let mut latencies = Vec::new();
    let mut created = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (l, c) = done.expect("a client task");
        latencies.extend(l);
        created.extend(c);
    }
    latencies.sort();
    (latencies, created)
}

/// CPU time so far: per live thread (by id, with its name), this process, the machine.
struct CpuSample {
    threads: HashMap<u32, (String, f64)>,
    process: f64,
    machine_busy: f64,
}

/// `/proc` reports CPU time in USER_HZ ticks, which are 1/100 s on Linux.
const TICKS: f64 = 100.0;

/// utime + stime of a `/proc/.../stat` line, in seconds.
fn stat_cpu(stat: &str) -> Option<f64> {
    // After the parenthesised name: state is field 3, utime field 14, stime field 15.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / TICKS)
}

fn cpu_sample() -> CpuSample {
    let mut threads = HashMap::new();
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            let path = task.path();
            let tid = task.file_name().to_string_lossy().parse::<u32>().ok();
            let comm = std::fs::read_to_string(path.join("comm")).ok();
            let cpu = std::fs::read_to_string(path.join("stat"))
                .ok()
                .and_then(|s| stat_cpu(&s));
            if let (Some(tid), Some(comm), Some(cpu)) = (tid, comm, cpu) {
                // tokio names its workers after the runtime; sled numbers its io threads.
                let group = comm
                    .trim()
                    .trim_end_matches(|c: char| c.is_ascii_digit() || c == '-')
                    .to_string();
                threads.insert(tid, (group, cpu));
            }
        }
    }
    let process = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| stat_cpu(&s))
        .unwrap_or(0.0);
    // First line of /proc/stat: cpu user nice system idle iowait irq softirq steal ...
    let machine_busy = std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| {
            let ticks: Vec<f64> = s
                .lines()
                .next()?
                .split_whitespace()
                .skip(1)
                .filter_map(|t| t.parse().ok())
                .collect();
            let idle = ticks.get(3)? + ticks.get(4)?;
            Some((ticks.iter().sum::<f64>() - idle) / TICKS)
        })
        .unwrap_or(0.0);
    CpuSample {
        threads,
        process,
        machine_busy,
    }
}

/// CPU seconds spent between two samples, by thread group, plus `process` (all of this
/// process, exited threads included) and `machine` (every process on the machine).
fn cpu_between(before: &CpuSample, after: &CpuSample) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let mut live = 0.0;
    for (tid, (group, cpu)) in &after.threads {
        let earlier = before.threads.get(tid).map_or(0.0, |(_, c)| *c);
        let spent = (cpu - earlier).max(0.0);
        live += spent;
        *out.entry(group.clone()).or_insert(0.0) += spent;
    }
    let process = (after.process - before.process).max(0.0);
    // Threads that ended during the phase (sled starts and stops io threads).
    out.insert("exited threads".into(), (process - live).max(0.0));
    out.insert(PROCESS.into(), process);
    out.insert(
        MACHINE.into(),
        (after.machine_busy - before.machine_busy).max(0.0),
    );
    out
}

const PROCESS: &str = "this process";
const MACHINE: &str = "whole machine";

fn report(phases: &[Phase], seconds: f64, records: usize) {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!();
    println!(
        "techhire-node HTTP bench: {cpus} CPUs, {seconds} s per main phase, {records} candidates written"
    );
    println!();
    println!(
        "{:<30} {:>7} {:>9} {:>10} {:>8} {:>8}",
        "phase", "clients", "requests", "per second", "p50 ms", "p99 ms"
    );
    for p in phases {
        println!(
            "{:<30} {:>7} {:>9} {:>10.0} {:>8.2} {:>8.2}",
            p.name,
            p.clients,
            p.requests,
            p.per_second(),
            p.percentile(0.50),
            p.percentile(0.99)
        );
    }
    println!();
    // Columns: the groups that used at least 1% of a CPU in some phase, then the totals.
    let mut groups: Vec<&str> = phases
        .iter()
        .flat_map(|p| p.cpu.keys().map(String::as_str))
        .filter(|g| *g != PROCESS && *g != MACHINE)
        .filter(|g| {
            phases
                .iter()
                .any(|p| p.cpu.get(*g).copied().unwrap_or(0.0) / p.elapsed.as_secs_f64() >= 0.01)
        })
        .collect();
    groups.sort();
    groups.dedup();
    groups.extend([PROCESS, MACHINE]);
    println!(
        "CPU used during each phase, in % of one CPU ({cpus} CPUs = {}%):",
        cpus * 100
    );
    print!("{:<30} {:>7}", "phase", "clients");
    for g in &groups {
        print!(" {:>14}", truncate(g, 14));
    }
    println!();
    for p in phases {
        print!("{:<30} {:>7}", p.name, p.clients);
        for g in &groups {
            let share = p.cpu.get(*g).copied().unwrap_or(0.0) / p.elapsed.as_secs_f64();
            print!(" {:>13.0}%", share * 100.0);
        }
        println!();
    }
    println!(
        "(client: the bench's HTTP clients; server: the node's tokio workers; sled-io and \
         store-flusher: the store. \"whole machine\" above \"this process\" means other \
         programs were running and the figures are low.)"
    );
}

fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
