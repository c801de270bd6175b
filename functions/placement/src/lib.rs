//! Where each n lives: n → shard ([`primescaler_core::shard_of`]) → node, on a
//! consistent-hash ring with virtual nodes ([`ring`]), and what a proposed change of the
//! node set would move ([`what_if`]).
//!
//! This crate does no I/O and depends on the domain alone, so the functions store by it
//! and the page (compiled to wasm) draws the ring and its what-if overlays with the same
//! code, never a copy of it.

pub mod ring;
pub mod what_if;

pub use ring::Ring;
pub use what_if::{InvalidNodes, WhatIf, check_node_names, what_if};
