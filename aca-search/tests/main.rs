//! Integration tests of `aca-search`.
#![allow(clippy::unwrap_used)]
mod gradients;
mod runs;
