//! `techhire backup` (asks a running node, over HTTP), `export` (a stopped node), and
//! `restore` / `import`, which write a new data folder from either.
//!
//! The file format is the store's (`store/backup.rs`): versioned JSON lines of every stored
//! entry. `node.key` and `config.toml` are not in the database and not in the file (a
//! backup file should not carry the node's private key): the operator keeps them in their
//! own backup and hands them to `restore --key/--config`.

use std::fs;
use std::io::{BufReader, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::config::Config;
use crate::http::backup::{COMMIT_HEADER, HELD_HEADER};
use crate::node_dir;
use crate::store::{self, Store};

/// Where a finished file goes, written first beside it under this suffix and renamed when
/// whole, so that a file under the final name is never a cut one.
const PARTIAL: &str = "partial";

fn partial_path(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".");
    name.push(PARTIAL);
    PathBuf::from(name)
}

fn create_new(path: &Path) -> anyhow::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {} (it must not exist yet)", path.display()))
}

/// Syncs and renames the partial file to `out`.
fn finish(file: fs::File, out: &Path) -> anyhow::Result<()> {
    file.sync_all()
        .with_context(|| format!("syncing {}", partial_path(out).display()))?;
    drop(file);
    fs::rename(partial_path(out), out).with_context(|| format!("renaming to {}", out.display()))
}

fn refuse_existing(out: &Path) -> anyhow::Result<()> {
    if out.exists() {
        bail!(
            "{} already exists; refusing to overwrite a backup (choose another --out)",
            out.display()
        );
    }
    Ok(())
}

/// `techhire backup`: streams `POST /api/v1/backup` of the node at `url` into `out`.
pub(super) async fn backup(url: &str, token: &str, out: &Path) -> anyhow::Result<()> {
    refuse_existing(out)?;
    let started = Instant::now();
    let endpoint = format!("{}/api/v1/backup", url.trim_end_matches('/'));
    // No overall timeout: a large store takes minutes to copy.
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .build()
        .context("making an HTTP client")?;
    let mut response = client
        .post(&endpoint)
        .bearer_auth(token.trim())
        .send()
        .await
        .with_context(|| format!("asking {endpoint} (is the node running there? see --url)"))?;
    let code = response.status();
    if !code.is_success() {
        let text = response.text().await.unwrap_or_default();
        let body: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let reason = body["reason"].as_str().unwrap_or(text.as_str());
        bail!("{endpoint} answered {code}: {reason}");
    }
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("?")
            .to_string()
    };
    let (commit, held_us) = (header(COMMIT_HEADER), header(HELD_HEADER));
    let partial = partial_path(out);
    let mut file = create_new(&partial)?;
    let mut bytes = 0u64;
    let mut last = Vec::new();
    let copied: anyhow::Result<()> = async {
        while let Some(chunk) = response
            .chunk()
            .await
            .with_context(|| format!("reading the backup from {endpoint}"))?
        {
            file.write_all(&chunk)
                .with_context(|| format!("writing {}", partial.display()))?;
            bytes += chunk.len() as u64;
            last = chunk
                .get(chunk.len().saturating_sub(200)..)
                .unwrap_or_default()
                .to_vec();
        }
        // The node ends a failed backup with a broken transfer; a transfer that still ends
        // without the closing line is refused here rather than kept as a backup.
        let tail = String::from_utf8_lossy(&last);
        if !tail
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("{\"end\""))
        {
            bail!("the backup from {endpoint} ended without its closing line");
        }
        Ok(())
    }
    .await;
    if let Err(e) = copied {
        drop(file);
        let _ = fs::remove_file(&partial);
        return Err(e);
    }
    finish(file, out)?;
    println!(
        "backup of commit {commit} written to {} ({bytes} bytes in {:.1} s; writes were held for {held_us} µs)",
        out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `techhire export`: the same file from a stopped node's data folder.
pub(super) fn export(data_dir: &Path, out: &Path) -> anyhow::Result<()> {
    refuse_existing(out)?;
    let started = Instant::now();
    let store = node_dir::open_store_for_command(data_dir)?;
    let partial = partial_path(out);
    let file = create_new(&partial)?;
    let mut writer = std::io::BufWriter::with_capacity(1 << 20, file);
    let written = store.begin_snapshot().and_then(|s| s.write_to(&mut writer));
    let stats = match written {
        Ok(stats) => stats,
        Err(e) => {
            drop(writer);
            let _ = fs::remove_file(&partial);
            return Err(e).context("exporting the database");
        }
    };
    let file = writer
        .into_inner()
        .map_err(|e| e.into_error())
        .with_context(|| format!("writing {}", partial.display()))?;
    finish(file, out)?;
    println!(
        "exported {} entries to {} ({} bytes in {:.1} s)",
        stats.entries,
        out.display(),
        stats.bytes,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `techhire restore` / `import`: a new data folder `data_dir` from `file`, with the node
/// key and config given (checked before anything is written). Removes what it made on error.
pub(super) fn restore(
    file: &Path,
    data_dir: &Path,
    key: Option<&Path>,
    config: Option<&Path>,
) -> anyhow::Result<()> {
    if data_dir.exists() {
        bail!(
            "{} already exists; restore writes a new data folder only (choose another --data-dir)",
            data_dir.display()
        );
    }
    let keypair = key
        .map(|k| {
            let text = fs::read_to_string(k).with_context(|| format!("reading {}", k.display()))?;
            techhire_protocol::NodeKeypair::from_hex(&text)
                .with_context(|| format!("{} is not a node key", k.display()))
        })
        .transpose()?;
    let config_text = config
        .map(|c| -> anyhow::Result<String> {
            Config::load(c)?;
            fs::read_to_string(c).with_context(|| format!("reading {}", c.display()))
        })
        .transpose()?;
    let input = fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let made = (|| -> anyhow::Result<store::ImportReport> {
        fs::set_permissions(data_dir, fs::Permissions::from_mode(0o700))
            .with_context(|| format!("restricting {}", data_dir.display()))?;
        let db = data_dir.join(node_dir::DB_DIR);
        let report = store::import(&db, &mut BufReader::with_capacity(1 << 20, input))
            .with_context(|| format!("restoring {}", file.display()))?;
        if let Some(keypair) = &keypair {
            let public = keypair.public().to_string();
            if let Some(expected) = &report.header.node_key {
                if *expected != public {
                    bail!(
                        "the key in the given node.key is {public}, but the backup belongs to the node {expected}: give that node's own node.key"
                    );
                }
            }
            let mut f = create_new(&node_dir::key_path(data_dir))?;
            writeln!(f, "{}", keypair.to_hex())?;
            f.sync_all()?;
        }
        if let Some(text) = &config_text {
            fs::write(data_dir.join(node_dir::CONFIG_FILE), text).context("writing config.toml")?;
        }
        // The restored folder must open as a serving node would open it.
        let mut opts = Config::default().storage.store_options();
        opts.verify_on_open = true;
        let (restored, checked) = Store::open_verified(&db, &opts)
            .with_context(|| format!("checking the restored database {}", db.display()))?;
        drop(restored);
        tracing::debug!(records = checked.records, "restored database checked");
        Ok(report)
    })();
    let report = match made {
        Ok(r) => r,
        Err(e) => {
            let _ = fs::remove_dir_all(data_dir);
            return Err(e);
        }
    };
    println!(
        "restored {} entries (commit {}, taken {}) into {}",
        report.entries,
        report.header.commit,
        report.header.created_at,
        data_dir.display()
    );
    let node_key = report
        .header
        .node_key
        .as_deref()
        .unwrap_or("(not recorded)");
    if keypair.is_none() {
        println!(
            "copy this node's node.key (public key {node_key}) into {} before starting it; the node refuses any other key",
            data_dir.display()
        );
    }
    if config_text.is_none() {
        println!(
            "no --config given: put the node's config.toml into {} (without one the node runs on defaults)",
            data_dir.display()
        );
    }
    Ok(())
}
