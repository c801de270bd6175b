//! How long a call to a node may take before the node is taken for down.
//!
//! On an open connection a call to a node in another region costs one round trip. On a
//! new one it costs three: TCP's handshake, TLS 1.3's, then the request. A budget fixed
//! small enough to notice a down node quickly (500 ms) is shorter than a far node's new
//! connection (about 700 ms at 230 ms apart): every first call, and every probe after a
//! cool-down, times out, its half-made connection is dropped, and a healthy node stays
//! down for good.
//!
//! So a call's budget is the node's base budget (what the node itself may take: queueing,
//! throttling retries, jitter) plus [`NEW_CONNECTION_ROUND_TRIPS`] of its round trips.
//! The round trip is learnt, as TCP learns its retransmission timer, from the calls that
//! answer: the shortest recent call, since a call takes at least one round trip. Until a
//! call has answered, it is taken to be [`UNKNOWN_ROUND_TRIP`], the longest between two
//! regions, which also bounds what a slow answer teaches. On loopback the budget is the
//! base budget plus a few milliseconds.

use std::sync::Mutex;
use std::time::Duration;

/// Round trips a call on a new connection costs: TCP's handshake, TLS 1.3's, and the
/// request itself.
pub const NEW_CONNECTION_ROUND_TRIPS: u32 = 3;

/// The round trip assumed for a node no call has reached yet: longer than any between
/// two AWS regions (the longest in docs/twin.md's table is 328 ms).
pub const UNKNOWN_ROUND_TRIP: Duration = Duration::from_millis(350);

/// How many answered calls one window of the shortest-call estimate covers. The estimate
/// is the shorter of this window's and the last one's, so a path that grew longer is
/// learnt within two windows.
const WINDOW: u32 = 64;

#[derive(Debug)]
struct Window {
    current: Option<Duration>,
    previous: Option<Duration>,
    samples: u32,
}

/// One node's call budget: a base, and the node's round trip as its calls show it.
#[derive(Debug)]
pub struct CallBudget {
    base: Duration,
    window: Mutex<Window>,
}

impl CallBudget {
    /// A budget of `base` plus the round trips of a new connection.
    pub fn new(base: Duration) -> Self {
        Self {
            base,
            window: Mutex::new(Window {
                current: None,
                previous: None,
                samples: 0,
            }),
        }
    }

    /// The node's round trip, as the shortest recent answered call; `None` before any.
    pub fn round_trip(&self) -> Option<Duration> {
        let window = self.window.lock().expect("budget lock");
        match (window.current, window.previous) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// How long the next call may take: the base plus a new connection's round trips.
    pub fn allowed(&self) -> Duration {
        self.base + self.new_connection()
    }

    /// How long opening a new connection and making one call on it takes: its round
    /// trips (TCP's and TLS's handshakes, then the call).
    pub fn new_connection(&self) -> Duration {
        self.round_trip().unwrap_or(UNKNOWN_ROUND_TRIP) * NEW_CONNECTION_ROUND_TRIPS
    }

    /// A call answered after `took` (taken as at most [`UNKNOWN_ROUND_TRIP`]).
    pub fn observe(&self, took: Duration) {
        let took = took.min(UNKNOWN_ROUND_TRIP);
        let mut window = self.window.lock().expect("budget lock");
        if window.samples == WINDOW {
            window.previous = window.current.take();
            window.samples = 0;
        }
        window.samples += 1;
        window.current = Some(window.current.map_or(took, |shortest| shortest.min(took)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: Duration = Duration::from_millis(500);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn an_unknown_node_is_allowed_a_new_connection_at_the_longest_distance() {
        let budget = CallBudget::new(BASE);
        assert_eq!(budget.round_trip(), None);
        assert_eq!(budget.allowed(), BASE + UNKNOWN_ROUND_TRIP * 3);
    }

    #[test]
    fn a_far_node_is_allowed_its_new_connection_and_a_near_one_little_more_than_the_base() {
        // GIVEN a node 230 ms away whose first call opened a connection (three round trips)
        let far = CallBudget::new(BASE);
        far.observe(ms(690));
        far.observe(ms(231));
        far.observe(ms(240));
        // THEN its next call may open a new connection again
        assert_eq!(far.round_trip(), Some(ms(231)));
        assert!(far.allowed() >= ms(3 * 231) + BASE);

        let near = CallBudget::new(BASE);
        near.observe(ms(2));
        assert_eq!(near.allowed(), BASE + ms(6));
    }

    #[test]
    fn a_call_longer_than_any_round_trip_teaches_no_more_than_the_longest() {
        let budget = CallBudget::new(BASE);
        budget.observe(Duration::from_secs(9));
        assert_eq!(budget.round_trip(), Some(UNKNOWN_ROUND_TRIP));
        assert_eq!(budget.allowed(), BASE + UNKNOWN_ROUND_TRIP * 3);
    }

    #[test]
    fn a_path_that_grew_longer_is_learnt_within_two_windows() {
        let budget = CallBudget::new(BASE);
        budget.observe(ms(80));
        for _ in 0..2 * WINDOW {
            budget.observe(ms(200));
        }
        assert_eq!(budget.round_trip(), Some(ms(200)));
    }

    #[test]
    fn the_shortest_call_of_the_last_two_windows_is_kept() {
        let budget = CallBudget::new(BASE);
        budget.observe(ms(80));
        for _ in 0..WINDOW {
            budget.observe(ms(200));
        }
        assert_eq!(budget.round_trip(), Some(ms(80)), "one window on");
    }
}
