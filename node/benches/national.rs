//! The national view at scale: `BENCH_COMMUNITIES` (default 1,000) communities' signed
//! reports for one year (12 months, 4 quarters, the year: 17 reports each, about 1,500 cells
//! per report, some withheld), aggregated by `national_view` for that year. Then the files
//! national staff take away at today's network size (72 communities): JSON and CSV export,
//! and `verify_export` of each.
//!
//! `cargo bench -p techhire-node --bench national`. Reports are generated in memory with
//! random plausible cells (a fixed seed), signed with `NodeKeypair::from_seed` and decoded
//! back, as a node holds them; the full-size input takes about 6 GB of memory.
//! `BENCH_COMMUNITIES` and `BENCH_RUNS` (timed runs of `national_view`, default 5) change
//! the sizes.

use std::io::Write;
use std::time::Instant;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use techhire_node::metrics::export::{export_csv, export_json, verify_export};
use techhire_node::metrics::national::{national_view, HeldReport, PeriodFilter};
use techhire_protocol::{Cell, MembershipCert, MetricReport, NodeKeypair, Period, Value};

const YEAR: u16 = 2026;
/// 2026-01-01T00:00:00Z.
const T0: u64 = 1_767_225_600_000;
const SEGMENTS: [&str; 6] = [
    "veterans",
    "opportunity_youth",
    "long_term_unemployed",
    "women",
    "black",
    "hispanic",
];
const PIPELINE: [&str; 6] = [
    "applied",
    "assessed",
    "vetted",
    "matched",
    "introduced",
    "placed",
];

/// The names a community's cells are drawn from.
struct Universe {
    socs: Vec<String>,
    programs: Vec<String>,
    skills: Vec<String>,
}

impl Universe {
    fn new() -> Self {
        Universe {
            socs: (0..60).map(|i| format!("15-{:04}", 1200 + i * 3)).collect(),
            programs: (0..400).map(|i| format!("program-{i:03}")).collect(),
            skills: (0..526).map(|i| format!("skill-{i:03}")).collect(),
        }
    }
}

fn people(rng: &mut ChaCha8Rng) -> Value {
    match rng.gen_range(0..100) {
        0..15 => Value::Withheld,
        15..25 => Value::People(0),
        _ => Value::People(rng.gen_range(11..500)),
    }
}

fn cell(metric: &str, dimension: &str, key: &str, value: Value) -> Cell {
    Cell {
        metric: metric.into(),
        dimension: dimension.into(),
        key: key.into(),
        value,
    }
}

/// One community's report for `period`: about 1,500 cells.
fn report(u: &Universe, community: usize, period: Period, rng: &mut ChaCha8Rng) -> MetricReport {
    let mut cells = Vec::with_capacity(1600);
    for m in PIPELINE {
        cells.push(cell(m, "", "", people(rng)));
        for s in SEGMENTS {
            cells.push(cell(m, "segment", s, people(rng)));
        }
    }
    for soc in u.socs.choose_multiple(rng, 45) {
        cells.push(cell("placed", "soc", soc, people(rng)));
    }
    // A community's programs: a stable slice of the universe, so keys repeat across periods.
    let programs = &u.programs[(community * 7) % 260..][..140];
    for p in programs {
        cells.push(cell("placed", "program", p, people(rng)));
        cells.push(cell("training.enrolled", "program", p, people(rng)));
        cells.push(cell("training.completed", "program", p, people(rng)));
    }
    for m in ["training.enrolled", "training.completed"] {
        cells.push(cell(m, "", "", people(rng)));
        for t in [
            "bootcamp",
            "community_college",
            "online",
            "apprenticeship",
            "other",
        ] {
            cells.push(cell(m, "provider_type", t, people(rng)));
        }
    }
    cells.push(cell(
        "placed.median_wage",
        "",
        "",
        if rng.gen_bool(0.2) {
            Value::Withheld
        } else {
            Value::Amount(rng.gen_range(35_000..95_000))
        },
    ));
    for skill in u.skills.choose_multiple(rng, 460) {
        cells.push(cell(
            "skills.demanded",
            "skill",
            skill,
            Value::Count(rng.gen_range(0..300)),
        ));
    }
    for skill in u.skills.choose_multiple(rng, 450) {
        cells.push(cell("skills.supplied", "skill", skill, people(rng)));
    }
    cells.push(cell("outreach.reached", "", "", people(rng)));
    for c in ["web", "events", "partners", "referrals", "radio", "social"] {
        cells.push(cell("outreach.reached", "channel", c, people(rng)));
    }
    for m in [
        "employers.committed",
        "employers.new_commitments",
        "openings.open",
    ] {
        cells.push(cell(m, "", "", Value::Count(rng.gen_range(0..400))));
    }
    for m in ["retention.q2", "retention.q4"] {
        cells.push(cell(m, "", "", people(rng)));
        cells.push(cell(m, "status", "employed", people(rng)));
        cells.push(cell(m, "status", "not_employed", people(rng)));
    }
    if let Period::Year { .. } = period {
        for (g, n) in [
            ("goal.placements", 400),
            ("goal.people_trained", 600),
            ("goal.job_seekers_reached", 5000),
        ] {
            cells.push(cell(g, "", "", Value::Count(rng.gen_range(n / 2..n * 2))));
        }
        for s in SEGMENTS {
            cells.push(cell(
                "goal.placements",
                "segment",
                s,
                Value::Count(rng.gen_range(10..100)),
            ));
        }
    }
    let mut report = MetricReport {
        period,
        version: 1,
        computed_at_ms: T0,
        community: format!("Community {community:04}"),
        threshold: 11,
        cells,
    };
    report.sort();
    report
}

fn key_of(community: usize) -> NodeKeypair {
    let mut seed = [7u8; 32];
    seed[..8].copy_from_slice(&(community as u64).to_le_bytes());
    NodeKeypair::from_seed(seed)
}

/// Every community's 17 signed reports, generated on every core.
fn generate(communities: usize) -> Vec<HeldReport> {
    let u = Universe::new();
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let mut parts: Vec<Vec<HeldReport>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let u = &u;
                scope.spawn(move || {
                    let mut out = Vec::new();
                    for c in (t..communities).step_by(threads) {
                        let mut rng = ChaCha8Rng::seed_from_u64(c as u64);
                        let key = key_of(c);
                        for (i, period) in Period::all_of_year(YEAR).into_iter().enumerate() {
                            let report = report(u, c, period, &mut rng);
                            let seq = i as u64 + 1;
                            let record = report.try_sign(&key, seq, T0 + seq).expect("signs");
                            // Decoded, as the node holds them (strings laid out in cell order).
                            drop(report);
                            let report = MetricReport::decode(record.payload()).expect("decodes");
                            out.push(HeldReport {
                                record,
                                report,
                                region: Some(format!("Region {}", c % 50)),
                            });
                        }
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("generator thread"))
            .collect()
    });
    parts.iter_mut().flat_map(std::mem::take).collect()
}

fn main() {
    let communities: usize = std::env::var("BENCH_COMMUNITIES")
        .ok()
        .map(|v| v.parse().expect("BENCH_COMMUNITIES is a number"))
        .unwrap_or(1000);
    let t = Instant::now();
    let reports = generate(communities);
    let cells: usize = reports.iter().map(|h| h.report.cells.len()).sum();
    println!(
        "generated and signed {} reports of {communities} communities ({cells} cells, {:.0} per \
         report) in {:.1} s",
        reports.len(),
        cells as f64 / reports.len() as f64,
        t.elapsed().as_secs_f64()
    );

    // The floor: one pass reading every cell's strings and value, on one core.
    let t = Instant::now();
    let mut touched = 0u64;
    for h in &reports {
        for c in &h.report.cells {
            touched = touched.wrapping_add(
                (c.metric.as_bytes().last().copied().unwrap_or(0) as u64)
                    ^ (c.dimension.len() as u64)
                    ^ (c.key.as_bytes().last().copied().unwrap_or(0) as u64)
                    ^ c.value.number().unwrap_or(1),
            );
        }
    }
    println!(
        "reading every cell once (one core): {:.3} s ({touched:x})",
        t.elapsed().as_secs_f64()
    );

    let filter = PeriodFilter::Year(YEAR);
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .map(|v| v.parse().expect("BENCH_RUNS is a number"))
        .unwrap_or(5);
    let mut times = Vec::new();
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        let view = national_view(&reports, &filter);
        let elapsed = t.elapsed().as_secs_f64();
        assert_eq!(view.periods.len(), 17);
        assert_eq!(view.communities_reporting, communities);
        times.push(elapsed);
        drop(view);
    }
    times.sort_by(f64::total_cmp);
    let view = national_view(&reports, &filter);
    let totals: usize = view.periods.iter().map(|p| p.totals.len()).sum();
    println!(
        "national_view, one year of {communities} communities: best {:.3} s, median {:.3} s \
         ({totals} national totals; {:.0} M cells/s)",
        times[0],
        times[times.len() / 2],
        cells as f64 / times[times.len() / 2] / 1e6
    );
    drop(view);

    // The files at today's network size.
    let size = communities.min(72);
    let small: Vec<HeldReport> = reports
        .into_iter()
        .filter(|h| h.report.community.as_str() < format!("Community {size:04}").as_str())
        .collect();
    let steward = NodeKeypair::from_seed([9; 32]);
    let certificates: Vec<_> = (0..size)
        .map(|c| {
            MembershipCert {
                member: key_of(c).public(),
                community: format!("Community {c:04}"),
                region: format!("Region {}", c % 50),
                not_before_ms: T0 - 1,
                not_after_ms: T0 + 1_000_000_000,
            }
            .sign(&steward, T0 - 1)
        })
        .collect();
    let t = Instant::now();
    let view = national_view(&small, &filter);
    let json = serde_json::to_vec(&export_json(
        &small,
        &certificates,
        &view,
        T0,
        &steward.public(),
    ))
    .expect("serialises");
    let json_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let csv = export_csv(&small, &certificates, &view);
    let csv_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let summary = verify_export(&json, &[steward.public()]).expect("the JSON export verifies");
    let verify_json_s = t.elapsed().as_secs_f64();
    assert_eq!(summary.reports.len(), size * 17);
    let t = Instant::now();
    verify_export(csv.as_bytes(), &[steward.public()]).expect("the CSV export verifies");
    let verify_csv_s = t.elapsed().as_secs_f64();
    println!(
        "export of {size} communities' year: JSON {:.1} MB in {json_s:.2} s (view included), \
         verified in {verify_json_s:.2} s; CSV {:.1} MB in {csv_s:.2} s, verified in \
         {verify_csv_s:.2} s",
        json.len() as f64 / 1e6,
        csv.len() as f64 / 1e6,
    );
    std::io::stdout().flush().ok();
}
