//! Integration tests of `aca-space`.
#![allow(clippy::unwrap_used)]
mod genotypes;
#[cfg(feature = "tch")]
mod network;
mod properties;
