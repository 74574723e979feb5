//! Integration tests of `aca-eval`.
#![allow(clippy::unwrap_used)]
mod network;
mod stages;
