//! The leak test: a home node seeded with realistic candidates publishes the profiles of
//! those who consent, a second member syncs them, and every byte that left the home node
//! (each record of its own feed, which is what gossip and sync send) and every file of the
//! receiver's database is searched for each candidate's personal data. None may be there.
//!
//! The node holds no date of birth, street address or photo (`Personal` has no field for
//! them); what it holds is searched for: name, email, phone, city and segments. Each
//! candidate's name and email are also planted in the profile's free text that is not
//! shared (former employers, job summaries, project links, stage notes), so a field added
//! to the shared profile by mistake shows up here.

use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use techhire_node::model::{Candidate, Consent, ConsentScope, Personal, Program, Provider, Record};
use techhire_node::seed::{seed, SeedOptions};
use techhire_node::sharing::{self, Sharing};
use techhire_node::skills::Taxonomy;
use techhire_node::store::{Store, Table};
use techhire_protocol::{RecordKind, SharedProfile};

use crate::support::*;

const HOME: &str = "Akron, OH";

/// Every file under `dir`, concatenated.
fn files(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.extend(std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    let needle = needle.as_bytes();
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// `haystack` with every occurrence of each of `names` blanked out.
fn mask(haystack: &[u8], names: &[String]) -> Vec<u8> {
    let mut out = haystack.to_vec();
    for name in names {
        let n = name.as_bytes();
        if n.is_empty() {
            continue;
        }
        let mut i = 0;
        while i + n.len() <= out.len() {
            if &out[i..i + n.len()] == n {
                out[i..i + n.len()].fill(0);
                i += n.len();
            } else {
                i += 1;
            }
        }
    }
    out
}

/// Gives every seeded candidate consent now, as `PUT …/consent` does: half to the whole
/// federation, half to the home region. First it writes the candidate's name and email
/// into every free-text field of the profile that is not shared (a former employer's name,
/// a job summary, a project's link, a stage note), as people do type them there.
async fn consent_all(store: &Store) -> usize {
    let candidates: Vec<(u64, Record<Candidate>, Personal)> = store
        .scan::<Record<Candidate>>(Table::Candidate)
        .map(Result::unwrap)
        .map(|(id, c)| {
            let personal = store
                .get::<Personal>(Table::CandidatePersonal, id)
                .unwrap()
                .unwrap();
            (id, c, personal)
        })
        .collect();
    let n = candidates.len();
    store
        .commit(move |tx| {
            for (id, mut c, personal) in candidates {
                let planted = format!("{} <{}>", personal.name, personal.email);
                for work in &mut c.data.profile.work_history {
                    work.employer_name = Some(planted.clone());
                    work.summary = Some(format!("Reference: {planted}"));
                }
                for project in &mut c.data.profile.projects {
                    project.url = Some(format!("https://example.org/{}", personal.email));
                }
                if let Some(change) = c.data.stage_history.last_mut() {
                    change.note = Some(format!("Called {planted}"));
                }
                let consent = Consent {
                    policy_version: "2026-01".into(),
                    scope: if id % 2 == 0 {
                        ConsentScope::Federation
                    } else {
                        ConsentScope::Regions {
                            regions: vec!["TX".into()],
                        }
                    },
                    given_at: Utc::now(),
                    withdrawn_at: None,
                };
                c.data.consent_history.push(consent.clone());
                c.data.consent = Some(consent);
                tx.put(Table::Candidate, id, &c)?;
            }
            Ok::<_, techhire_node::store::StoreError>(())
        })
        .await
        .unwrap();
    n
}

/// Personal data of one candidate, as the needles to look for.
fn needles(p: &Personal) -> Vec<(&'static str, String)> {
    let mut out = vec![("name", p.name.clone()), ("email", p.email.clone())];
    if let Some(phone) = &p.phone {
        out.push(("phone", phone.clone()));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_personal_data_leaves_the_home_node() {
    let steward = Steward::new();
    let home = Member::start(&steward, HOME, vec![]).await;
    let receiver = Member::start(&steward, "El Paso, TX", vec![home.addr()]).await;

    let opts = SeedOptions {
        candidates: 300,
        employers: 20,
        openings: 40,
        seed: 6,
    };
    seed(&home.store, Taxonomy::builtin(), &opts, |_| {}).unwrap();
    assert_eq!(consent_all(&home.store).await, 300);
    let report = Sharing::default()
        .sweep(&home.store, Some(&home.federation), Utc::now())
        .await
        .unwrap();
    // Placed, withdrawn and not-hired candidates are not searchable, so not shared.
    assert!(report.published >= 100 && report.failed == 0, "{report:?}");

    let own = home.key.public();
    let head = home.head_of(&own);
    wait_for(Duration::from_secs(60), || receiver.head_of(&own) == head).await;

    // What left the home node: every record of its own feed, as sent.
    let sent_records = home.federation.records(&own, 0).unwrap();
    let profiles: Vec<SharedProfile> = sent_records
        .iter()
        .filter(|r| r.kind() == RecordKind::PROFILE)
        .map(|r| SharedProfile::decode(r.payload()).unwrap())
        .collect();
    assert_eq!(profiles.len(), report.published);
    let sent: Vec<u8> = sent_records.iter().flat_map(|r| r.encode()).collect();
    receiver.store.flush().unwrap();
    let received = files(&receiver.dir);

    // The search can find things: the shared parts are there, in both places, and the home
    // node's own files hold the personal data the same search looks for.
    let some_title = profiles
        .iter()
        .find_map(|p| p.work.first().map(|w| w.title.clone()))
        .expect("a shared work title");
    for (what, bytes) in [("sent", &sent), ("received", &received)] {
        assert!(
            contains(bytes, HOME),
            "{what}: the home community is missing"
        );
        assert!(
            contains(bytes, &some_title),
            "{what}: {some_title} is missing"
        );
    }
    home.store.flush().unwrap();
    let home_files = files(&home.dir);

    // Training providers and programs are public organisations the profile names on
    // purpose; the seeder names some after towns, so their names are taken out before
    // looking for cities.
    let mut public_names: Vec<String> = home
        .store
        .scan::<Record<Provider>>(Table::Provider)
        .map(|r| r.unwrap().1.data.name)
        .collect();
    public_names.extend(
        home.store
            .scan::<Record<Program>>(Table::Program)
            .map(|r| r.unwrap().1.data.name),
    );
    public_names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    let sent_masked = mask(&sent, &public_names);
    let received_masked = mask(&received, &public_names);

    let mut leaks = Vec::new();
    let mut shared = 0;
    let mut found_at_home = 0;
    for item in home.store.scan::<Personal>(Table::CandidatePersonal) {
        let (id, personal) = item.unwrap();
        if sharing::state_of(&home.store, id).unwrap().is_some() {
            shared += 1;
        }
        for (what, needle) in needles(&personal) {
            if contains(&home_files, &needle) {
                found_at_home += 1;
            }
            for (place, bytes) in [("sent", &sent), ("received", &received)] {
                if contains(bytes, &needle) {
                    leaks.push(format!("candidate {id}: {what} {needle:?} {place}"));
                }
            }
        }
        if let Some(city) = &personal.city {
            for (place, bytes) in [("sent", &sent_masked), ("received", &received_masked)] {
                if contains(bytes, city) {
                    leaks.push(format!("candidate {id}: city {city:?} {place}"));
                }
            }
        }
        for segment in &personal.segments {
            let name = serde_json::to_value(segment).unwrap();
            let name = name.as_str().unwrap();
            for (place, bytes) in [("sent", &sent), ("received", &received)] {
                if contains(bytes, name) {
                    leaks.push(format!("candidate {id}: segment {name:?} {place}"));
                }
            }
        }
    }
    assert_eq!(shared, report.published);
    assert!(
        found_at_home >= 600,
        "the same search finds the personal data where it is held ({found_at_home})"
    );
    assert!(
        leaks.is_empty(),
        "{} leaks:\n{}",
        leaks.len(),
        leaks.join("\n")
    );
}
