//! Integration tests of `aca-space`.
#![allow(clippy::unwrap_used)]
mod genotypes;
