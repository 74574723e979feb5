//! The tch modules (default `tch` feature): ops shared by both networks, and the search network.

pub mod ops;
mod search;

pub use search::{SearchNetConfig, SearchNetwork};
