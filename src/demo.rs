//! Deterministic, realistic job postings for `vecsync demo`. (Being written.)
