//! State shared by every connection of one mock: config, canned answers, scripts, records.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::canned::Canned;
use crate::config::MockConfig;
use crate::journal::{Journal, RecordedRequest};
use crate::script::Script;

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: MockConfig,
    pub(crate) canned: Canned,
    /// The mock Vertex's issued tokens and queued token failures.
    pub(crate) tokens: crate::vertex::Tokens,
    journal: Mutex<Journal>,
    scripts: Mutex<VecDeque<Script>>,
    cancelled_streams: AtomicUsize,
    next_id: AtomicU64,
    /// Woken on every recorded request and every cancelled stream.
    changed: tokio::sync::Notify,
}

impl Shared {
    pub(crate) fn new(config: MockConfig) -> Self {
        Self {
            canned: Canned::new(&config),
            tokens: crate::vertex::Tokens::default(),
            config,
            journal: Mutex::default(),
            scripts: Mutex::default(),
            cancelled_streams: AtomicUsize::new(0),
            next_id: AtomicU64::new(1),
            changed: tokio::sync::Notify::new(),
        }
    }

    /// A fresh number for this answer's ids (`msg_mock_<n>`, `req_mock_<n>`, …).
    pub(crate) fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn record(&self, request: RecordedRequest) {
        lock(&self.journal).record(request);
        self.changed.notify_waiters();
    }

    pub(crate) fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.journal).requests()
    }

    pub(crate) fn hits(&self, path: &str) -> usize {
        lock(&self.journal).hits(path)
    }

    pub(crate) fn push_script(&self, script: Script) {
        lock(&self.scripts).push_back(script);
    }

    /// Pops the head script if it answers a request of this streaming mode and route.
    pub(crate) fn take_script(&self, streaming: bool, bedrock_stream: bool) -> Option<Script> {
        let mut scripts = lock(&self.scripts);
        if scripts.front()?.matches(streaming, bedrock_stream) {
            scripts.pop_front()
        } else {
            None
        }
    }

    pub(crate) fn stream_cancelled(&self) {
        self.cancelled_streams.fetch_add(1, Ordering::SeqCst);
        self.changed.notify_waiters();
    }

    pub(crate) fn cancelled_streams(&self) -> usize {
        self.cancelled_streams.load(Ordering::SeqCst)
    }

    /// Waits until `done` holds, re-checking on every change; false on timeout.
    pub(crate) async fn wait_until(&self, done: impl Fn(&Self) -> bool, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let changed = self.changed.notified();
            let mut changed = std::pin::pin!(changed);
            // Registered before checking, so a change between check and await is not missed.
            changed.as_mut().enable();
            if done(self) {
                return true;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return done(self);
            }
        }
    }
}

/// Locks, ignoring poisoning: every critical section leaves the data consistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
