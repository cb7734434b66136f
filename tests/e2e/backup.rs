//! Backups of a running node, restores, and export/import: what a backup taken under write
//! load holds, and that a moved store answers the API exactly as the original did.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::task::JoinSet;

use crate::support::{candidate, init, path_str, run, temp_dir, Api, Node};

const WRITERS: usize = 4;
/// Writes acknowledged before the backup is asked for.
const ACKS_BEFORE: usize = 100;
const WRITE_TIMEOUT: Duration = Duration::from_secs(120);

/// A candidate the node answered 201 to, and when the answer arrived.
struct Ack {
    path: String,
    body: Value,
    at: Instant,
}

fn seed(dir: &Path, candidates: &str) {
    run(&[
        "seed",
        "--data-dir",
        path_str(dir),
        "--candidates",
        candidates,
        "--employers",
        "20",
        "--openings",
        "40",
    ])
    .assert_success();
}

/// `techhire restore` (or `import`) of `file` into `into`, with the original's key and config.
fn restore(command: &str, file: &Path, from: &Path, into: &Path) {
    run(&[
        command,
        path_str(file),
        "--data-dir",
        path_str(into),
        "--key",
        path_str(&from.join("node.key")),
        "--config",
        path_str(&from.join("config.toml")),
    ])
    .assert_success();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_under_write_load_restores_every_write_acknowledged_before_it_began() {
    let tmp = temp_dir();
    let dir = tmp.path().join("node");
    let token = init(&dir);
    // Enough records that the copy takes a while, with writers running through it.
    seed(&dir, "3000");
    let node = Node::start(&dir);
    let api = node.api(&token);

    let acks = Arc::new(Mutex::new(Vec::<Ack>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let (first_acks, mut enough) = tokio::sync::mpsc::channel::<()>(ACKS_BEFORE);
    let mut writers = JoinSet::new();
    for w in 0..WRITERS {
        let api = Api {
            client: reqwest::Client::new(),
            ..api.clone()
        };
        let (acks, stop, first_acks) = (acks.clone(), stop.clone(), first_acks.clone());
        writers.spawn(async move {
            for seq in 0.. {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                let (status, created) = api
                    .post("/api/v1/candidates", &candidate(&format!("bw{w}s{seq}")))
                    .await;
                assert_eq!(status, 201, "a write during the backup failed: {created}");
                let at = Instant::now();
                let id = created["id"]
                    .as_u64()
                    .unwrap_or_else(|| panic!("201 without an id: {created}"));
                acks.lock().unwrap().push(Ack {
                    path: format!("/api/v1/candidates/{id}"),
                    body: created,
                    at,
                });
                let _ = first_acks.try_send(());
            }
        });
    }
    drop(first_acks);
    let waited = tokio::time::timeout(WRITE_TIMEOUT, async {
        for _ in 0..ACKS_BEFORE {
            enough.recv().await.expect("the writers stopped early");
        }
    })
    .await;
    assert!(
        waited.is_ok(),
        "{ACKS_BEFORE} writes were not acknowledged in time"
    );

    let file = tmp.path().join("node.backup");
    let began = Instant::now();
    let backup = {
        let (url, token, file) = (node.url(""), token.clone(), file.clone());
        tokio::task::spawn_blocking(move || {
            run(&[
                "backup",
                "--out",
                path_str(&file),
                "--url",
                &url,
                "--token",
                &token,
            ])
        })
        .await
        .expect("the backup command")
    };
    let ended = Instant::now();
    backup.assert_success();
    stop.store(true, Ordering::SeqCst);
    while let Some(done) = writers.join_next().await {
        if let Err(e) = done {
            std::panic::resume_unwind(e.into_panic());
        }
    }
    let acks = std::mem::take(&mut *acks.lock().unwrap());
    let before: Vec<&Ack> = acks.iter().filter(|a| a.at < began).collect();
    let during = acks
        .iter()
        .filter(|a| a.at >= began && a.at < ended)
        .count();
    eprintln!(
        "backup: {} ({:.0} ms); {} writes acknowledged before it, {during} while it ran",
        backup.last_line(),
        (ended - began).as_secs_f64() * 1e3,
        before.len()
    );
    assert!(before.len() >= ACKS_BEFORE);
    assert!(
        during > 0,
        "no write was acknowledged while the backup ran: writes were held for the whole copy"
    );
    node.terminate().assert_success();

    let restored = tmp.path().join("restored");
    restore("restore", &file, &dir, &restored);
    run(&["check", "--data-dir", path_str(&restored)]).assert_success();
    let back = Node::start(&restored);
    let api = back.api(&token);
    for ack in before {
        let (status, body) = api.get(&ack.path).await;
        assert_eq!(
            status, 200,
            "{} was acknowledged before the backup began but is not in the restored node: {body}",
            ack.path
        );
        assert_eq!(body, ack.body, "{} differs in the restored node", ack.path);
    }
    // A restore never writes over a folder.
    let again = run(&[
        "restore",
        path_str(&file),
        "--data-dir",
        path_str(&restored),
    ]);
    assert!(
        again.assert_failure().contains("already exists"),
        "{}",
        again.describe()
    );
}

/// The list endpoints compared between an exported node and its import.
const COMPARED: [&str; 7] = [
    "/api/v1/community",
    "/api/v1/candidates?limit=200",
    "/api/v1/employers?limit=200",
    "/api/v1/openings?limit=200",
    "/api/v1/placements?limit=200",
    "/api/v1/programs?limit=200",
    "/api/v1/assessments?limit=200",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_then_import_into_a_fresh_folder_gives_identical_api_answers() {
    let tmp = temp_dir();
    let dir = tmp.path().join("node");
    let token = init(&dir);
    seed(&dir, "300");
    let file = tmp.path().join("node.export");
    run(&[
        "export",
        "--data-dir",
        path_str(&dir),
        "--out",
        path_str(&file),
    ])
    .assert_success();

    // A file cut short is refused, and leaves no folder behind.
    let text = std::fs::read_to_string(&file).expect("the export");
    let cut = tmp.path().join("cut.export");
    std::fs::write(&cut, &text[..text.len() / 2]).expect("a cut copy");
    let cut_into = tmp.path().join("from-cut");
    let refused = run(&["import", path_str(&cut), "--data-dir", path_str(&cut_into)]);
    let reason = refused.assert_failure();
    assert!(reason.contains("line"), "{reason}");
    assert!(
        !cut_into.exists(),
        "a refused import left {}",
        cut_into.display()
    );

    // Another node's key is refused.
    let other = tmp.path().join("other");
    init(&other);
    let wrong = run(&[
        "import",
        path_str(&file),
        "--data-dir",
        path_str(&tmp.path().join("wrong-key")),
        "--key",
        path_str(&other.join("node.key")),
    ]);
    assert!(
        wrong.assert_failure().contains("belongs to the node"),
        "{}",
        wrong.describe()
    );

    let moved = tmp.path().join("moved");
    restore("import", &file, &dir, &moved);
    let original = Node::start(&dir);
    let imported = Node::start(&moved);
    let (a, b) = (original.api(&token), imported.api(&token));
    for path in COMPARED {
        let (sa, ba) = a.get(path).await;
        let (sb, bb) = b.get(path).await;
        assert_eq!(sa, 200, "GET {path} on the original: {ba}");
        assert_eq!((sb, &bb), (sa, &ba), "GET {path} differs after the import");
    }
    let (_, candidates) = a.get("/api/v1/candidates?limit=200").await;
    assert_eq!(
        candidates["items"].as_array().map(Vec::len),
        Some(200),
        "the seeded candidates should fill a page: {candidates}"
    );
}
