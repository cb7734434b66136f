//! Group commit: one thread flushes sled for every writer that is waiting, then records how
//! far the store is durable in a marker file outside sled.
//!
//! A writer applies its batch, then queues a waiter and awaits it. The thread takes every
//! waiter queued so far, calls `flush()` once and answers them all. A waiter is only taken
//! after its batch was applied, so the flush that answers it covers that batch. sled's
//! `flush_async` has reported deadlocks (sled #1140, #1351); a plain `flush()` on one
//! dedicated thread avoids them.
//!
//! sled's `flush()` syncs the log with `sync_file_range`, which survives a killed process
//! but not a power cut (no device cache flush, no metadata); an `fdatasync` of the log file
//! after it closes that gap.
//!
//! The marker: every applied batch carries a commit number (see `Store::apply`). After the
//! flush, the highest number applied before it is written to [`MARKER_FILE`] and synced.
//! sled's recovery treats a damaged log entry like a write torn by a crash and silently
//! drops it and everything after it; the marker lets `Store::open` notice that the store
//! holds fewer commits than were acknowledged, and refuse to serve it.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, OnceLock};

use tokio::sync::oneshot;

use super::StoreError;

/// Lives in the sled folder, so a copy of that folder carries it along.
pub(super) const MARKER_FILE: &str = "techhire.durable";

type Waiter = oneshot::Sender<Result<(), String>>;

/// What the flusher thread reads and raises, shared with the store.
struct Progress {
    /// The highest commit number applied to the tree so far.
    applied: Arc<AtomicU64>,
    /// Raised to every value written to the marker.
    durable: Arc<AtomicU64>,
    failure: Arc<OnceLock<String>>,
    counts: Arc<Counts>,
}

/// What the flusher has done, for the operator's monitoring.
#[derive(Debug, Default)]
pub(super) struct Counts {
    pub(super) flushes: AtomicU64,
    pub(super) failures: AtomicU64,
    pub(super) micros: AtomicU64,
}

pub(super) struct Flusher {
    /// Why flushing failed, once it has: from then on nothing is written or acknowledged
    /// until the node restarts.
    pub(super) failure: Arc<OnceLock<String>>,
    pub(super) counts: Arc<Counts>,
    queue: Option<mpsc::Sender<Waiter>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The commit number made durable last, in `MARKER_FILE`: `u64 BE | crc32 BE of it`.
pub(super) struct Marker {
    path: PathBuf,
}

impl Marker {
    pub(super) fn new(db_dir: &Path) -> Marker {
        Marker {
            path: db_dir.join(MARKER_FILE),
        }
    }

    /// The recorded commit number; `None` if there is no marker file.
    pub(super) fn read(&self) -> Result<Option<u64>, StoreError> {
        let mut bytes = Vec::new();
        match File::open(&self.path) {
            Ok(mut f) => f
                .read_to_end(&mut bytes)
                .map_err(|e| self.damaged(e.to_string()))?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.damaged(e.to_string())),
        };
        let (Some(seq), Some(crc)) = (bytes.get(..8), bytes.get(8..12)) else {
            return Err(self.damaged("too short".into()));
        };
        if bytes.len() != 12 || crc32fast::hash(seq).to_be_bytes() != crc {
            return Err(self.damaged("checksum mismatch".into()));
        }
        let mut n = [0u8; 8];
        n.copy_from_slice(seq);
        Ok(Some(u64::from_be_bytes(n)))
    }

    /// The error for a marker that is missing or went back (`problem`), given what the
    /// store shows it said before (`seen`).
    pub(super) fn refused(&self, problem: &'static str, seen: u64) -> StoreError {
        StoreError::Marker {
            marker: self.path.display().to_string(),
            problem,
            seen,
        }
    }

    /// Writes `seq` as the marker's value and syncs it (`techhire check --repair-marker`).
    pub(super) fn rewrite(&self, seq: u64) -> io::Result<()> {
        Marker::write(&self.open_for_writes()?, seq)
    }

    /// Opens (creating) the marker for rewriting in place.
    fn open_for_writes(&self) -> io::Result<File> {
        std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.path)
    }

    /// Twelve bytes rewritten in place sit in one disk sector, which devices write whole;
    /// the checksum catches it if one ever did not.
    pub(super) fn write(file: &File, seq: u64) -> io::Result<()> {
        let mut bytes = [0u8; 12];
        bytes[..8].copy_from_slice(&seq.to_be_bytes());
        bytes[8..].copy_from_slice(&crc32fast::hash(&seq.to_be_bytes()).to_be_bytes());
        file.write_all_at(&bytes, 0)?;
        file.sync_data()
    }

    fn damaged(&self, reason: String) -> StoreError {
        StoreError::Corrupt {
            key: self.path.display().to_string(),
            reason,
        }
    }
}

impl Flusher {
    /// `applied` is the highest commit number applied to the tree so far.
    /// `durable` is raised to every value written to the marker.
    pub(super) fn spawn(
        db: sled::Db,
        db_dir: &Path,
        applied: Arc<AtomicU64>,
        durable: Arc<AtomicU64>,
    ) -> Result<Flusher, StoreError> {
        let (queue, rx) = mpsc::channel::<Waiter>();
        let marker = Marker::new(db_dir);
        let log_path = db_dir.join("db");
        let failure = Arc::new(OnceLock::new());
        let counts = Arc::new(Counts::default());
        let progress = Progress {
            applied,
            durable,
            failure: failure.clone(),
            counts: counts.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("store-flusher".into())
            .spawn(move || run(db, &log_path, marker, progress, rx))
            .map_err(|e| StoreError::Flush(format!("cannot start the flusher thread: {e}")))?;
        Ok(Flusher {
            failure,
            counts,
            queue: Some(queue),
            thread: Some(thread),
        })
    }

    /// Returns once everything applied before the call is on disk.
    pub(super) async fn wait_durable(&self) -> Result<(), StoreError> {
        let (tx, rx) = oneshot::channel();
        self.queue
            .as_ref()
            .ok_or(StoreError::FlusherGone)?
            .send(tx)
            .map_err(|_| StoreError::FlusherGone)?;
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(reason)) => Err(StoreError::Flush(reason)),
            Err(_) => Err(StoreError::FlusherGone),
        }
    }
}

impl Drop for Flusher {
    /// Stops the thread and waits for it, so that its handle on the database is gone (and
    /// sled's file lock released) when the last store handle is dropped.
    fn drop(&mut self) {
        self.queue.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(
    db: sled::Db,
    log_path: &Path,
    marker: Marker,
    progress: Progress,
    rx: mpsc::Receiver<Waiter>,
) {
    let Progress {
        applied,
        durable,
        failure,
        counts,
    } = progress;
    let mut recorded = durable.load(Ordering::Acquire);
    // Opened lazily, then kept: the flush path should not pay for opening files.
    let mut files: Option<(File, File)> = None;
    // After a failed sync the kernel may have dropped the dirty pages, and a later sync can
    // then report success for data that never reached the disk. So one failure is final:
    // nothing is acknowledged again until the node restarts (and recovers from disk).
    let mut failed: Option<String> = None;
    // Ends when every `Flusher` (and so every store handle) is gone.
    while let Ok(first) = rx.recv() {
        let mut waiters = vec![first];
        waiters.extend(rx.try_iter());
        // Read before flushing: every batch numbered up to here was applied already.
        let target = applied.load(Ordering::Acquire);
        let started = std::time::Instant::now();
        let result = match &failed {
            Some(e) => Err(format!("an earlier flush failed ({e}); restart the node")),
            None => flush(
                &db,
                log_path,
                &marker,
                &mut files,
                target > recorded,
                target,
            ),
        };
        counts.flushes.fetch_add(1, Ordering::Relaxed);
        counts.micros.fetch_add(
            u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        if result.is_err() {
            counts.failures.fetch_add(1, Ordering::Relaxed);
        }
        match &result {
            Ok(()) => {
                recorded = recorded.max(target);
                durable.store(recorded, Ordering::Release);
            }
            Err(e) if failed.is_none() => {
                tracing::error!(error = %e, "store flush failed: no write will be acknowledged until the node restarts");
                failed = Some(e.clone());
                let _ = failure.set(e.clone());
            }
            Err(_) => {}
        }
        for w in waiters {
            // The writer may have gone away (request cancelled); nothing to tell it then.
            let _ = w.send(result.clone());
        }
    }
}

fn flush(
    db: &sled::Db,
    log_path: &Path,
    marker: &Marker,
    files: &mut Option<(File, File)>,
    advance: bool,
    target: u64,
) -> Result<(), String> {
    db.flush().map_err(|e| e.to_string())?;
    if files.is_none() {
        let log =
            File::open(log_path).map_err(|e| format!("opening {}: {e}", log_path.display()))?;
        let m = marker
            .open_for_writes()
            .map_err(|e| format!("opening {MARKER_FILE}: {e}"))?;
        *files = Some((log, m));
    }
    let Some((log, m)) = files.as_ref() else {
        return Err("store files are not open".into());
    };
    log.sync_data()
        .map_err(|e| format!("syncing {}: {e}", log_path.display()))?;
    if advance {
        Marker::write(m, target).map_err(|e| format!("writing {MARKER_FILE}: {e}"))?;
    }
    Ok(())
}
