//! A community's metric reports at scale: `compute_year` (every table read once, 17 periods
//! suppressed together) over `techhire seed` data.
//!
//! `cargo bench -p techhire-node --bench metrics`. Settings (environment):
//! - `BENCH_CANDIDATES` (default 1,000,000): how many candidates to seed;
//! - `BENCH_DIR`: a node folder to keep between runs (seeded on the first run only), since
//!   seeding a million candidates takes a few minutes; a temporary one otherwise. A folder
//!   seeded by a build before training dates were seeded has no `training.*` figures: seed a
//!   fresh one;
//! - `BENCH_THRESHOLD` (default 11): the suppression threshold k;
//! - `BENCH_RUNS` (default 3): timed runs per year (the first also warms the page cache);
//! - `BENCH_CACHE_MB`: sled's page cache (`storage.cache_capacity_mb`; the node's default,
//!   256 MB, otherwise). A million candidates take about 4 GB on disk: with the default
//!   cache every run reads most pages back from the OS page cache.
//!
//! Printed per year: wall-clock seconds of the first and the best run, the process's CPU
//! seconds (all threads) of the best run, the suppression alone, the cells of the 17
//! reports, the share withheld, the plan's groups, and the year's `applied` total.
//!
//! The seed window runs from 2024-11 to 2026-10: 2025 is its one full year, 2026 the year
//! with the most data per month.

use std::path::PathBuf;
use std::time::Instant;

use techhire_node::metrics::compute;
use techhire_node::skills::Taxonomy;
use techhire_node::store::StoreOptions;
use techhire_node::{node_dir, seed};
use techhire_protocol::suppression;
use techhire_protocol::Value;

fn main() {
    let candidates: u64 = env_or("BENCH_CANDIDATES", 1_000_000);
    let threshold: u16 = env_or("BENCH_THRESHOLD", 11);
    let runs: usize = env_or("BENCH_RUNS", 3).max(1);
    let tmp = tempfile::tempdir().expect("a temporary folder");
    let dir = std::env::var_os("BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| tmp.path().join("node"));

    if !dir.join("db").exists() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
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
        seed::seed(&created.store, Taxonomy::builtin(), &opts, |p| {
            eprintln!("{p}")
        })
        .expect("seeding");
        created.store.flush().expect("flush");
        drop(created);
        println!(
            "seeded {candidates} candidates in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }

    let defaults = StoreOptions::default();
    let opts = StoreOptions {
        verify_on_open: false,
        cache_capacity: env_or("BENCH_CACHE_MB", defaults.cache_capacity / (1024 * 1024))
            * 1024
            * 1024,
    };
    let (store, _) = node_dir::open_store(&dir, &opts).expect("opening the node");
    println!(
        "\ncompute_year, threshold {threshold}, {} (store {} MB on disk, cache {} MB), {runs} \
         runs per year",
        dir.display(),
        store.size_on_disk().unwrap_or(0) / (1024 * 1024),
        opts.cache_capacity / (1024 * 1024)
    );
    println!(
        "{:<6} {:>9} {:>9} {:>9} {:>10} {:>8} {:>9} {:>8} {:>11}",
        "year",
        "first s",
        "best s",
        "cpu s",
        "suppress s",
        "cells",
        "withheld",
        "groups",
        "applied"
    );
    for year in [2025u16, 2026] {
        let mut times = Vec::new();
        let mut reports = Vec::new();
        for _ in 0..runs {
            let (t, cpu) = (Instant::now(), cpu_secs());
            reports = compute::compute_year(&store, year, threshold, 0, &[]).expect("compute");
            times.push((t.elapsed().as_secs_f64(), cpu_secs() - cpu));
        }
        let yp = compute::plan_year(&store, year, threshold, &[]).expect("plan");
        let t = Instant::now();
        suppression::suppress(&yp.plan, threshold).expect("suppress");
        let suppress_secs = t.elapsed().as_secs_f64();
        let cells: usize = reports.iter().map(|r| r.cells.len()).sum();
        let withheld = reports
            .iter()
            .flat_map(|r| &r.cells)
            .filter(|c| c.value == Value::Withheld)
            .count();
        let applied = reports
            .last()
            .and_then(|r| r.cell("applied", "", ""))
            .and_then(|c| c.value.number())
            .unwrap_or(0);
        let best = times
            .iter()
            .copied()
            .fold((f64::INFINITY, 0.0), |a, b| if b.0 < a.0 { b } else { a });
        println!(
            "{year:<6} {:>9.2} {:>9.2} {:>9.2} {:>10.3} {:>8} {:>8.1}% {:>8} {:>11}",
            times[0].0,
            best.0,
            best.1,
            suppress_secs,
            cells,
            100.0 * withheld as f64 / cells.max(1) as f64,
            yp.plan.groups.len(),
            applied
        );
    }
}

/// CPU seconds (user + system, all threads) this process has used, from /proc (0 where
/// there is none).
fn cpu_secs() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which is in parentheses and may hold spaces): utime
    // and stime are the 12th and 13th, in clock ticks (100 a second on Linux).
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
