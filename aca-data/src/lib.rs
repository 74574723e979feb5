//! Image datasets for `aca`: readers of the official CIFAR and IDX files, DARTS's split, seeded
//! augmentation and batching into tch tensors.
//!
//! This crate is being built; see the project's issues for its state.
#![warn(missing_docs)]
