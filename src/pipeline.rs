//! The pipeline. (Being written.)
