//! Group commit: one thread flushes sled for every writer that is waiting.
//!
//! A writer applies its batch, then queues a waiter and awaits it. The thread takes every
//! waiter queued so far, calls `flush()` once and answers them all. A waiter is only taken
//! after its batch was applied, so the flush that answers it covers that batch. sled's
//! `flush_async` has reported deadlocks (sled #1140, #1351); a plain `flush()` on one
//! dedicated thread avoids them.

use std::sync::mpsc;

use tokio::sync::oneshot;

use super::StoreError;

type Waiter = oneshot::Sender<Result<(), String>>;

pub(super) struct Flusher {
    queue: Option<mpsc::Sender<Waiter>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Flusher {
    pub(super) fn spawn(db: sled::Db) -> Flusher {
        let (queue, rx) = mpsc::channel::<Waiter>();
        let thread = std::thread::Builder::new()
            .name("store-flusher".into())
            .spawn(move || run(db, rx))
            .map_err(|e| tracing::error!("cannot start the store flusher: {e}"))
            .ok();
        Flusher {
            queue: Some(queue),
            thread,
        }
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

fn run(db: sled::Db, rx: mpsc::Receiver<Waiter>) {
    // Ends when every `Flusher` (and so every store handle) is gone.
    while let Ok(first) = rx.recv() {
        let mut waiters = vec![first];
        waiters.extend(rx.try_iter());
        let result = db.flush().map(|_| ()).map_err(|e| e.to_string());
        if let Err(e) = &result {
            tracing::error!(error = %e, "store flush failed");
        }
        for w in waiters {
            // The writer may have gone away (request cancelled); nothing to tell it then.
            let _ = w.send(result.clone());
        }
    }
}
