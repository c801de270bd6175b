//! The deployed twin's network, for `make dev PROFILE=aws` and the tests that run the
//! cluster at the distances between AWS regions.
//!
//! Locally every node is an emulator on loopback, under a millisecond away. Deployed,
//! the nodes are regions 70 to 330 ms apart, and a new connection to one pays TCP's and
//! TLS's handshakes first. A design that only works within a millisecond fails there,
//! so the twin puts a [`Relay`] in front of each node's emulator:
//!
//! - [`distance`]: the round trip between two regions, from a published table;
//! - [`relay`]: a TCP relay that holds every chunk for half a round trip each way, the
//!   first request of a connection two round trips more (the handshakes), with jitter
//!   and, optionally, loss (a lost segment costs a retransmission timeout).
//!
//! The `twin` binary runs one relay per node (see `src/main.rs`).
//!
//! Deployed, a function instance is also frozen between invocations and cut off at its
//! timeout; `cargo lambda watch` does neither, and loses a result it does not get whole.
//! The `twin-runtime` binary stands between an instance and the runtime API it polls,
//! under every `make dev`:
//!
//! - [`freezer`]: the instance's cgroup v1 freezer;
//! - [`runtime`]: the runtime API relay that passes each result on whole, answers an
//!   invocation whose instance ended, and under the twin freezes the instance while it
//!   waits for its next invocation and answers an invocation past the function's timeout
//!   with Lambda's timeout error.

pub mod distance;
pub mod freezer;
pub mod relay;
pub mod runtime;

pub use distance::round_trip;
pub use freezer::{Freezer, FreezerState};
pub use relay::{Link, Relay};
pub use runtime::RuntimeRelay;
