//! The node's embedded store: the only module that touches sled.
//!
//! Everything lives in one sled tree under typed key prefixes (see [`Table`]), so a change
//! that touches several records is one atomic `apply_batch`. Writers are serialised by a
//! short, synchronous lock (held only while staging a batch, never across `.await`), which
//! makes read-check-write sequences such as "the referenced employer exists" race-free.
//! Durability is separate: [`Store::commit`] applies the batch and then waits for the
//! group-commit flusher (`flusher.rs`), so every acknowledged write is on disk while
//! concurrent writers share one `fsync`.
//!
//! Values are stored as `crc32 (4 bytes BE) | JSON`. JSON keeps the schema evolvable
//! (fields added later take `#[serde(default)]`); the checksum means a damaged value is
//! reported as [`StoreError::Corrupt`] instead of being served.

mod backup;
mod flusher;
mod tx;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::de::DeserializeOwned;

pub use backup::{
    import, BackupHeader, BackupStats, ImportReport, Snapshot, FORMAT_NAME, FORMAT_VERSION,
};
pub use tx::WriteTx;

/// Meta key of the commit number carried by every batch.
const COMMIT_SEQ: &str = "commit_seq";
/// The durable marker's value when a batch was staged, written with the batch: the marker
/// may never say less than this, and a store that has one must have its marker.
const MARKER_SEEN: &str = "marker_seen";

/// Current on-disk layout version, kept under the meta key `schema_version`.
pub const SCHEMA_VERSION: u64 = 1;

/// Typed errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sled: {0}")]
    Sled(#[from] sled::Error),
    #[error("stored data is damaged at {key}: {reason}")]
    Corrupt { key: String, reason: String },
    #[error("the store was written by an incompatible version (schema {found}, this build reads {expected})")]
    Schema { found: u64, expected: u64 },
    #[error("the store is not initialised (no schema version): is this a node data folder?")]
    NotInitialised,
    #[error("encoding a value: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("flushing to disk failed: {0}")]
    Flush(String),
    #[error("the flusher has stopped")]
    FlusherGone,
    #[error("the store holds commits up to {held}, but commits up to {acknowledged} were acknowledged as durable: acknowledged writes are missing")]
    Lost { acknowledged: u64, held: u64 },
    /// The durable marker is gone, or says less than the store itself shows it said before:
    /// the check for lost acknowledged writes cannot be trusted.
    #[error("the durable marker {marker} is {problem} (the store shows it recorded commit {seen} before): acknowledged writes could be missing unnoticed. Restore the data folder from a backup, or, if you know why the marker changed and the store is complete, run `techhire check --repair-marker`")]
    Marker {
        marker: String,
        problem: &'static str,
        seen: u64,
    },
    /// A backup is being written already (one at a time).
    #[error("a backup is already running; try again when it has finished")]
    BackupRunning,
    #[error("{0}")]
    Backup(String),
    #[error("the backup is not valid at line {line}: {reason}")]
    BackupFormat { line: u64, reason: String },
}

/// What the store's flusher has done ([`Store::flush_stats`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct FlushStats {
    pub flushes: u64,
    pub failures: u64,
    /// Time spent flushing, in all.
    pub seconds: f64,
}

impl StoreError {
    /// Whether the error is the disk being full (`ENOSPC`, or a quota).
    pub fn is_disk_full(&self) -> bool {
        match self {
            StoreError::Sled(sled::Error::Io(io)) => {
                io.kind() == std::io::ErrorKind::StorageFull
                    || io.kind() == std::io::ErrorKind::QuotaExceeded
            }
            StoreError::Flush(reason) => {
                reason.contains("No space left") || reason.contains("quota exceeded")
            }
            _ => false,
        }
    }
}

/// The key prefix of each kind of record. The byte values are part of the on-disk format:
/// never renumber, only append.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Table {
    Meta = 0,
    Counter = 1,
    /// Reverse references: `Refs | target table | target id | source table | source id`.
    Refs = 2,
    /// Forward references: `FwdRefs | source table | source id` → the targets it points at.
    FwdRefs = 3,
    Community = 10,
    Employer = 11,
    Provider = 12,
    Program = 13,
    Candidate = 14,
    CandidatePersonal = 15,
    Opening = 16,
    Assessment = 17,
    Vetting = 18,
    Placement = 19,
    Outreach = 20,
    Introduction = 21,
    /// Audit of blind results shown to employers.
    Shown = 22,
    Account = 30,
    AccountByName = 31,
    Token = 32,
    TokenByHash = 33,
    /// `ShownByOpening | opening id | shown id` → shown id.
    ShownByOpening = 34,
    /// Federation feeds: `Feed | origin key (32) | seq (u64 BE)` → an encoded signed record.
    Feed = 40,
    /// `FeedHead | origin key` → the highest sequence held of that origin's feed.
    FeedHead = 41,
    /// Stewards' certificates and revocations: `Membership | steward key | kind | SHA-256 of
    /// the record` → an encoded signed record.
    Membership = 42,
    /// `FeedKey | origin | kind | record key` → the sequence of the latest record with that
    /// key, so that the one it supersedes can be compacted away.
    FeedKey = 43,
    /// A candidate's shared profile (`sharing`): candidate id → its sharing state.
    Sharing = 44,
    /// `SharingByProfile | profile id (16 bytes)` → the candidate id, while the profile is live.
    SharingByProfile = 45,
    /// Direct messages of introductions waiting for the recipient's acknowledgement
    /// (`federation/direct.rs`): `DirectOutbox | recipient key (32) | message id (u64 BE)` →
    /// `kind (u16 BE) | payload`, signed when sent.
    DirectOutbox = 46,
    /// Introductions that cross the federation, by request id (`federation/direct.rs`):
    /// `DirectIndex | tag | ...` → the local introduction id.
    DirectIndex = 47,
    /// Members' latest signed address records (`federation/discovery.rs`):
    /// `MemberAddresses | origin key (32)` → the encoded record.
    MemberAddresses = 48,
}

impl Table {
    const ALL: [Table; 31] = [
        Table::Meta,
        Table::Counter,
        Table::Refs,
        Table::FwdRefs,
        Table::Community,
        Table::Employer,
        Table::Provider,
        Table::Program,
        Table::Candidate,
        Table::CandidatePersonal,
        Table::Opening,
        Table::Assessment,
        Table::Vetting,
        Table::Placement,
        Table::Outreach,
        Table::Introduction,
        Table::Shown,
        Table::Account,
        Table::AccountByName,
        Table::Token,
        Table::TokenByHash,
        Table::ShownByOpening,
        Table::Feed,
        Table::FeedHead,
        Table::Membership,
        Table::FeedKey,
        Table::Sharing,
        Table::SharingByProfile,
        Table::DirectOutbox,
        Table::DirectIndex,
        Table::MemberAddresses,
    ];

    /// What a record of this table is called, for messages.
    pub fn label(self) -> &'static str {
        match self {
            Table::Employer => "employer",
            Table::Provider => "training provider",
            Table::Program => "program",
            Table::Candidate => "candidate",
            Table::CandidatePersonal => "candidate's personal data",
            Table::Opening => "opening",
            Table::Assessment => "assessment",
            Table::Vetting => "vetting interview",
            Table::Placement => "placement",
            Table::Outreach => "outreach record",
            Table::Introduction => "introduction",
            Table::Shown => "search audit entry",
            Table::Account => "account",
            Table::Token => "token",
            Table::Community => "community",
            Table::Meta
            | Table::Counter
            | Table::Refs
            | Table::FwdRefs
            | Table::AccountByName
            | Table::TokenByHash
            | Table::ShownByOpening
            | Table::FeedHead
            | Table::FeedKey
            | Table::SharingByProfile
            | Table::DirectIndex => "index entry",
            Table::DirectOutbox => "outgoing direct message",
            Table::Feed => "federation record",
            Table::Membership => "membership record",
            Table::MemberAddresses => "member address record",
            Table::Sharing => "profile sharing state",
        }
    }

    fn from_byte(b: u8) -> Option<Table> {
        Table::ALL.iter().copied().find(|t| *t as u8 == b)
    }

    /// The reverse-reference index keeps everything in its keys; its values are empty.
    /// Every other value carries a checksum.
    fn is_key_only(self) -> bool {
        self == Table::Refs
    }
}

/// Removes sled's unfinished snapshots (`snap.<lsn>.generating`) from `path` before it is
/// opened: a start on a full disk can leave an empty one, which sled then takes for a
/// damaged snapshot on every later open although its log is intact. A `.generating` file
/// is never read as truth (sled renames it when the snapshot is complete), so removing it
/// only makes sled recover from its log, as it would have.
fn remove_unfinished_snapshots(path: &Path) -> Result<(), StoreError> {
    let entries = match std::fs::read_dir(path) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(StoreError::Flush(format!(
                "reading {}: {e}",
                path.display()
            )))
        }
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("snap.") && name.ends_with(".generating") {
            tracing::warn!(file = %entry.path().display(), "removing an unfinished sled snapshot (left by a start on a full disk, say)");
            std::fs::remove_file(entry.path()).map_err(|e| {
                StoreError::Flush(format!("removing {}: {e}", entry.path().display()))
            })?;
        }
    }
    Ok(())
}

/// `table | id (u64 BE)`: big-endian so that key order is id order, which paging relies on.
pub fn key(table: Table, id: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = table as u8;
    k[1..].copy_from_slice(&id.to_be_bytes());
    k
}

fn named_key(table: Table, name: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + name.len());
    k.push(table as u8);
    k.extend_from_slice(name);
    k
}

fn refs_prefix(target: Table, target_id: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(19);
    k.push(Table::Refs as u8);
    k.push(target as u8);
    k.extend_from_slice(&target_id.to_be_bytes());
    k
}

fn refs_key(target: Table, target_id: u64, source: Table, source_id: u64) -> Vec<u8> {
    let mut k = refs_prefix(target, target_id);
    k.push(source as u8);
    k.extend_from_slice(&source_id.to_be_bytes());
    k
}

fn fwd_key(source: Table, source_id: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(10);
    k.push(Table::FwdRefs as u8);
    k.extend_from_slice(&key(source, source_id));
    k
}

fn describe_key(k: &[u8]) -> String {
    match (k.first().and_then(|b| Table::from_byte(*b)), k.len()) {
        (Some(t), 9) => {
            let mut id = [0u8; 8];
            id.copy_from_slice(&k[1..9]);
            format!("{t:?}/{}", u64::from_be_bytes(id))
        }
        (Some(t), _) => format!("{t:?}/{}", hex::encode(&k[1..])),
        (None, _) => hex::encode(k),
    }
}

fn encode_value<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    let mut out = vec![0u8; 4];
    serde_json::to_writer(&mut out, value)?;
    let crc = crc32fast::hash(&out[4..]);
    out[..4].copy_from_slice(&crc.to_be_bytes());
    Ok(out)
}

fn decode_value<T: DeserializeOwned>(k: &[u8], raw: &[u8]) -> Result<T, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        key: describe_key(k),
        reason,
    };
    check_value(k, raw)?;
    serde_json::from_slice(&raw[4..]).map_err(|e| corrupt(format!("undecodable value: {e}")))
}

/// An index value (an id, a list of references) with its checksum: `crc32 BE | bytes`.
fn seal(bytes: &[u8]) -> Vec<u8> {
    let mut out = crc32fast::hash(bytes).to_be_bytes().to_vec();
    out.extend_from_slice(bytes);
    out
}

fn unseal<'a>(k: &[u8], raw: &'a [u8]) -> Result<&'a [u8], StoreError> {
    check_value(k, raw)?;
    Ok(&raw[4..])
}

fn check_value(k: &[u8], raw: &[u8]) -> Result<(), StoreError> {
    if raw.len() < 4 {
        return Err(StoreError::Corrupt {
            key: describe_key(k),
            reason: "value shorter than its checksum".into(),
        });
    }
    let mut crc = [0u8; 4];
    crc.copy_from_slice(&raw[..4]);
    if u32::from_be_bytes(crc) != crc32fast::hash(&raw[4..]) {
        return Err(StoreError::Corrupt {
            key: describe_key(k),
            reason: "checksum mismatch".into(),
        });
    }
    Ok(())
}

/// Storage settings taken from the node's config.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// sled's page cache, in bytes.
    pub cache_capacity: u64,
    /// Whether [`Store::open_verified`] reads every record (seconds per million).
    /// Reads check checksums either way.
    pub verify_on_open: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            cache_capacity: 256 * 1024 * 1024,
            verify_on_open: true,
        }
    }
}

/// A named value from [`Store::blob_range`]: its name (without the table byte) and bytes.
pub type Blob = (Vec<u8>, Vec<u8>);

/// Most records one [`Store::list`] call reads.
pub const MAX_SCAN: usize = 20_000;

/// A page of records in key order.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `after` to get the next page; `None` when this was the last page.
    pub next_after: Option<u64>,
}

/// What the integrity check at start-up found.
#[derive(Debug, Clone, Copy, Default)]
pub struct IntegrityReport {
    /// Entries whose checksums were read; 0 when the full check was turned off.
    pub records: u64,
}

/// A handle on the node's database. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    db: sled::Db,
    write_lock: Mutex<()>,
    /// The commit number of the last batch applied (see [`Store::apply`]).
    applied: Arc<AtomicU64>,
    /// What the durable marker says now (the flusher raises it).
    durable: Arc<AtomicU64>,
    /// The database's folder.
    path: std::path::PathBuf,
    flusher: flusher::Flusher,
    /// The pinned values a running backup needs ([`Store::begin_snapshot`]); `None` when no
    /// backup runs.
    snapshot: Mutex<Option<backup::Saved>>,
}

impl Store {
    /// Opens (or creates) the sled database in `path`. Does not check its contents: see
    /// [`Store::open_verified`] for what a serving node uses.
    pub fn open(path: &Path, opts: &StoreOptions) -> Result<Store, StoreError> {
        remove_unfinished_snapshots(path)?;
        let db = sled::Config::new()
            .path(path)
            .cache_capacity(opts.cache_capacity)
            // Durability comes from our own group commit; the background flush only bounds
            // how much an un-acknowledged write could lose.
            .flush_every_ms(Some(1000))
            .open()?;
        // Every batch carries a commit number and the flusher records the last durable one
        // outside sled: if sled recovered fewer commits than that, its recovery dropped
        // acknowledged writes (it treats damage like a torn write and truncates there).
        let held = match db.get(named_key(Table::Meta, COMMIT_SEQ.as_bytes()))? {
            Some(v) => decode_value::<u64>(COMMIT_SEQ.as_bytes(), &v)?,
            None => 0,
        };
        let seen = match db.get(named_key(Table::Meta, MARKER_SEEN.as_bytes()))? {
            Some(v) => decode_value::<u64>(MARKER_SEEN.as_bytes(), &v)?,
            None => 0,
        };
        let marker = flusher::Marker::new(path);
        let acknowledged = match marker.read()? {
            Some(n) if n < seen => return Err(marker.refused("lower than before", seen)),
            Some(n) => n,
            None if seen > 0 => return Err(marker.refused("missing", seen)),
            None => 0,
        };
        if acknowledged > held {
            return Err(StoreError::Lost { acknowledged, held });
        }
        let applied = Arc::new(AtomicU64::new(held));
        let durable = Arc::new(AtomicU64::new(acknowledged));
        let flusher = flusher::Flusher::spawn(db.clone(), path, applied.clone(), durable.clone())?;
        Ok(Store {
            inner: Arc::new(Inner {
                db,
                write_lock: Mutex::new(()),
                applied,
                durable,
                path: path.to_path_buf(),
                flusher,
                snapshot: Mutex::new(None),
            }),
        })
    }

    /// Rewrites the durable marker of the stopped store in `path` to the last commit the
    /// store holds (`techhire check --repair-marker`): for an operator who knows why the
    /// marker went missing or back, e.g. a copy made without it. Returns that commit.
    pub fn repair_marker(path: &Path) -> Result<u64, StoreError> {
        remove_unfinished_snapshots(path)?;
        let db = sled::Config::new().path(path).open()?;
        let held = match db.get(named_key(Table::Meta, COMMIT_SEQ.as_bytes()))? {
            Some(v) => decode_value::<u64>(COMMIT_SEQ.as_bytes(), &v)?,
            None => 0,
        };
        // The marker may not say less than the store saw: raise what it saw to match.
        db.insert(
            named_key(Table::Meta, MARKER_SEEN.as_bytes()),
            encode_value(&held)?,
        )?;
        db.flush()?;
        flusher::Marker::new(path)
            .rewrite(held)
            .map_err(|e| StoreError::Flush(e.to_string()))?;
        Ok(held)
    }

    /// Opens the store and refuses it unless the schema matches and every record's
    /// checksum is intact. A damaged store must stop the node, not serve wrong data.
    pub fn open_verified(
        path: &Path,
        opts: &StoreOptions,
    ) -> Result<(Store, IntegrityReport), StoreError> {
        // sled's recovery panics on some damaged logs (seen with 0.34.7: "tried to serialize
        // Uninitialized" after bytes in the middle of `db/db` were flipped). A panic with a
        // backtrace is not a message an operator can act on: report it as damage.
        let opened =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Store::open(path, opts)));
        let store = match opened {
            Ok(result) => result?,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no message".into());
                return Err(StoreError::Corrupt {
                    key: "the sled log".into(),
                    reason: format!("sled failed while recovering it ({what})"),
                });
            }
        };
        store.check_schema()?;
        let report = if opts.verify_on_open {
            store.verify_all()?
        } else {
            IntegrityReport::default()
        };
        Ok((store, report))
    }

    fn check_schema(&self) -> Result<(), StoreError> {
        match self.get_meta::<u64>("schema_version")? {
            None => Err(StoreError::NotInitialised),
            Some(v) if v == SCHEMA_VERSION => Ok(()),
            Some(found) => Err(StoreError::Schema {
                found,
                expected: SCHEMA_VERSION,
            }),
        }
    }

    /// Reads every record and checks its checksum and key layout.
    pub fn verify_all(&self) -> Result<IntegrityReport, StoreError> {
        let mut report = IntegrityReport::default();
        for item in self.inner.db.iter() {
            let (k, v) = item?;
            let Some(table) = k.first().and_then(|b| Table::from_byte(*b)) else {
                return Err(StoreError::Corrupt {
                    key: describe_key(&k),
                    reason: "unknown key prefix".into(),
                });
            };
            if table.is_key_only() {
                if !v.is_empty() {
                    return Err(StoreError::Corrupt {
                        key: describe_key(&k),
                        reason: "a key-only index entry has a value".into(),
                    });
                }
            } else {
                check_value(&k, &v)?;
            }
            report.records += 1;
        }
        Ok(report)
    }

    /// Flushes so far, for the operator's monitoring.
    pub fn flush_stats(&self) -> FlushStats {
        let c = &self.inner.flusher.counts;
        FlushStats {
            flushes: c.flushes.load(Ordering::Relaxed),
            failures: c.failures.load(Ordering::Relaxed),
            seconds: c.micros.load(Ordering::Relaxed) as f64 / 1e6,
        }
    }

    /// Bytes free to this (unprivileged) process on the database's filesystem.
    pub fn disk_free(&self) -> Result<u64, StoreError> {
        let stat = rustix::fs::statvfs(&self.inner.path).map_err(|e| {
            StoreError::Flush(format!("statvfs {}: {e}", self.inner.path.display()))
        })?;
        Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
    }

    /// Why the store cannot write any more (a flush failed, e.g. the disk is full), if so.
    pub fn write_failure(&self) -> Option<String> {
        self.inner.flusher.failure.get().cloned()
    }

    /// Stages a change under the write lock and applies it atomically, without waiting for
    /// disk. Used by bulk loaders that call [`Store::flush`] once at the end.
    pub fn apply<R, E>(&self, f: impl FnOnce(&mut WriteTx<'_>) -> Result<R, E>) -> Result<R, E>
    where
        E: From<StoreError>,
    {
        Ok(self.stage_and_apply(f)?.0)
    }

    /// Returns the closure's result and whether anything was written.
    fn stage_and_apply<R, E>(
        &self,
        f: impl FnOnce(&mut WriteTx<'_>) -> Result<R, E>,
    ) -> Result<(R, bool), E>
    where
        E: From<StoreError>,
    {
        // A poisoned lock only means another writer panicked while staging; the tree itself
        // is untouched (batches apply whole or not at all), so go on.
        let _guard = self
            .inner
            .write_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // After a failed flush nothing more is applied: a write that could not be made
        // durable must not be visible to readers either.
        if let Some(reason) = self.write_failure() {
            return Err(StoreError::Flush(format!(
                "an earlier flush failed ({reason}); writes resume after the node restarts"
            ))
            .into());
        }
        let mut tx = WriteTx::new(&self.inner.db);
        let out = f(&mut tx)?;
        if tx.is_empty() {
            return Ok((out, false));
        }
        let seq = self.inner.applied.load(Ordering::Acquire).saturating_add(1);
        tx.put_meta(COMMIT_SEQ, &seq)?;
        tx.put_meta(MARKER_SEEN, &self.inner.durable.load(Ordering::Acquire))?;
        // A running backup needs the values these keys had at its pin: saved before the
        // batch is applied, so that the backup never reads a changed value as a pinned one.
        self.save_for_snapshot(tx.keys())?;
        if let Err(e) = tx.apply() {
            if e.is_disk_full() {
                // As after a failed flush: sled's log may be cut short here, so nothing is
                // applied or acknowledged again until the node restarts.
                tracing::error!(error = %e, "the disk is full: no write is saved until the node restarts");
                let _ = self.inner.flusher.failure.set(e.to_string());
            }
            return Err(e.into());
        }
        self.inner.applied.store(seq, Ordering::Release);
        Ok((out, true))
    }

    /// Applies a change atomically and returns once it is on disk. Concurrent callers share
    /// one flush (group commit).
    pub async fn commit<R, E>(
        &self,
        f: impl FnOnce(&mut WriteTx<'_>) -> Result<R, E>,
    ) -> Result<R, E>
    where
        E: From<StoreError>,
    {
        let (out, wrote) = self.stage_and_apply(f)?;
        if wrote {
            self.inner.flusher.wait_durable().await?;
        }
        Ok(out)
    }

    /// The checked bytes stored under `name` in `table` (see [`WriteTx::blob_put`]).
    pub fn blob_get(&self, table: Table, name: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let k = named_key(table, name);
        match self.inner.db.get(&k)? {
            Some(v) => Ok(Some(unseal(&k, &v)?.to_vec())),
            None => Ok(None),
        }
    }

    /// Up to `limit` blobs of `table` whose names start with `prefix`, in name order,
    /// starting after the name `after` (exclusive).
    pub fn blob_range(
        &self,
        table: Table,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Blob>, StoreError> {
        self.named_range(table, prefix, after, limit, |k, v| {
            Ok((k[1..].to_vec(), unseal(k, v)?.to_vec()))
        })
    }

    /// Up to `limit` entries of `table` whose names start with `prefix`, in name order,
    /// after the name `after` (exclusive), each read by `read(key, value)`.
    fn named_range<T>(
        &self,
        table: Table,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
        read: impl Fn(&[u8], &[u8]) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let full = named_key(table, prefix);
        let start = match after {
            // The smallest key greater than `after`.
            Some(a) => {
                let mut k = named_key(table, a);
                k.push(0);
                k
            }
            None => full.clone(),
        };
        let mut out = Vec::new();
        for item in self.inner.db.range(start..) {
            let (k, v) = item?;
            if !k.starts_with(&full) || out.len() == limit {
                break;
            }
            out.push(read(&k, &v)?);
        }
        Ok(out)
    }

    /// The bytes the database takes on disk.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.inner.db.size_on_disk()?)
    }

    /// Flushes everything written so far to disk.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.inner.db.flush()?;
        Ok(())
    }

    pub fn get<T: DeserializeOwned>(&self, table: Table, id: u64) -> Result<Option<T>, StoreError> {
        let k = key(table, id);
        match self.inner.db.get(k)? {
            Some(v) => Ok(Some(decode_value(&k, &v)?)),
            None => Ok(None),
        }
    }

    pub fn get_meta<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, StoreError> {
        let k = named_key(Table::Meta, name.as_bytes());
        match self.inner.db.get(&k)? {
            Some(v) => Ok(Some(decode_value(&k, &v)?)),
            None => Ok(None),
        }
    }

    /// Looks up an id in a name index (`AccountByName`, `TokenByHash`).
    pub fn lookup(&self, index: Table, name: &[u8]) -> Result<Option<u64>, StoreError> {
        let k = named_key(index, name);
        match self.inner.db.get(&k)? {
            Some(v) => Ok(Some(decode_id(&k, unseal(&k, &v)?)?)),
            None => Ok(None),
        }
    }

    /// Records of `table` in id order, starting after `after`, keeping those `keep` accepts,
    /// at most `limit` of them. Reads at most [`MAX_SCAN`] records: a page can then hold
    /// fewer than `limit` items (even none) while `next_after` says there is more.
    pub fn list<T: DeserializeOwned>(
        &self,
        table: Table,
        after: Option<u64>,
        limit: usize,
        mut keep: impl FnMut(&T) -> bool,
    ) -> Result<Page<T>, StoreError> {
        let start = match after {
            Some(id) => match id.checked_add(1) {
                Some(next) => key(table, next),
                None => {
                    return Ok(Page {
                        items: Vec::new(),
                        next_after: None,
                    })
                }
            },
            None => key(table, 0),
        };
        let end = [table as u8 + 1];
        let mut items = Vec::new();
        let mut last = None;
        let mut last_read = None;
        for (scanned, item) in self
            .inner
            .db
            .range(start.to_vec()..end.to_vec())
            .enumerate()
        {
            let (k, v) = item?;
            let id = id_of(&k)?;
            if scanned == MAX_SCAN {
                // A filter that matches little must not read a million records in one
                // request: hand back what was found and where to go on.
                return Ok(Page {
                    items,
                    next_after: last_read,
                });
            }
            last_read = Some(id);
            let value: T = decode_value(&k, &v)?;
            if keep(&value) {
                if items.len() == limit {
                    return Ok(Page {
                        items,
                        next_after: last,
                    });
                }
                items.push(value);
                last = Some(id);
            }
        }
        Ok(Page {
            items,
            next_after: None,
        })
    }

    /// Every record of `table` in id order, with no scan limit: for start-up work such as
    /// rebuilding the search index, never for a request.
    pub fn scan<T: DeserializeOwned>(
        &self,
        table: Table,
    ) -> impl Iterator<Item = Result<(u64, T), StoreError>> + '_ {
        self.inner
            .db
            .range(key(table, 0).to_vec()..vec![table as u8 + 1])
            .map(|item| {
                let (k, v) = item?;
                Ok((id_of(&k)?, decode_value(&k, &v)?))
            })
    }

    /// The records that point at `target` (see [`WriteTx::set_refs`]).
    pub fn referrers(
        &self,
        target: Table,
        target_id: u64,
    ) -> Result<Vec<(Table, u64)>, StoreError> {
        let prefix = refs_prefix(target, target_id);
        self.inner
            .db
            .scan_prefix(&prefix)
            .map(|item| {
                let (k, _) = item?;
                decode_referrer(&k, prefix.len())
            })
            .collect()
    }

    /// The ids in a name index whose names start with `prefix`, in name order, after the
    /// name `after` (exclusive), at most `limit` of them.
    pub fn index_range(
        &self,
        index: Table,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, u64)>, StoreError> {
        self.named_range(index, prefix, after, limit, |k, v| {
            Ok((k[1..].to_vec(), decode_id(k, unseal(k, v)?)?))
        })
    }

    /// SHA-256 over every key and value in key order (each length-prefixed, so boundaries
    /// cannot shift): two stores with the same digest hold the same bytes. Used to check
    /// that seeding is deterministic.
    pub fn digest(&self) -> Result<[u8; 32], StoreError> {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        for item in self.inner.db.iter() {
            let (k, v) = item?;
            hasher.update((k.len() as u64).to_be_bytes());
            hasher.update(&k);
            hasher.update((v.len() as u64).to_be_bytes());
            hasher.update(&v);
        }
        Ok(hasher.finalize().into())
    }
}

/// The source `(table, id)` at the end of a reverse-reference key, after `prefix_len` bytes.
fn decode_referrer(k: &[u8], prefix_len: usize) -> Result<(Table, u64), StoreError> {
    let tail = k.get(prefix_len..).unwrap_or_default();
    let table = tail
        .first()
        .and_then(|b| Table::from_byte(*b))
        .ok_or_else(|| StoreError::Corrupt {
            key: hex::encode(k),
            reason: "malformed reference index entry".into(),
        })?;
    Ok((table, decode_id(k, &tail[1..])?))
}

fn id_of(k: &[u8]) -> Result<u64, StoreError> {
    decode_id(k, k.get(1..).unwrap_or_default())
}

fn decode_id(k: &[u8], bytes: &[u8]) -> Result<u64, StoreError> {
    let arr: [u8; 8] = bytes.try_into().map_err(|_| StoreError::Corrupt {
        key: describe_key(k),
        reason: "expected an 8-byte id".into(),
    })?;
    Ok(u64::from_be_bytes(arr))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("db"), &StoreOptions::default()).expect("open");
        (dir, store)
    }

    #[test]
    fn a_failed_change_writes_nothing() {
        let (_dir, store) = temp_store();
        let result: Result<(), StoreError> = store.apply(|tx| {
            let id = tx.next_id(Table::Outreach)?;
            tx.put(Table::Outreach, id, &"half")?;
            Err(StoreError::FlusherGone)
        });
        assert!(result.is_err());
        assert!(store
            .get::<String>(Table::Outreach, 1)
            .expect("read")
            .is_none());
        let id = store
            .apply(|tx| tx.next_id(Table::Outreach))
            .expect("next id");
        assert_eq!(id, 1, "the refused change must not have used up an id");
    }

    #[test]
    fn long_scans_stop_and_say_where_to_go_on() {
        let (_dir, store) = temp_store();
        let total = MAX_SCAN as u64 + 500;
        for chunk in (1..=total).collect::<Vec<_>>().chunks(1000) {
            store
                .apply(|tx| {
                    for id in chunk {
                        tx.put(Table::Outreach, *id, id)?;
                    }
                    Ok::<_, StoreError>(())
                })
                .expect("write");
        }
        let first = store
            .list::<u64>(Table::Outreach, None, 10, |v| *v == total)
            .expect("list");
        assert!(first.items.is_empty());
        assert_eq!(first.next_after, Some(MAX_SCAN as u64));
        let second = store
            .list::<u64>(Table::Outreach, first.next_after, 10, |v| *v == total)
            .expect("list");
        assert_eq!(second.items, vec![total]);
        assert_eq!(second.next_after, None);
    }

    #[test]
    fn damaged_index_entries_are_errors_not_ids() {
        let (_dir, store) = temp_store();
        store
            .apply(|tx| {
                tx.index_put(Table::TokenByHash, b"hash", 7);
                Ok::<_, StoreError>(())
            })
            .expect("write");
        assert_eq!(
            store.lookup(Table::TokenByHash, b"hash").expect("read"),
            Some(7)
        );
        let mut raw = store
            .inner
            .db
            .get(named_key(Table::TokenByHash, b"hash"))
            .expect("read")
            .expect("present")
            .to_vec();
        raw[11] ^= 1; // the id's last byte: 7 would read as 6
        store
            .inner
            .db
            .insert(named_key(Table::TokenByHash, b"hash"), raw)
            .expect("damage");
        assert!(matches!(
            store.lookup(Table::TokenByHash, b"hash"),
            Err(StoreError::Corrupt { .. })
        ));
        assert!(matches!(
            store.verify_all(),
            Err(StoreError::Corrupt { .. })
        ));
    }

    #[tokio::test]
    async fn a_store_that_lost_acknowledged_commits_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("db");
        {
            let store = Store::open(&path, &StoreOptions::default()).expect("open");
            for i in 0..3u64 {
                store
                    .commit(|tx| tx.put(Table::Outreach, i + 1, &i))
                    .await
                    .expect("commit");
            }
        }
        // As if sled's recovery had cut off the last commits: the marker is ahead.
        let marker = flusher::Marker::new(&path);
        assert_eq!(marker.read().expect("marker"), Some(3));
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(path.join(flusher::MARKER_FILE))
            .expect("marker file");
        flusher::Marker::write(&f, 5).expect("rewrite marker");
        match Store::open(&path, &StoreOptions::default()) {
            Err(StoreError::Lost {
                acknowledged: 5,
                held: 3,
            }) => {}
            Err(e) => panic!("wrong error: {e}"),
            Ok(_) => panic!("a store missing acknowledged commits was opened"),
        }
    }

    async fn three_commits(path: &Path) {
        let store = Store::open(path, &StoreOptions::default()).expect("open");
        for i in 0..3u64 {
            store
                .commit(|tx| tx.put(Table::Outreach, i + 1, &i))
                .await
                .expect("commit");
        }
    }

    #[tokio::test]
    async fn a_missing_or_lowered_marker_is_refused_until_repaired() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db");
        three_commits(&path).await;
        let marker_file = path.join(flusher::MARKER_FILE);
        std::fs::remove_file(&marker_file).expect("remove the marker");
        match Store::open(&path, &StoreOptions::default()) {
            Err(StoreError::Marker { problem, .. }) => assert_eq!(problem, "missing"),
            Err(e) => panic!("wrong error: {e}"),
            Ok(_) => panic!("a store without its marker was opened"),
        }
        assert_eq!(Store::repair_marker(&path).expect("repair"), 3);
        three_commits(&path).await;
        // Lowered below what the store saw it say: refused too.
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&marker_file)
            .expect("marker file");
        flusher::Marker::write(&f, 1).expect("rewrite marker");
        match Store::open(&path, &StoreOptions::default()) {
            Err(StoreError::Marker { problem, seen, .. }) => {
                assert_eq!(problem, "lower than before");
                assert!(seen > 1, "{seen}");
            }
            Err(e) => panic!("wrong error: {e}"),
            Ok(_) => panic!("a store with a lowered marker was opened"),
        }
    }

    #[tokio::test]
    async fn an_unfinished_snapshot_left_by_a_full_disk_is_removed_at_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db");
        three_commits(&path).await;
        let unfinished = path.join("snap.00000000000000A0.generating");
        std::fs::write(&unfinished, b"").expect("an empty unfinished snapshot");
        let store = Store::open(&path, &StoreOptions::default()).expect("opens");
        assert!(!unfinished.exists());
        assert_eq!(store.get::<u64>(Table::Outreach, 3).expect("read"), Some(2));
    }
}
