//! Vectors as bytes: little-endian f32s, the layout of SQLite's embedding BLOBs and of
//! the base64 embeddings of the OpenAI API (`encoding_format: "base64"`).

/// `v` as little-endian f32 bytes (4 bytes per value).
pub fn to_le_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Little-endian f32 bytes as values. Trailing bytes that do not make a whole f32 (fewer
/// than 4) are ignored: callers that must reject such input check the length first.
pub fn from_le_bytes(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_layout() {
        let v = [1.0f32, -0.5, f32::MIN_POSITIVE, 3.25];
        let b = to_le_bytes(&v);
        assert_eq!(b.len(), 16);
        assert_eq!(&b[..4], &1.0f32.to_le_bytes());
        assert_eq!(from_le_bytes(&b), v);
        assert_eq!(from_le_bytes(&b[..7]), [1.0], "a partial f32 is dropped");
    }
}
