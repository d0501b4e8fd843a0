//! The SQL functions vecsync registers on its own connection, and the vector BLOB layout.
//!
//! - `vecsync_md5(text)`: hex MD5 of the text's bytes, the hash the write guard and
//!   staleness compare (PostgreSQL's `md5(text)`);
//! - `vecsync_cosine(a, b)`: cosine similarity of two vector BLOBs (NULL when either is
//!   NULL, NaN when their lengths differ).
//!
//! Only vecsync's connection knows them: nothing that runs in other connections (the
//! triggers) may call them.

use rusqlite::functions::FunctionFlags;
use rusqlite::types::ValueRef;
use rusqlite::Connection;

/// Vectors are little-endian f32 BLOBs (sqlite-vec's layout).
pub fn vector_to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn blob_to_vector(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() || a.is_empty() {
        return f32::NAN;
    }
    let (mut dot, mut na, mut nb) = (0f32, 0f32, 0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    dot / (na.sqrt() * nb.sqrt()).max(f32::EPSILON)
}

/// Hex MD5, as [`crate::template::text_hash`] computes it for a `str`.
fn md5_hex(bytes: &[u8]) -> String {
    use md5::{Digest, Md5};
    hex::encode(Md5::digest(bytes))
}

pub(super) fn register(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    // Over the bytes as stored: a value that is not UTF-8 still hashes (status and the
    // write guard keep working; the claim fails that row alone).
    conn.create_scalar_function("vecsync_md5", 1, flags, |ctx| {
        match ctx.get_raw(0) {
            ValueRef::Null => Ok(None),
            ValueRef::Text(b) | ValueRef::Blob(b) => Ok(Some(md5_hex(b))),
            // Only rendered text (always TEXT) is ever hashed.
            other => Err(rusqlite::Error::InvalidFunctionParameterType(
                0,
                other.data_type(),
            )),
        }
    })?;
    conn.create_scalar_function("vecsync_cosine", 2, flags, |ctx| {
        let a = ctx.get_raw(0).as_blob_or_null()?;
        let b = ctx.get_raw(1).as_blob_or_null()?;
        Ok(match (a, b) {
            (Some(a), Some(b)) => Some(cosine(&blob_to_vector(a), &blob_to_vector(b)) as f64),
            _ => None,
        })
    })
}
