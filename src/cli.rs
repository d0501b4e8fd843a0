//! The `vecsync` command. (Being written.)
pub fn main() -> i32 { 0 }
