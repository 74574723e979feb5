//! The random streams of a run, one name per user: loaders that share a seed draw from different
//! streams, so each stream is named here once and a new user picks a new value (a test checks
//! that no two collide). The values are part of reproducibility: changing one changes results.

/// The search's weight-step batches (search-train split).
pub const SEARCH_TRAIN: u64 = 1;
/// The search's architecture-step batches (search-valid split).
pub const SEARCH_VALID: u64 = 2;
/// The search's per-epoch evaluation of the search-valid split.
pub const SEARCH_EVAL: u64 = 3;
/// Taylor channel scoring's validation batches.
pub const SCORE_TAYLOR: u64 = 4;
/// bn-gamma channel scoring's warm-up batches.
pub const SCORE_BN_GAMMA: u64 = 5;
/// The evaluation network's training batches.
pub const TRAIN: u64 = 10;

/// Every stream, for the collision check.
pub const ALL: [u64; 6] = [
    SEARCH_TRAIN,
    SEARCH_VALID,
    SEARCH_EVAL,
    SCORE_TAYLOR,
    SCORE_BN_GAMMA,
    TRAIN,
];

#[cfg(test)]
mod tests {
    #[test]
    fn streams_are_distinct() {
        let mut seen = super::ALL.to_vec();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), super::ALL.len());
    }
}
