//! vecsync keeps the embeddings of a database table complete and fresh.
//!
//! The crate is split the way the system is:
//! - [`config`]: the settings everyone reads (it needs only `template` and `redact`);
//! - [`redact`]: masks every secret in text that leaves the process (a leaf);
//! - [`template`]: the `{column}` template that turns a row into the text to embed;
//! - [`store`]: where rows, vectors and bookkeeping live (SQLite, PostgreSQL + pgvector);
//! - [`embed`]: what turns text into vectors (the local MiniLM model, OpenAI-compatible APIs);
//! - [`pipeline`]: claim → embed → guarded write, reporting progress as events;
//! - [`migrate`]: moving a table to another embedding model (`vecsync migrate`);
//! - [`cli`]: the `vecsync` command, which renders those events for a terminal;
//! - [`server`]: `vecsync serve`, which renders them as metrics and a status page;
//! - [`vector`]: the little-endian f32 byte layout shared by SQLite BLOBs and base64 answers.
//! - [`doctor`]: `vecsync doctor`, every setup check, read-only, one finding per line.
//!
//! Stores and embedders never know each other; only the pipeline (and the CLI that wires
//! them) sees both.

pub mod cli;
pub mod config;
pub mod demo;
pub mod doctor;
pub mod embed;
pub mod migrate;
pub mod pipeline;
pub mod redact;
pub mod server;
pub mod signal;
pub mod store;
pub mod template;
pub mod vector;
