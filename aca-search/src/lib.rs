//! The search stage of `aca`: bilevel optimisation of network weights and architecture
//! parameters (DARTS first and second order, PC-DARTS) over an `aca-space` search network.
//!
//! This crate is being built; see the project's issues for its state.
#![warn(missing_docs)]
