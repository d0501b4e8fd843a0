//! vecsync keeps the embeddings of a database table complete and fresh.
//!
//! The crate is split the way the system is:
//! - [`config`]: the settings everyone reads (a leaf: it depends on nothing else here);
//! - [`template`]: the `{column}` template that turns a row into the text to embed;
//! - [`store`]: where rows, vectors and bookkeeping live (SQLite, PostgreSQL + pgvector);
//! - [`embed`]: what turns text into vectors (the local MiniLM model, OpenAI-compatible APIs);
//! - [`pipeline`]: claim → embed → guarded write, reporting progress as events;
//! - [`migrate`]: moving a table to another embedding model (`vecsync migrate`);
//! - [`cli`]: the `vecsync` command, which renders those events for a terminal;
//! - [`server`]: `vecsync serve`, which renders them as metrics and a status page.
//!
//! Stores and embedders never know each other; only the pipeline (and the CLI that wires
//! them) sees both.

pub mod cli;
pub mod config;
pub mod demo;
pub mod embed;
pub mod migrate;
pub mod pipeline;
pub mod server;
pub mod signal;
pub mod store;
pub mod template;
