//! vecsync's integration tests, in one binary so the suite links tokio, axum and the rest once
//! instead of once per file (9 binaries before). One module per domain; run one with
//! `cargo test --test it postgres::` (or any name filter).
//!
//! Shared helpers: `common` (test databases: SQLite files and fresh PostgreSQL databases on
//! the private server of `scripts/start-postgres.sh`), `mock_openai` (a hostile
//! OpenAI-compatible server on 127.0.0.1).

mod common;
#[path = "support/mock_openai.rs"]
mod mock_openai;

mod browser;
mod cli;
mod doctor;
mod fuzz_parsers;
mod local_model;
mod migrate;
mod migrate_cli;
mod openai_provider;
mod pooler;
mod postgres;
mod reliability;
mod server;
mod status_counts;
mod store_conformance;
mod store_errors;
mod supabase;
mod tls;
