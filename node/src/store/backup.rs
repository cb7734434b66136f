//! Backups, exports and imports of the whole store as versioned JSON lines.
//!
//! The format (one JSON object per line, UTF-8):
//!
//! ```text
//! {"format":"techhire-backup","version":1,"schema_version":1,"node_key":"<hex>","commit":1234,"created_at":"…"}
//! {"table":"Candidate","key":"<hex of the key after its table byte>","value":"<hex of the stored bytes>"}
//! …one line per stored entry…
//! {"end":{"entries":N,"sha256":"<hex of SHA-256 over every entry line, newline included>"}}
//! ```
//!
//! Tables are named (not numbered) so that a later layout can map them; values are the stored
//! bytes as they are (checksum included), so an import checks every value as a read would. The
//! last line makes a cut file detectable: an import without it, or whose count or digest
//! differ, is refused.
//!
//! A backup of a running store must not interleave with a half-applied batch, and must not
//! stop writers for the length of the copy (minutes at a million candidates). sled 0.34 has
//! no snapshots, so [`Store::begin_snapshot`] pins a point instead: under the write lock (a
//! moment) it reads the commit number and switches on copy-on-write. From then on every
//! writer, before applying its batch, saves the value each key it touches had at the pin
//! (once per key). The copy walks the live tree and takes, for each key, the saved value if
//! the key was written since the pin, and the live one otherwise; keys deleted since the pin
//! are written from the saved values at the end. A live value read for a key that has no
//! saved value yet is the pinned one: the saved value goes in before the batch is applied,
//! and the check comes after the read.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{check_value, decode_value, flusher, named_key, Store, StoreError, Table, COMMIT_SEQ};
use super::{MARKER_SEEN, SCHEMA_VERSION};

/// The first line's `format`.
pub const FORMAT_NAME: &str = "techhire-backup";
/// The version of the JSON-lines format this build writes and reads.
pub const FORMAT_VERSION: u64 = 1;
/// Entries applied per sled batch on import.
const IMPORT_BATCH: usize = 10_000;
/// Entries between flushes on import: sled keeps what it has not flushed in memory (an
/// import of 7 million entries without flushes peaked at 13.6 GB).
const IMPORT_FLUSH_EVERY: u64 = 200_000;

/// The values keys had at the pin, for keys written since: `None` for a key that did not
/// exist then.
pub(super) type Saved = Arc<Mutex<HashMap<Vec<u8>, Option<sled::IVec>>>>;

fn lock(saved: &Saved) -> MutexGuard<'_, HashMap<Vec<u8>, Option<sled::IVec>>> {
    // A writer that panicked left the map as it was after some whole insert: still valid.
    saved.lock().unwrap_or_else(|p| p.into_inner())
}

/// The first line of a backup or export.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BackupHeader {
    pub format: String,
    pub version: u64,
    /// The store's layout version ([`SCHEMA_VERSION`] when written by this build).
    pub schema_version: u64,
    /// The public key of the node the store belongs to (hex), if it knows one.
    pub node_key: Option<String>,
    /// The last commit the backup holds.
    pub commit: u64,
    pub created_at: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    table: String,
    key: String,
    value: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Trailer {
    end: End,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct End {
    entries: u64,
    sha256: String,
}

/// What a finished backup or export wrote.
#[derive(Debug, Clone, Copy)]
pub struct BackupStats {
    pub entries: u64,
    pub bytes: u64,
    /// How long writers were held back while the point was pinned.
    pub writes_held: Duration,
    /// Keys written during the copy whose pinned values were kept aside.
    pub saved_keys: usize,
}

/// A point of the store pinned for a backup ([`Store::begin_snapshot`]). Writers keep
/// saving pinned values until it is written out or dropped.
pub struct Snapshot {
    store: Store,
    saved: Saved,
    commit: u64,
    writes_held: Duration,
}

impl Store {
    /// Pins the store's current state for a backup, holding writers back only while the
    /// commit number is read and copy-on-write is switched on. One backup at a time:
    /// [`StoreError::BackupRunning`] otherwise.
    pub fn begin_snapshot(&self) -> Result<Snapshot, StoreError> {
        let started = Instant::now();
        let _guard = self
            .inner
            .write_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut slot = self
            .inner
            .snapshot
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if slot.is_some() {
            return Err(StoreError::BackupRunning);
        }
        let saved: Saved = Arc::default();
        *slot = Some(saved.clone());
        let commit = self
            .inner
            .applied
            .load(std::sync::atomic::Ordering::Acquire);
        drop(slot);
        let writes_held = started.elapsed();
        Ok(Snapshot {
            store: self.clone(),
            saved,
            commit,
            writes_held,
        })
    }

    /// Returns once every commit applied so far is on disk (so that a backup holds nothing
    /// the node itself could still lose).
    pub async fn sync(&self) -> Result<(), StoreError> {
        self.inner.flusher.wait_durable().await
    }

    /// Called by a writer under the write lock, before it applies a batch touching `keys`:
    /// keeps the pinned value of each for a running backup.
    pub(super) fn save_for_snapshot<'k>(
        &self,
        keys: impl Iterator<Item = &'k Vec<u8>>,
    ) -> Result<(), StoreError> {
        let saved = match &*self
            .inner
            .snapshot
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
        {
            Some(saved) => saved.clone(),
            None => return Ok(()),
        };
        let mut saved = lock(&saved);
        for k in keys {
            if !saved.contains_key(k) {
                let old = self.inner.db.get(k)?;
                saved.insert(k.clone(), old);
            }
        }
        Ok(())
    }

    /// The node key the store remembers (meta `node_key`), for a backup's header.
    fn remembered_node_key(&self) -> Result<Option<String>, StoreError> {
        self.get_meta::<String>("node_key")
    }
}

impl Snapshot {
    /// The last commit the snapshot holds.
    pub fn commit(&self) -> u64 {
        self.commit
    }

    /// How long writers were held back while the point was pinned.
    pub fn writes_held(&self) -> Duration {
        self.writes_held
    }

    /// Writes the pinned state to `out` in the backup format. Blocking: run it off the
    /// async threads.
    pub fn write_to(self, out: &mut impl Write) -> Result<BackupStats, StoreError> {
        let io = |e: std::io::Error| StoreError::Backup(format!("writing the backup: {e}"));
        let header = BackupHeader {
            format: FORMAT_NAME.into(),
            version: FORMAT_VERSION,
            schema_version: self
                .store
                .get_meta::<u64>("schema_version")?
                .unwrap_or(SCHEMA_VERSION),
            node_key: self.store.remembered_node_key()?,
            commit: self.commit,
            created_at: chrono::Utc::now().to_rfc3339(),
        };
        let mut bytes = 0u64;
        let mut line = serde_json::to_vec(&header)?;
        line.push(b'\n');
        out.write_all(&line).map_err(io)?;
        bytes += line.len() as u64;
        let mut hasher = Sha256::new();
        let mut entries = 0u64;
        let mut emit = |k: &[u8], v: &[u8], out: &mut dyn Write| -> Result<(), StoreError> {
            let line = entry_line(k, v)?;
            hasher.update(&line);
            out.write_all(&line).map_err(io)?;
            bytes += line.len() as u64;
            entries += 1;
            Ok(())
        };
        for item in self.store.inner.db.iter() {
            let (k, v) = item?;
            // Checked after the read: a key with no saved value yet has not been written
            // since the pin (writers save before they apply), so `v` is the pinned value.
            if lock(&self.saved).contains_key(k.as_ref()) {
                continue;
            }
            emit(&k, &v, out)?;
        }
        // The copy is done: writers may stop saving. What they saved is the rest of it.
        self.store
            .inner
            .snapshot
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let saved = std::mem::take(&mut *lock(&self.saved));
        let saved_keys = saved.len();
        let mut rest: Vec<_> = saved
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
        rest.sort();
        for (k, v) in rest {
            emit(&k, &v, out)?;
        }
        let trailer = Trailer {
            end: End {
                entries,
                sha256: hex::encode(hasher.finalize()),
            },
        };
        let mut line = serde_json::to_vec(&trailer)?;
        line.push(b'\n');
        out.write_all(&line).map_err(io)?;
        bytes += line.len() as u64;
        out.flush().map_err(io)?;
        Ok(BackupStats {
            entries,
            bytes,
            writes_held: self.writes_held,
            saved_keys,
        })
    }
}

impl Drop for Snapshot {
    /// A backup abandoned half-way (its client went away) must not leave writers saving
    /// values for ever.
    fn drop(&mut self) {
        let mut slot = self
            .store
            .inner
            .snapshot
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if slot.as_ref().is_some_and(|s| Arc::ptr_eq(s, &self.saved)) {
            slot.take();
        }
    }
}

fn entry_line(k: &[u8], v: &[u8]) -> Result<Vec<u8>, StoreError> {
    let table = k
        .first()
        .and_then(|b| Table::from_byte(*b))
        .ok_or_else(|| StoreError::Corrupt {
            key: hex::encode(k),
            reason: "unknown key prefix".into(),
        })?;
    let entry = Entry {
        table: format!("{table:?}"),
        key: hex::encode(&k[1..]),
        value: hex::encode(v),
    };
    let mut line = serde_json::to_vec(&entry)?;
    line.push(b'\n');
    Ok(line)
}

/// What an import wrote.
#[derive(Debug, Clone)]
pub struct ImportReport {
    pub header: BackupHeader,
    pub entries: u64,
}

/// Writes a new database in `path` (which must not exist) from a backup or export read from
/// `input`, checking every line, every value's checksum and the closing count and digest.
/// The durable marker is set to the backup's last commit. On error the caller removes `path`.
pub fn import(path: &Path, input: &mut impl BufRead) -> Result<ImportReport, StoreError> {
    if path.exists() {
        return Err(StoreError::Backup(format!(
            "{} already exists; an import writes a new database only",
            path.display()
        )));
    }
    let mut line = Vec::new();
    let mut number = 0u64;
    let bad = |number: u64, reason: String| StoreError::BackupFormat {
        line: number,
        reason,
    };
    let mut next_line = |line: &mut Vec<u8>, number: &mut u64| -> Result<bool, StoreError> {
        line.clear();
        let n = input
            .read_until(b'\n', line)
            .map_err(|e| StoreError::Backup(format!("reading the backup: {e}")))?;
        *number += 1;
        Ok(n > 0)
    };
    if !next_line(&mut line, &mut number)? {
        return Err(bad(1, "the file is empty".into()));
    }
    let header: BackupHeader =
        serde_json::from_slice(&line).map_err(|e| bad(1, format!("not a backup header ({e})")))?;
    if header.format != FORMAT_NAME {
        return Err(bad(
            1,
            format!("format {:?} is not {FORMAT_NAME:?}", header.format),
        ));
    }
    if header.version != FORMAT_VERSION {
        return Err(bad(
            1,
            format!(
                "backup format version {} (this build reads version {FORMAT_VERSION})",
                header.version
            ),
        ));
    }
    if header.schema_version != SCHEMA_VERSION {
        return Err(StoreError::Schema {
            found: header.schema_version,
            expected: SCHEMA_VERSION,
        });
    }
    // The default page cache, not sled's own 1 GiB: an import writes once and reads little.
    let db = sled::Config::new()
        .path(path)
        .cache_capacity(super::StoreOptions::default().cache_capacity)
        .open()?;
    let mut hasher = Sha256::new();
    let mut entries = 0u64;
    let mut batch = sled::Batch::default();
    let mut in_batch = 0usize;
    let mut trailer = None;
    while next_line(&mut line, &mut number)? {
        if trailer.is_some() {
            return Err(bad(number, "a line after the closing line".into()));
        }
        if line.starts_with(b"{\"end\"") {
            let t: Trailer = serde_json::from_slice(&line)
                .map_err(|e| bad(number, format!("not a closing line ({e})")))?;
            trailer = Some(t.end);
            continue;
        }
        if line.last() != Some(&b'\n') {
            return Err(bad(number, "the file ends in the middle of a line".into()));
        }
        hasher.update(&line);
        let entry: Entry = serde_json::from_slice(&line)
            .map_err(|e| bad(number, format!("not an entry ({e})")))?;
        let (k, v) = decode_entry(&entry).map_err(|reason| bad(number, reason))?;
        batch.insert(k, v);
        entries += 1;
        in_batch += 1;
        if in_batch == IMPORT_BATCH {
            db.apply_batch(std::mem::take(&mut batch))?;
            in_batch = 0;
            if entries % IMPORT_FLUSH_EVERY == 0 {
                db.flush()?;
            }
        }
    }
    let Some(end) = trailer else {
        return Err(bad(
            number,
            "the file ends without its closing line: it was cut short".into(),
        ));
    };
    let digest = hex::encode(hasher.finalize());
    if end.entries != entries || end.sha256 != digest {
        return Err(bad(
            number,
            format!(
                "the closing line says {} entries with SHA-256 {}, the file holds {entries} with {digest}",
                end.entries, end.sha256
            ),
        ));
    }
    db.apply_batch(batch)?;
    let held = match db.get(named_key(Table::Meta, COMMIT_SEQ.as_bytes()))? {
        Some(v) => decode_value::<u64>(COMMIT_SEQ.as_bytes(), &v)?,
        None => 0,
    };
    if held != header.commit {
        return Err(bad(
            1,
            format!(
                "the header says commit {}, the entries hold commit {held}",
                header.commit
            ),
        ));
    }
    // The marker may say no less than the store saw it say; the new store's marker says
    // the last commit it holds, so raise what it "saw" to match.
    db.insert(
        named_key(Table::Meta, MARKER_SEEN.as_bytes()),
        super::encode_value(&held)?,
    )?;
    db.flush()?;
    drop(db);
    flusher::Marker::new(path)
        .rewrite(held)
        .map_err(|e| StoreError::Flush(e.to_string()))?;
    Ok(ImportReport { header, entries })
}

fn decode_entry(entry: &Entry) -> Result<(Vec<u8>, Vec<u8>), String> {
    let table = Table::ALL
        .iter()
        .copied()
        .find(|t| format!("{t:?}") == entry.table)
        .ok_or_else(|| format!("unknown table {:?}", entry.table))?;
    let mut k = vec![table as u8];
    k.extend(hex::decode(&entry.key).map_err(|e| format!("key: {e}"))?);
    let v = hex::decode(&entry.value).map_err(|e| format!("value: {e}"))?;
    if table.is_key_only() {
        if !v.is_empty() {
            return Err("a key-only index entry has a value".into());
        }
    } else {
        check_value(&k, &v).map_err(|e| e.to_string())?;
    }
    Ok((k, v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreOptions;

    async fn store_with(n: u64) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("db"), &StoreOptions::default()).expect("open");
        store
            .commit(|tx| {
                tx.put_meta("schema_version", &SCHEMA_VERSION)?;
                for i in 1..=n {
                    tx.put(Table::Outreach, i, &i)?;
                }
                Ok::<_, StoreError>(())
            })
            .await
            .expect("write");
        (dir, store)
    }

    fn entries_of(store: &Store) -> Vec<(Vec<u8>, Vec<u8>)> {
        store
            .inner
            .db
            .iter()
            .map(|i| i.map(|(k, v)| (k.to_vec(), v.to_vec())))
            .collect::<Result<_, _>>()
            .expect("iterate")
    }

    #[tokio::test]
    async fn a_snapshot_holds_the_pinned_state_whatever_is_written_during_the_copy() {
        let (dir, store) = store_with(10).await;
        let before = entries_of(&store);
        let snap = store.begin_snapshot().expect("pin");
        assert!(matches!(
            store.begin_snapshot(),
            Err(StoreError::BackupRunning)
        ));
        // Overwrite, delete and create after the pin.
        store
            .commit(|tx| {
                tx.put(Table::Outreach, 3, &333u64)?;
                tx.delete(Table::Outreach, 5);
                tx.put(Table::Outreach, 11, &11u64)
            })
            .await
            .expect("write after the pin");
        let mut out = Vec::new();
        let stats = snap.write_to(&mut out).expect("backup");
        assert_eq!(stats.entries, before.len() as u64);
        let restored = dir.path().join("restored");
        let report = import(&restored, &mut out.as_slice()).expect("import");
        assert_eq!(report.entries, before.len() as u64);
        let back = Store::open(&restored, &StoreOptions::default()).expect("open restored");
        let mut expected = before;
        let mut got = entries_of(&back);
        // The import raises the marker it saw to its last commit; compare the rest.
        let seen = named_key(Table::Meta, MARKER_SEEN.as_bytes());
        expected.retain(|(k, _)| *k != seen);
        got.retain(|(k, _)| *k != seen);
        assert_eq!(got, expected);
        // The pin is released: another backup may start.
        drop(store.begin_snapshot().expect("second backup"));
    }

    #[tokio::test]
    async fn a_cut_or_altered_backup_is_refused() {
        let (dir, store) = store_with(50).await;
        let mut out = Vec::new();
        store
            .begin_snapshot()
            .expect("pin")
            .write_to(&mut out)
            .expect("backup");
        let text = String::from_utf8(out).expect("utf-8");
        let lines: Vec<&str> = text.lines().collect();
        let cut = lines[..lines.len() - 1].join("\n") + "\n";
        match import(&dir.path().join("a"), &mut cut.as_bytes()) {
            Err(StoreError::BackupFormat { reason, .. }) => {
                assert!(reason.contains("cut short"), "{reason}")
            }
            other => panic!("a cut backup gave {other:?}"),
        }
        let mut dropped = lines.clone();
        dropped.remove(5);
        let dropped = dropped.join("\n") + "\n";
        match import(&dir.path().join("b"), &mut dropped.as_bytes()) {
            Err(StoreError::BackupFormat { reason, .. }) => {
                assert!(reason.contains("closing line says"), "{reason}")
            }
            other => panic!("a backup missing a line gave {other:?}"),
        }
        let newer = text.replacen("\"version\":1", "\"version\":2", 1);
        match import(&dir.path().join("c"), &mut newer.as_bytes()) {
            Err(StoreError::BackupFormat { line: 1, reason }) => {
                assert!(reason.contains("version 2"), "{reason}")
            }
            other => panic!("a newer format gave {other:?}"),
        }
    }
}
