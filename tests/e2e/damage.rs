//! A store whose files were damaged must refuse to start, with a message that says so, and
//! `techhire check` must report it: never serve wrong or partial data.
//!
//! How sled 0.34.7 reacts, found by flipping bytes in each of its files: sled writes a
//! snapshot (`db/snap.*`) only when it opens a database; what was written after that is
//! replayed from the log (`db/db`, large pages in `db/blobs/`) at the next start. Damage in
//! data that a snapshot covers is reported (`Corruption`), and so is damage to the snapshot
//! or to `db/conf`. Damage in the log written since the last start is taken for a write torn
//! by a crash: sled drops that message and everything after it without an error (or its
//! recovery panics, which `Store::open_verified` reports as damage). The store's durable
//! commit marker (`db/techhire.durable`, see `store/flusher.rs`) catches that case: the
//! store then holds fewer commits than were acknowledged, and the node refuses it.

use std::path::{Path, PathBuf};

use crate::support::{candidate, init, path_str, run, temp_dir, Node};

const CANDIDATES: usize = 200;

/// A node with `CANDIDATES` candidates, stopped cleanly, then started and stopped once more
/// so that sled's snapshot covers them. Returns the data folder (inside `tmp`).
async fn stopped_node_with_records(tmp: &Path, profile_padding: usize) -> PathBuf {
    let (dir, _) = node_with_records(tmp, profile_padding).await;
    Node::start(&dir).terminate().assert_success();
    let check = run(&["check", "--data-dir", path_str(&dir)]);
    check.assert_success();
    assert!(
        check.stdout.contains("none damaged"),
        "{}",
        check.describe()
    );
    dir
}

/// A node with `CANDIDATES` candidates (ids 1.., emails `damage{i}@example.net`), stopped
/// cleanly once: everything is in sled's log. Returns the folder and an operator token.
async fn node_with_records(tmp: &Path, profile_padding: usize) -> (PathBuf, String) {
    let dir = tmp.join("node");
    let token = init(&dir);
    let node = Node::start(&dir);
    let api = node.api(&token);
    for i in 0..CANDIDATES {
        let mut body = candidate(&format!("damage{i}"));
        if profile_padding > 0 {
            body["profile"]["projects"] = (0..profile_padding)
                .map(|p| serde_json::json!({"name": format!("p{p}"), "description": "d".repeat(3000)}))
                .collect();
        }
        let (status, answer) = api.post("/api/v1/candidates", &body).await;
        assert_eq!(status, 201, "{answer}");
    }
    node.terminate().assert_success();
    (dir, token)
}

/// Inverts `len` bytes of `path` at `offset`.
fn flip(path: &Path, offset: usize, len: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    assert!(
        offset + len <= bytes.len(),
        "{} is too short to damage",
        path.display()
    );
    for b in &mut bytes[offset..offset + len] {
        *b = !*b;
    }
    std::fs::write(path, bytes).unwrap();
}

/// Inverts every occurrence of `needle` in `path`; returns how many there were.
fn flip_every(path: &Path, needle: &[u8]) -> usize {
    let bytes = std::fs::read(path).unwrap();
    let found: Vec<usize> = bytes
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect();
    for &at in &found {
        flip(path, at, needle.len());
    }
    found.len()
}

/// Both `check` and `run` must fail cleanly, say `expected`, and `run` must never listen.
fn assert_refused(dir: &Path, expected: &str) {
    let check = run(&["check", "--data-dir", path_str(dir)]);
    assert!(
        check.assert_failure().contains(expected),
        "`check` should report {expected:?}\n{}",
        check.describe()
    );
    match Node::spawn(Node::command(dir)) {
        Ok(node) => panic!(
            "a damaged store was served on {}\n--- stdout ---\n{}",
            node.addr,
            node.stdout()
        ),
        Err(out) => {
            assert!(
                out.assert_failure().contains(expected),
                "`run` should report {expected:?}\n{}",
                out.describe()
            );
            assert!(!out.stdout.contains("Listening"), "{}", out.describe());
        }
    }
}

#[tokio::test]
async fn a_damaged_record_in_the_log_is_refused() {
    let tmp = temp_dir();
    let dir = stopped_node_with_records(tmp.path(), 0).await;
    // Every copy of one candidate's email (old page versions included), so that the copy
    // the database actually uses is damaged too.
    let flipped = flip_every(&dir.join("db/db"), b"damage57@example.net");
    assert!(flipped > 0, "the record was not found in db/db");
    assert_refused(&dir, "is damaged");
}

/// The case sled alone would miss: damage in the log written since the last start, which
/// its recovery takes for a torn write and silently cuts off. Wherever the damage falls,
/// the node must either refuse the store or serve every acknowledged record intact (a flip
/// can land in a superseded page version that nothing reads).
#[tokio::test]
async fn damage_in_writes_since_the_last_start_is_refused_or_harmless() {
    let mut refused = 0;
    for tenth in 1..10usize {
        let tmp = temp_dir();
        let (dir, token) = node_with_records(tmp.path(), 0).await;
        let log = dir.join("db/db");
        let len = std::fs::metadata(&log).unwrap().len() as usize;
        flip(&log, len * tenth / 10, 16);
        let check = run(&["check", "--data-dir", path_str(&dir)]);
        if check.status.code() != Some(0) {
            assert_refused(&dir, "is damaged");
            refused += 1;
            continue;
        }
        let node = Node::start(&dir);
        let api = node.api(&token);
        for i in 0..CANDIDATES {
            let (status, body) = api.get(&format!("/api/v1/candidates/{}", i + 1)).await;
            assert_eq!(
                status,
                200,
                "damage at {tenth}/10 of the log lost candidate {}: {body}",
                i + 1
            );
            assert_eq!(body["personal"]["email"], format!("damage{i}@example.net"));
        }
    }
    // Without the durable commit marker, sled served a truncated store at most of these.
    assert!(
        refused > 0,
        "no damage was detected at any of the nine offsets"
    );
}

#[tokio::test]
async fn a_damaged_snapshot_is_refused() {
    let tmp = temp_dir();
    let dir = stopped_node_with_records(tmp.path(), 0).await;
    let mut snapshots: Vec<PathBuf> = std::fs::read_dir(dir.join("db"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("snap."))
        })
        .collect();
    snapshots.sort();
    let newest = snapshots.last().expect("sled wrote a snapshot");
    let len = std::fs::metadata(newest).unwrap().len() as usize;
    flip(newest, len / 2, 8);
    assert_refused(&dir, "is damaged");
}

#[tokio::test]
async fn damaged_large_pages_are_refused() {
    let tmp = temp_dir();
    // Profiles of ~60 KB: sled keeps pages over 128 KiB in files of their own, db/blobs/*.
    let dir = stopped_node_with_records(tmp.path(), 20).await;
    let blobs: Vec<PathBuf> = std::fs::read_dir(dir.join("db/blobs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!blobs.is_empty(), "sled wrote no blob files");
    for blob in &blobs {
        let len = std::fs::metadata(blob).unwrap().len() as usize;
        flip(blob, len / 2, 8);
    }
    assert_refused(&dir, "is damaged");
}

#[tokio::test]
async fn a_damaged_sled_settings_file_is_refused() {
    let tmp = temp_dir();
    let dir = stopped_node_with_records(tmp.path(), 0).await;
    flip(&dir.join("db/conf"), 20, 4);
    assert_refused(&dir, "may be damaged");
}

#[tokio::test]
async fn a_missing_durable_marker_is_refused_until_the_operator_repairs_it() {
    let tmp = temp_dir();
    let dir = stopped_node_with_records(tmp.path(), 0).await;
    std::fs::remove_file(dir.join("db/techhire.durable")).unwrap();
    assert_refused(&dir, "durable marker");
    let repaired = run(&["check", "--data-dir", path_str(&dir), "--repair-marker"]);
    repaired.assert_success();
    assert!(
        repaired.stdout.contains("none damaged"),
        "{}",
        repaired.describe()
    );
    Node::start(&dir).terminate().assert_success();
}

#[tokio::test]
async fn a_node_key_that_is_not_this_nodes_is_refused() {
    let tmp = temp_dir();
    let dir = stopped_node_with_records(tmp.path(), 0).await;
    let key_file = dir.join("node.key");
    let text = std::fs::read_to_string(&key_file).unwrap();
    // One hex digit changed: still a valid key, but another node's.
    let mut chars: Vec<char> = text.chars().collect();
    chars[10] = if chars[10] == 'a' { 'b' } else { 'a' };
    std::fs::write(&key_file, chars.into_iter().collect::<String>()).unwrap();
    match Node::spawn(Node::command(&dir)) {
        Ok(node) => panic!("started with another node's key on {}", node.addr),
        Err(out) => assert!(
            out.assert_failure().contains("belongs to the key"),
            "{}",
            out.describe()
        ),
    }
    // The right key back: it starts.
    std::fs::write(&key_file, text).unwrap();
    Node::start(&dir).terminate().assert_success();
}
