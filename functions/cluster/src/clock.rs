//! The cluster's clock: monotonic instants for deadlines, cool-downs and budgets, and
//! wall-clock milliseconds for what is written (claims, hints, pointer moves).
//!
//! Both come from tokio's clock, so that a test runtime with its time paused (the
//! deterministic simulation) drives every timer, deadline and write grace of the rules,
//! and a seed replays the same run. In production tokio's clock is the system's.

use std::cell::Cell;

/// A monotonic instant on tokio's clock (the system's, unless a test paused it).
pub use tokio::time::Instant;

thread_local! {
    /// Set by a simulation for the thread that runs it: the wall-clock time it starts
    /// at, and tokio's instant then.
    static ORIGIN: Cell<Option<(u64, Instant)>> = const { Cell::new(None) };
}

/// Now, in milliseconds since the Unix epoch: the system's clock, or, on a thread that
/// runs a simulation, its virtual clock.
pub fn now_ms() -> u64 {
    match ORIGIN.get() {
        Some((at_ms, at)) => at_ms + at.elapsed().as_millis() as u64,
        None => primescaler_core::record::now_ms(),
    }
}

/// Starts a virtual wall clock on this thread at `at_ms`, moving with tokio's clock from
/// now on (call it inside a runtime whose time is paused), until the guard is dropped.
#[cfg(feature = "testing")]
pub fn start_virtual(at_ms: u64) -> VirtualClock {
    ORIGIN.set(Some((at_ms, Instant::now())));
    VirtualClock {
        _not_send: std::marker::PhantomData,
    }
}

/// The virtual clock of one simulation; the thread goes back to the system's clock when
/// it is dropped.
#[cfg(feature = "testing")]
pub struct VirtualClock {
    _not_send: std::marker::PhantomData<*const ()>,
}

#[cfg(feature = "testing")]
impl Drop for VirtualClock {
    fn drop(&mut self) {
        ORIGIN.set(None);
    }
}
