//! One status per process for `/api/status` (the page polls it every 2 s) and `/metrics`:
//! however many clients poll, the database answers at most one status query per
//! [`MAX_AGE`]. `/readyz` does not use it (it only pings the database).

use std::time::{Duration, Instant};

use anyhow::Result;
use tokio::sync::Mutex;

use crate::store::{Status, Store};

/// How old a shared status may be.
pub(super) const MAX_AGE: Duration = Duration::from_secs(2);

#[derive(Default)]
pub(super) struct StatusCache {
    /// The last status and when its query started. The lock is held during a query, so
    /// callers arriving meanwhile wait for its answer instead of sending their own.
    last: Mutex<Option<(Instant, Status)>>,
}

impl StatusCache {
    /// The shared status when younger than [`MAX_AGE`], else a new one from `store`.
    /// Errors are not kept: the next caller asks again.
    pub(super) async fn get(&self, store: &dyn Store) -> Result<Status> {
        let mut last = self.last.lock().await;
        if let Some((at, status)) = last.as_ref() {
            if at.elapsed() < MAX_AGE {
                return Ok(status.clone());
            }
        }
        Self::query(&mut last, store).await
    }

    /// A new status from `store`, shared from now on (after a cron run changed the counts).
    pub(super) async fn refresh(&self, store: &dyn Store) -> Result<Status> {
        Self::query(&mut *self.last.lock().await, store).await
    }

    async fn query(last: &mut Option<(Instant, Status)>, store: &dyn Store) -> Result<Status> {
        let started = Instant::now();
        let status = store.status().await?;
        *last = Some((started, status.clone()));
        Ok(status)
    }
}
