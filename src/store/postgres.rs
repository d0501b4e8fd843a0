//! PostgreSQL + pgvector. (Being written.)
use std::time::Duration;

use anyhow::Result;
use async_trait::async_trait;

use super::*;
use crate::config::SourceConfig;

pub struct PostgresStore;

impl PostgresStore {
    pub async fn connect(
        _url: &str,
        _schema: &str,
        _source: &SourceConfig,
        _options: StoreOptions,
    ) -> Result<PostgresStore> {
        anyhow::bail!("postgres store not implemented yet")
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn init(&self) -> Result<()> { todo!() }
    async fn uninstall(&self) -> Result<()> { todo!() }
    async fn prepare(&self, _dimensions: usize) -> Result<()> { todo!() }
    async fn enqueue_needed(&self) -> Result<u64> { todo!() }
    async fn peek_needed(&self, _after: Option<&RowId>, _limit: usize) -> Result<Vec<ClaimedRow>> { todo!() }
    async fn claim(&self, _limit: usize, _lease: Duration) -> Result<Vec<ClaimedRow>> { todo!() }
    async fn complete(&self, _done: &[Completion], _failed: &[Failure]) -> Result<WriteOutcome> { todo!() }
    async fn release(&self, _ids: &[RowId]) -> Result<()> { todo!() }
    async fn retry_failed(&self) -> Result<u64> { todo!() }
    async fn status(&self) -> Result<Status> { todo!() }
    async fn search(&self, _query: &[f32], _k: usize) -> Result<Vec<SearchHit>> { todo!() }
    async fn reconcile(&self) -> Result<u64> { todo!() }
}
