//! Seeded random streams: every draw is a pure function of (seed, stream, epoch, batch), so a run
//! resumed at any batch sees exactly the draws it would have seen.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A generator for the stream named by `path` under `seed`.
pub(crate) fn rng(seed: u64, path: &[u64]) -> ChaCha8Rng {
    let key = path
        .iter()
        .fold(splitmix64(seed), |acc, &p| splitmix64(acc ^ splitmix64(p)));
    ChaCha8Rng::seed_from_u64(key)
}
