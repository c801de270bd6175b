//! A circuit breaker per node: after a failure the node is skipped for a cool-down, then
//! one probe request is let through; its outcome closes or reopens the breaker.

use std::sync::Mutex;
use std::time::Duration;

use crate::clock::Instant;

/// What a breaker lets through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Healthy: every call goes through.
    Closed,
    /// Down: calls are skipped until the cool-down ends.
    Open,
    /// Cooling down is over: one probe call is in flight.
    HalfOpen,
}

#[derive(Debug)]
enum Inner {
    Closed,
    Open {
        until: Instant,
    },
    /// A probe is out; if it never reports (its request was dropped), another may go
    /// after `retry_at`.
    HalfOpen {
        retry_at: Instant,
    },
}

/// An early probe taken ([`Breaker::probe_early`]): the end of the cool-down it went
/// ahead of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EarlyProbe {
    until: Instant,
}

/// The last time a breaker opened, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trip {
    /// When the failure was recorded.
    pub at: Instant,
    /// What failed, as the store said it.
    pub reason: String,
}

/// One node's circuit breaker.
#[derive(Debug)]
pub struct Breaker {
    cooldown: Duration,
    inner: Mutex<Inner>,
    /// How many failures were recorded, and the last one.
    trips: Mutex<(u64, Option<Trip>)>,
}

impl Breaker {
    /// A closed breaker that stays open for `cooldown` after a failure.
    pub fn new(cooldown: Duration) -> Self {
        Self {
            cooldown,
            inner: Mutex::new(Inner::Closed),
            trips: Mutex::new((0, None)),
        }
    }

    /// How long the node is skipped after a failure.
    pub fn cooldown(&self) -> Duration {
        self.cooldown
    }

    /// Whether a call may go to the node now. After the cool-down, the first caller gets
    /// `true` (the probe) and the others `false` until the probe reports.
    pub fn allow(&self) -> bool {
        let mut inner = self.inner.lock().expect("breaker lock");
        let now = Instant::now();
        match *inner {
            Inner::Closed => true,
            Inner::Open { until: due } | Inner::HalfOpen { retry_at: due } if now >= due => {
                *inner = Inner::HalfOpen {
                    retry_at: now + self.cooldown,
                };
                true
            }
            Inner::Open { .. } | Inner::HalfOpen { .. } => false,
        }
    }

    /// Whether to probe the node now, ahead of the end of its cool-down by `lead` (the
    /// time a new connection takes to open, at most half the cool-down), from off the
    /// request path: if so, the probe is taken, as by [`Self::allow`], and no request
    /// probes meanwhile. So a node that is back is found back about when its cool-down
    /// ends, with its connection open, and no request pays for opening it. The prober
    /// reports with [`Self::record_success`] or [`Self::early_probe_failed`].
    pub fn probe_early(&self, lead: Duration) -> Option<EarlyProbe> {
        let lead = lead.min(self.cooldown / 2);
        let mut inner = self.inner.lock().expect("breaker lock");
        let now = Instant::now();
        match *inner {
            Inner::Open { until } if now + lead >= until => {
                *inner = Inner::HalfOpen {
                    retry_at: now + lead + self.cooldown,
                };
                Some(EarlyProbe { until })
            }
            _ => None,
        }
    }

    /// An early probe found no answer. That is not taken for the node's failure: off
    /// the request path, the probe may have been frozen with the instance (Lambda
    /// freezes it once it has answered) and timed out on thaw. The breaker goes back to
    /// the cool-down it was in, so that the first request after it probes, as if no
    /// early probe had gone; unless a request has reported on the node meanwhile.
    pub fn early_probe_failed(&self, probe: EarlyProbe) {
        let mut inner = self.inner.lock().expect("breaker lock");
        if let Inner::HalfOpen { .. } = *inner {
            *inner = Inner::Open { until: probe.until };
        }
    }

    /// A call succeeded: the node is healthy.
    pub fn record_success(&self) {
        *self.inner.lock().expect("breaker lock") = Inner::Closed;
    }

    /// A call failed or timed out, for `reason`: skip the node for the cool-down.
    pub fn record_failure(&self, reason: impl Into<String>) {
        let at = Instant::now();
        *self.inner.lock().expect("breaker lock") = Inner::Open {
            until: at + self.cooldown,
        };
        let mut trips = self.trips.lock().expect("breaker lock");
        trips.0 += 1;
        trips.1 = Some(Trip {
            at,
            reason: reason.into(),
        });
    }

    /// How many failures this breaker recorded, and the last one: what an operator
    /// reads to learn why a node was skipped.
    pub fn trips(&self) -> (u64, Option<Trip>) {
        self.trips.lock().expect("breaker lock").clone()
    }

    /// The breaker's state now.
    pub fn state(&self) -> BreakerState {
        match *self.inner.lock().expect("breaker lock") {
            Inner::Closed => BreakerState::Closed,
            Inner::Open { until } if Instant::now() >= until => BreakerState::HalfOpen,
            Inner::Open { .. } => BreakerState::Open,
            Inner::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_opens_the_breaker_until_a_probe_succeeds() {
        let breaker = Breaker::new(Duration::from_millis(30));
        assert!(breaker.allow());

        breaker.record_failure("down");
        assert_eq!(breaker.state(), BreakerState::Open);
        assert!(!breaker.allow());

        std::thread::sleep(Duration::from_millis(40));
        assert!(breaker.allow(), "the probe goes through");
        assert!(!breaker.allow(), "only one probe at a time");

        breaker.record_success();
        assert_eq!(breaker.state(), BreakerState::Closed);
        assert!(breaker.allow());
    }

    #[test]
    fn each_failure_is_counted_and_the_last_one_kept() {
        let breaker = Breaker::new(Duration::from_millis(20));
        assert_eq!(breaker.trips(), (0, None));

        breaker.record_failure("refused");
        breaker.record_success();
        breaker.record_failure("timed out");

        let (count, last) = breaker.trips();
        assert_eq!(count, 2);
        assert_eq!(last.map(|t| t.reason).as_deref(), Some("timed out"));
    }

    #[test]
    fn a_probe_that_never_reports_does_not_shut_the_node_out_for_good() {
        let breaker = Breaker::new(Duration::from_millis(20));
        breaker.record_failure("down");
        std::thread::sleep(Duration::from_millis(30));
        assert!(breaker.allow(), "the first probe");
        // Its request is dropped: neither success nor failure is recorded.
        assert!(!breaker.allow());
        std::thread::sleep(Duration::from_millis(30));
        assert!(breaker.allow(), "another probe after the cool-down");
    }

    #[test]
    fn an_early_probe_goes_once_within_its_lead_of_the_cool_down_end() {
        let breaker = Breaker::new(Duration::from_millis(100));
        let lead = Duration::from_millis(50);
        assert_eq!(breaker.probe_early(lead), None, "closed");
        breaker.record_failure("down");
        assert_eq!(breaker.probe_early(lead), None, "too soon");
        std::thread::sleep(Duration::from_millis(60));
        assert!(breaker.probe_early(lead).is_some());
        assert_eq!(breaker.probe_early(lead), None, "one probe");
        assert!(!breaker.allow(), "no request probes meanwhile");
        breaker.record_success();
        assert!(breaker.allow());
    }

    #[test]
    fn an_early_probe_goes_no_sooner_than_half_the_cool_down() {
        let breaker = Breaker::new(Duration::from_millis(100));
        breaker.record_failure("down");
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(breaker.probe_early(Duration::from_secs(1)), None);
        std::thread::sleep(Duration::from_millis(40));
        assert!(breaker.probe_early(Duration::from_secs(1)).is_some());
    }

    #[test]
    fn a_failed_early_probe_leaves_the_cool_down_as_it_was_and_counts_no_trip() {
        let breaker = Breaker::new(Duration::from_millis(100));
        breaker.record_failure("down");
        std::thread::sleep(Duration::from_millis(60));
        let probe = breaker.probe_early(Duration::from_millis(50)).unwrap();
        breaker.early_probe_failed(probe);
        assert_eq!(breaker.trips().0, 1);
        assert!(!breaker.allow(), "still cooling down");
        std::thread::sleep(Duration::from_millis(50));
        assert!(breaker.allow(), "a request probes when the cool-down ends");
    }

    #[test]
    fn a_failed_early_probe_leaves_a_request_s_report_be() {
        let breaker = Breaker::new(Duration::from_millis(100));
        breaker.record_failure("down");
        std::thread::sleep(Duration::from_millis(60));
        let probe = breaker.probe_early(Duration::from_millis(50)).unwrap();
        breaker.record_success();
        breaker.early_probe_failed(probe);
        assert_eq!(breaker.state(), BreakerState::Closed);
    }

    #[test]
    fn a_failed_probe_reopens_the_breaker() {
        let breaker = Breaker::new(Duration::from_millis(20));
        breaker.record_failure("down");
        std::thread::sleep(Duration::from_millis(30));
        assert!(breaker.allow());
        breaker.record_failure("down");
        assert!(!breaker.allow());
    }
}
