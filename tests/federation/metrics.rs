//! Metric reports across three seeded communities: every node's national totals are the sums
//! of the cells the three published; a newer version replaces the older everywhere; tampered,
//! non-member and small-count reports are refused; an export verifies, and a changed digit
//! does not.

use std::collections::BTreeMap;
use std::time::Duration;

use techhire_node::metrics::export::{export_csv, export_json, verify_export};
use techhire_node::metrics::national::{national_view, PeriodFilter};
use techhire_node::metrics::publish::{self, Publisher};
use techhire_node::model::{Community, Outreach, OutreachChannel, YearlyGoal};
use techhire_node::seed::{self, SeedOptions};
use techhire_node::skills::Taxonomy;
use techhire_protocol::{
    Cell, MetricReport, NodeKeypair, Period, PublicKey, RecordKind, SignedRecord, Value,
};

use crate::support::*;

const YEAR: u16 = 2025;

async fn seeded(
    steward: &Steward,
    name: &str,
    seed: u64,
    bootstrap: Vec<libp2p::Multiaddr>,
) -> Member {
    let m = Member::start(steward, name, bootstrap).await;
    let community = Community {
        name: name.to_string(),
        region: Some("TX".into()),
        backbone_organisation: None,
        goals: vec![YearlyGoal {
            year: YEAR,
            placements: 120,
            people_trained: 300,
            job_seekers_reached: 5_000,
            segment_goals: vec![],
        }],
    };
    m.store
        .commit(|tx| tx.put_meta("community", &community))
        .await
        .unwrap();
    let opts = SeedOptions {
        candidates: 1_200,
        employers: 25,
        openings: 40,
        seed,
    };
    let store = m.store.clone();
    tokio::task::spawn_blocking(move || {
        seed::seed(&store, Taxonomy::builtin(), &opts, |_| {}).unwrap();
    })
    .await
    .unwrap();
    m
}

/// The reports of `YEAR` a member holds, by (origin, period).
fn held(m: &Member) -> BTreeMap<(PublicKey, Period), (u64, MetricReport)> {
    publish::held_reports(&m.store)
        .unwrap()
        .into_iter()
        .filter(|h| h.report.period.year() == YEAR)
        .map(|h| {
            (
                (*h.record.signer(), h.report.period),
                (h.record.seq(), h.report),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_communities_publish_and_every_node_adds_up_the_same_national_view() {
    let steward = Steward::new();
    let a = seeded(&steward, "Birmingham, AL", 1, vec![]).await;
    let b = seeded(&steward, "El Paso, TX", 2, vec![a.addr()]).await;
    let c = seeded(&steward, "Akron, OH", 3, vec![a.addr(), b.addr()]).await;
    let members = [&a, &b, &c];

    let publisher = Publisher::new(11);
    for m in members {
        let outcome = publisher
            .run(&m.store, &m.federation, Some(vec![YEAR]))
            .await
            .unwrap();
        assert_eq!(outcome.published.len(), 17, "{}: {outcome:?}", m.name);
        // A second run with nothing changed publishes nothing.
        let again = publisher
            .run(&m.store, &m.federation, Some(vec![YEAR]))
            .await
            .unwrap();
        assert!(again.published.is_empty(), "{}: {again:?}", m.name);
        assert_eq!(again.unchanged.len(), 17);
    }
    wait_for(Duration::from_secs(90), || {
        members.iter().all(|m| held(m).len() == 3 * 17)
    })
    .await;

    // Every node holds the same reports: the ones each origin signed.
    let own: BTreeMap<_, _> = members
        .iter()
        .flat_map(|m| {
            held(m)
                .into_iter()
                .filter(|((origin, _), _)| *origin == m.key.public())
        })
        .collect();
    assert_eq!(own.len(), 3 * 17);
    for m in members {
        assert_eq!(held(m), own, "{} holds other reports", m.name);
    }

    // Suppression held for every report the seeded data produced (receivers enforce the
    // small-count rule too, so a leak would not even have been stored), and some cells were
    // withheld and some published.
    let cells: Vec<&Cell> = own.values().flat_map(|(_, r)| &r.cells).collect();
    for cell in &cells {
        if let Value::People(n) = cell.value {
            assert!(n == 0 || n >= 11, "{cell:?}");
        }
    }
    assert!(cells.iter().any(|c| c.value == Value::Withheld));
    assert!(cells
        .iter()
        .any(|c| matches!(c.value, Value::People(n) if n >= 11)));

    // Each node's national totals are the sums of the published cells of all three.
    for m in members {
        let reports = publish::held_reports(&m.store).unwrap();
        let view = national_view(&reports, &PeriodFilter::Year(YEAR));
        let json = serde_json::to_value(&view).unwrap();
        for period in Period::all_of_year(YEAR) {
            let of_period: Vec<&MetricReport> = own
                .iter()
                .filter(|((_, p), _)| *p == period)
                .map(|(_, (_, r))| r)
                .collect();
            let p = json["periods"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["period"] == period.to_string())
                .unwrap_or_else(|| panic!("{}: no {period} in the view", m.name));
            assert_eq!(p["communities_reporting"], 3);
            let mut checked = 0;
            for total in p["totals"].as_array().unwrap() {
                let (metric, dimension, key) = (
                    total["metric"].as_str().unwrap(),
                    total["dimension"].as_str().unwrap(),
                    total["key"].as_str().unwrap(),
                );
                let cells: Vec<Value> = of_period
                    .iter()
                    .filter_map(|r| r.cell(metric, dimension, key).map(|c| c.value))
                    .collect();
                if cells.iter().any(|v| matches!(v, Value::Amount(_))) {
                    continue;
                }
                let published: Vec<u64> = cells.iter().filter_map(|v| v.number()).collect();
                let withheld = cells.iter().filter(|v| **v == Value::Withheld).count();
                let what = format!("{} {period} {metric}/{dimension}/{key}", m.name);
                assert_eq!(total["communities_withheld"], withheld, "{what}");
                if published.is_empty() {
                    // Withheld everywhere (or absent): nothing to add, nothing guessed.
                    assert!(
                        total["value"].is_null() || total["value"] == 0,
                        "{what}: {total}"
                    );
                } else {
                    assert_eq!(total["value"], published.iter().sum::<u64>(), "{what}");
                    checked += 1;
                }
            }
            assert!(checked > 10, "{period}: only {checked} totals");
        }
    }

    // A newer version replaces the older everywhere: 600 more job seekers reached in March.
    let march = Period::Month {
        year: YEAR,
        month: 3,
    };
    let before = own[&(a.key.public(), march)].1.clone();
    a.store
        .commit(|tx| {
            techhire_node::model::stage_create(
                tx,
                Outreach {
                    channel: OutreachChannel::Radio,
                    period_start: "2025-03-01".parse().unwrap(),
                    period_end: "2025-03-31".parse().unwrap(),
                    job_seekers_reached: 600,
                    notes: None,
                },
                chrono::Utc::now(),
            )
        })
        .await
        .unwrap();
    let outcome = publisher
        .run(&a.store, &a.federation, Some(vec![YEAR]))
        .await
        .unwrap();
    let changed: Vec<&str> = outcome
        .published
        .iter()
        .map(|p| p.period.as_str())
        .collect();
    assert!(
        changed.contains(&"2025-03") && changed.contains(&"2025-Q1") && changed.contains(&"2025")
    );
    assert!(!changed.contains(&"2025-07"), "{changed:?}");
    wait_for(Duration::from_secs(60), || {
        members
            .iter()
            .all(|m| held(m)[&(a.key.public(), march)].1.version == 2)
    })
    .await;
    for m in members {
        let newer = &held(m)[&(a.key.public(), march)].1;
        let reached = |r: &MetricReport| r.cell("outreach.reached", "", "").unwrap().value;
        assert_eq!(
            reached(newer).number(),
            reached(&before).number().map(|n| n + 600),
            "{}",
            m.name
        );
        // The older version is gone from the feed, not merely outranked.
        let versions = m
            .federation
            .records(&a.key.public(), 0)
            .unwrap()
            .into_iter()
            .filter(|r| r.kind() == RecordKind::METRIC_REPORT)
            .filter_map(|r| MetricReport::decode(r.payload()).ok())
            .filter(|r| r.period == march)
            .count();
        assert_eq!(versions, 1, "{}", m.name);
    }

    // Tampered, non-member and small-count reports are refused, counted, never stored.
    let a_key = NodeKeypair::from_seed(a.key.seed());
    let head = a.head_of(&a.key.public());
    let mut report = before.clone();
    report.version = 9;
    let mut tampered = report
        .try_sign(&a_key, head + 1, now_ms())
        .unwrap()
        .encode();
    let at = tampered.len() - 80;
    tampered[at] ^= 0x04;
    let stranger = NodeKeypair::generate();
    let from_stranger = report.try_sign(&stranger, 1, now_ms()).unwrap().encode();
    let mut leaky = report.clone();
    let small = leaky
        .cells
        .iter_mut()
        .find(|c| matches!(c.value, Value::People(_)))
        .unwrap();
    small.value = Value::People(4);
    let leaky = SignedRecord::sign(
        &a_key,
        RecordKind::METRIC_REPORT,
        head + 1,
        now_ms(),
        leaky.encode(),
    )
    .unwrap()
    .encode();
    for (reason, bytes) in [
        ("bad_signature", tampered),
        ("not_member", from_stranger),
        ("bad_payload", leaky),
    ] {
        let before = b.rejected(reason);
        a.federation.gossip_unchecked(bytes).await.unwrap();
        wait_for(Duration::from_secs(30), || b.rejected(reason) > before).await;
    }
    assert_eq!(b.head_of(&a.key.public()), head);
    assert_eq!(b.head_of(&stranger.public()), 0);

    // An export from any node verifies offline; a single changed digit does not.
    let chosen: Vec<_> = publish::held_reports(&c.store)
        .unwrap()
        .into_iter()
        .filter(|h| h.report.period.year() == YEAR)
        .collect();
    let view = national_view(&chosen, &PeriodFilter::Year(YEAR));
    let origins: Vec<PublicKey> = members.iter().map(|m| m.key.public()).collect();
    let certificates = publish::certificates_of(&c.store, &origins).unwrap();
    let json = serde_json::to_vec(&export_json(
        &chosen,
        &certificates,
        &view,
        now_ms(),
        &c.key.public(),
    ))
    .unwrap();
    let csv = export_csv(&chosen, &certificates, &view);
    let trusted = [steward.key.public()];
    verify_export(&json, &trusted).unwrap();
    verify_export(csv.as_bytes(), &trusted).unwrap();
    verify_export(&json, &[NodeKeypair::generate().public()])
        .expect_err("certificates from a steward nobody trusts");
    // Rewriting the CSV with another writer changes no figure: it still verifies.
    verify_export(&rewrite_csv(csv.as_bytes(), false), &trusted).unwrap();
    for changed in [bump_json_figure(&json), rewrite_csv(csv.as_bytes(), true)] {
        assert!(verify_export(&changed, &trusted).is_err());
    }
}

/// The JSON export with one digit of one figure changed: the first `"value":` followed by
/// a digit.
fn bump_json_figure(file: &[u8]) -> Vec<u8> {
    let text = String::from_utf8(file.to_vec()).unwrap();
    let mut from = 0;
    let at = loop {
        let i = from + text[from..].find("\"value\":").unwrap() + "\"value\":".len();
        if text.as_bytes()[i].is_ascii_digit() {
            break i;
        }
        from = i;
    };
    let mut bytes = file.to_vec();
    bytes[at] = if bytes[at] == b'9' {
        b'1'
    } else {
        bytes[at] + 1
    };
    bytes
}

/// The CSV export read and written again; with `bump`, the first national figure is one
/// more than it was.
fn rewrite_csv(file: &[u8], bump: bool) -> Vec<u8> {
    let mut reader = csv::Reader::from_reader(file);
    let header = reader.headers().unwrap().clone();
    let value = header.iter().position(|h| h == "value").unwrap();
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(&header).unwrap();
    let mut changed = !bump;
    for row in reader.records() {
        let mut fields: Vec<String> = row.unwrap().iter().map(str::to_string).collect();
        if !changed && fields[0] == "national" {
            if let Ok(n) = fields[value].parse::<u64>() {
                fields[value] = (n + 1).to_string();
                changed = true;
            }
        }
        out.write_record(&fields).unwrap();
    }
    assert!(changed, "no national figure to change");
    out.into_inner().unwrap()
}
