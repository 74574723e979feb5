//! The evaluation stage of `aca`: channel ranking, adaptive channel allocation with identity
//! refill, the evaluation network built from a channel plan, and its training from scratch.
//!
//! This crate is being built; see the project's issues for its state.
#![warn(missing_docs)]
