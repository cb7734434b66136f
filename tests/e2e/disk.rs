//! A full disk, for real: the node's data folder on a small tmpfs the test mounts (and
//! unmounts). Writes that cannot be saved get 507 and are not applied, `/healthz` says
//! `degraded` and `/readyz` 503; a restart while the disk is still full, and one after
//! space is freed, leave every acknowledged record there. Skipped, with a loud message,
//! where the machine refuses to mount (not root, no tmpfs).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{candidate, init, path_str, run, temp_dir, Node};

/// A size-limited tmpfs mounted at `path`, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(path: &Path, size: &str) -> Result<Tmpfs, String> {
        std::fs::create_dir_all(path).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .output()
            .map_err(|e| format!("running mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(Tmpfs(path.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fills the filesystem of `file` until a write fails for want of space.
fn fill(file: &Path) {
    let mut f = std::fs::File::create(file).expect("filler file");
    let chunk = vec![0x5au8; 64 * 1024];
    loop {
        match f.write_all(&chunk) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(28) => break,
            Err(e) => panic!("filling the disk: {e}"),
        }
    }
    let _ = f.sync_all();
}

#[tokio::test]
async fn a_full_disk_refuses_writes_with_507_and_loses_nothing_acknowledged() {
    let tmp = temp_dir();
    let mount_point = tmp.path().join("small-disk");
    let disk = match Tmpfs::mount(&mount_point, "48m") {
        Ok(d) => d,
        Err(e) => {
            eprintln!(
                "SKIPPED a_full_disk_refuses_writes_with_507_and_loses_nothing_acknowledged: \
                 cannot mount a size-limited tmpfs here ({e})"
            );
            return;
        }
    };
    let dir = disk.0.join("node");
    let token = init(&dir);
    let node = Node::start(&dir);
    let api = node.api(&token);
    let mut acknowledged = Vec::new();
    for i in 0..20 {
        let (status, body) = api
            .post("/api/v1/candidates", &candidate(&format!("full{i}")))
            .await;
        assert_eq!(status, 201, "{body}");
        acknowledged.push(body["id"].as_u64().unwrap());
    }
    let filler = disk.0.join("filler");
    fill(&filler);

    // Writes now fail: 507 with a reason naming the disk, never a bare 500, and nothing a
    // refused write made is readable.
    // sled writes into log segments it sized earlier, so the first writes after the disk
    // filled may still fit; go on until they do not, then a few more.
    let mut refused = 0;
    for i in 0..20_000 {
        if refused >= 5 {
            break;
        }
        let (status, body) = api
            .post("/api/v1/candidates", &candidate(&format!("late{i}")))
            .await;
        match status {
            201 => acknowledged.push(body["id"].as_u64().unwrap()),
            507 => {
                assert!(body["reason"].as_str().unwrap().contains("disk"), "{body}");
                refused += 1;
            }
            other => panic!("a write on a full disk answered {other}: {body}"),
        }
    }
    assert!(refused > 0, "no write was refused on a full disk");
    let health = reqwest::get(node.url("/healthz")).await.unwrap();
    assert_eq!(health.status(), 200, "alive");
    let health: serde_json::Value = health.json().await.unwrap();
    assert_eq!(health["status"], "degraded", "{health}");
    assert!(health["reason"].as_str().is_some(), "{health}");
    let ready = reqwest::get(node.url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), 503);
    // Reads go on where sled allows: after an I/O error it may refuse every operation
    // until it is reopened, and then says so with the same 507.
    let (status, listed) = api.get("/api/v1/candidates?limit=500").await;
    match status {
        200 => {
            let listed = listed["items"].as_array().map_or(0, Vec::len);
            assert!(
                listed <= acknowledged.len() + 1,
                "refused writes are visible: {listed} listed, {} acknowledged",
                acknowledged.len()
            );
        }
        507 => assert!(listed["reason"].as_str().unwrap().contains("disk")),
        other => panic!("a read on a full disk answered {other}: {listed}"),
    }
    let _ = node.terminate();

    // A restart while the disk is still full: it may refuse to start, but must not damage
    // anything.
    if let Ok(node) = Node::spawn(Node::command(&dir)) {
        let _ = node.terminate();
    }
    std::fs::remove_file(&filler).unwrap();
    let check = run(&["check", "--data-dir", path_str(&dir)]);
    check.assert_success();
    let node = Node::start(&dir);
    let api = node.api(&token);
    for id in &acknowledged {
        let (status, body) = api.get(&format!("/api/v1/candidates/{id}")).await;
        assert_eq!(
            status, 200,
            "acknowledged candidate {id} is missing: {body}"
        );
    }
    let (status, body) = api.post("/api/v1/candidates", &candidate("after")).await;
    assert_eq!(status, 201, "writes resume after space is freed: {body}");
    node.terminate().assert_success();
}
