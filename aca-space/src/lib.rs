//! DARTS search spaces for `aca`.
//!
//! The pure part (always built, no libtorch): primitives and named operation sets ([`OpSet::darts`]
//! and the skip-free [`OpSet::aca`], named by [`Space`]), the cell topology ([`topology`], with the
//! network layout [`topology::cell_slots`]), [`Genotype`] with its three text forms (JSON, DARTS's
//! own, a table) and its Graphviz drawing, the published genotypes ([`published`]) and the
//! derivation rules ([`ArchParams::derive`], FairDARTS's sparse [`ArchParams::derive_sparse`]).
//!
//! ```
//! use aca_space::{published, OpSet, CellType};
//! let g = published("darts_v2").unwrap();
//! assert_eq!(g.skip_count(CellType::Normal), 2);
//! assert!(g.validate_for(&OpSet::aca()).is_err()); // DARTS_V2 uses skip_connect
//! ```
//!
//! With the default `tch` feature, [`nn`] holds the libtorch modules: the DARTS ops (shared with
//! the evaluation network) and the search network with PC-DARTS's options.
#![warn(missing_docs)]

mod derive;
mod error;
mod genotype;
mod learning;
#[cfg(feature = "tch")]
pub mod nn;
mod ops;
mod published;
mod text;
pub mod topology;

pub use derive::{
    derive_cell, edge_weights, softmax_rows, sparse_cell, ArchParams, OpMask, Relaxation,
};
pub use error::{Result, SpaceError};
pub use genotype::{CellType, Concat, GenePair, Genotype};
pub use learning::{ArchLearning, LEARNED_ENTROPY, LEARNED_SHIFT};
pub use ops::{OpSet, Primitive, Space, S1_NORMAL, S1_REDUCE};
pub use published::{published, PUBLISHED};
