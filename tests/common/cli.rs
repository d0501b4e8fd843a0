//! Running the `vecsync` binary in a directory: its output, its exit status, a setup
//! error's single line.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_vecsync");

/// Runs `vecsync args…` in `dir` (no DATABASE_URL from the environment).
pub fn vecsync(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("VECSYNC_MODEL_DIR", super::model_dir())
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .output()
        .expect("run vecsync")
}

/// Stdout of a successful run (panics with both outputs otherwise).
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

pub fn json(out: &Output) -> serde_json::Value {
    serde_json::from_str(&ok(out)).expect("JSON output")
}

/// A setup mistake: exit 2, one line on stderr naming `needle`, no panic or backtrace.
pub fn assert_setup_error(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains(needle), "{stderr:?} should name {needle}");
    assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"));
}
