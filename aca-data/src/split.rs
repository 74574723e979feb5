//! DARTS's split of the training set into search-train and search-validation parts.

use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};
use crate::raw::Label;
use crate::rng::rng;

/// How the official training split is divided for the search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SplitConfig {
    /// Share of the training set used for weights; the rest trains the architecture.
    /// DARTS `train_search.py --train_portion`: 0.5.
    pub portion: f64,
    /// Draw at most this many search-train images, class-balanced (small presets).
    pub train_limit: Option<usize>,
    /// Draw at most this many search-validation images, class-balanced.
    pub valid_limit: Option<usize>,
}

impl Default for SplitConfig {
    fn default() -> Self {
        Self {
            portion: 0.5,
            train_limit: None,
            valid_limit: None,
        }
    }
}

/// Indices into the official training split.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    /// Search-train images (weights).
    pub train: Vec<usize>,
    /// Search-validation images (architecture).
    pub valid: Vec<usize>,
}

/// DARTS's split: the first `floor(portion * n)` images train the weights, the rest the
/// architecture (DARTS does not shuffle before splitting). Limits then draw class-balanced,
/// seeded subsets of each part.
pub fn darts_split(
    labels: &[Label],
    classes: usize,
    cfg: &SplitConfig,
    seed: u64,
) -> Result<Split> {
    let n = labels.len();
    if !(cfg.portion > 0.0 && cfg.portion < 1.0) {
        return Err(DataError::Config {
            field: "portion",
            value: cfg.portion.to_string(),
            reason: "expected a share strictly between 0 and 1".into(),
        });
    }
    let cut = (cfg.portion * n as f64).floor() as usize;
    if cut == 0 || cut == n {
        return Err(DataError::Config {
            field: "portion",
            value: cfg.portion.to_string(),
            reason: format!("leaves one part of the {n} training images empty"),
        });
    }
    let train: Vec<usize> = (0..cut).collect();
    let valid: Vec<usize> = (cut..n).collect();
    Ok(Split {
        train: match cfg.train_limit {
            Some(k) => balanced_subset(
                train,
                labels,
                classes,
                k,
                "train_limit",
                seed,
                crate::streams::SEARCH_TRAIN,
            )?,
            None => train,
        },
        valid: match cfg.valid_limit {
            Some(k) => balanced_subset(
                valid,
                labels,
                classes,
                k,
                "valid_limit",
                seed,
                crate::streams::SEARCH_VALID,
            )?,
            None => valid,
        },
    })
}

/// A class-balanced subset of `indices` of size `limit` (all of them, with a warning, when there
/// are no more than `limit`): classes take turns, each giving its next
/// image in a seeded shuffled order, so class counts differ by at most one where every class has
/// enough images. Returned sorted. `field` names the option in errors; `stream` (one of
/// [`streams`](crate::streams)) tells apart subsets drawn with the same seed.
pub fn balanced_subset(
    indices: Vec<usize>,
    labels: &[Label],
    classes: usize,
    limit: usize,
    field: &'static str,
    seed: u64,
    stream: u64,
) -> Result<Vec<usize>> {
    if limit == 0 {
        return Err(DataError::Config {
            field,
            value: limit.to_string(),
            reason: "expected at least 1 (a cap on the images used)".into(),
        });
    }
    // A limit is a cap, not a demand: a small dataset (an image folder of 120 images under the
    // tiny preset's 8,000) is used whole.
    if limit >= indices.len() {
        if limit > indices.len() {
            tracing::warn!(
                "{field} = {limit} is more than the {} images there are: using all of them",
                indices.len()
            );
        }
        let mut all = indices;
        all.sort_unstable();
        return Ok(all);
    }
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); classes];
    for &i in &indices {
        by_class[usize::from(labels[i])].push(i);
    }
    let mut r = rng(seed, &[0x5b17, stream]);
    for c in &mut by_class {
        c.shuffle(&mut r);
    }
    let mut out = Vec::with_capacity(limit);
    let mut round = 0;
    while out.len() < limit {
        for c in &by_class {
            if out.len() < limit {
                if let Some(&i) = c.get(round) {
                    out.push(i);
                }
            }
        }
        round += 1;
    }
    out.sort_unstable();
    Ok(out)
}
