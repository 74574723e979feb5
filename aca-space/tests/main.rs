//! Integration tests of `aca-space`.
#![allow(clippy::unwrap_used)]
mod genotypes;
#[cfg(feature = "tch")]
mod network;
#[cfg(feature = "tch")]
mod progressive;
mod properties;
