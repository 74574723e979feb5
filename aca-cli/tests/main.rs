//! Integration tests of the `aca` binary.
#![allow(clippy::unwrap_used)]
mod data;
mod genotype;
mod run;
mod search;
