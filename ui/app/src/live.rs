//! When the page asks for grid changes: every second while the grid is changing (and
//! after the page's own actions; at once after a reset), and less and less often while
//! it stands still, down to once per [`IDLE_EVERY_MS`]. A page left open all day on a
//! grid that stands still then makes four requests a minute, instead of sixty; the
//! browser suite counts them.

/// The poll interval while the grid is changing, in milliseconds.
pub const ACTIVE_EVERY_MS: u32 = 1_000;

/// Unchanged polls at [`ACTIVE_EVERY_MS`] before the interval starts to grow.
pub const ACTIVE_POLLS: u32 = 5;

/// The longest interval, reached after about half a minute without a change.
pub const IDLE_EVERY_MS: u32 = 15_000;

/// The page's poll interval: [`Self::after`] gives the wait before the next poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollSchedule {
    unchanged: u32,
    every_ms: u32,
}

impl Default for PollSchedule {
    fn default() -> Self {
        Self {
            unchanged: 0,
            every_ms: ACTIVE_EVERY_MS,
        }
    }
}

impl PollSchedule {
    /// The wait before the next poll, after a poll that found a change (`changed`) or
    /// not. A failed poll counts as unchanged.
    pub fn after(&mut self, changed: bool) -> u32 {
        if changed {
            *self = Self::default();
        } else {
            self.unchanged = self.unchanged.saturating_add(1);
            if self.unchanged > ACTIVE_POLLS {
                self.every_ms = (self.every_ms.saturating_mul(2)).min(IDLE_EVERY_MS);
            }
        }
        self.every_ms
    }

    /// Back to polling every second (after the page's own action).
    pub fn wake(&mut self) {
        *self = Self::default();
    }

    /// The current interval, in milliseconds.
    pub fn every_ms(&self) -> u32 {
        self.every_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idle_page_backs_off_to_the_idle_interval_and_a_change_brings_it_back() {
        // GIVEN a page that keeps finding nothing new
        let mut schedule = PollSchedule::default();
        let waits: Vec<u32> = (0..12).map(|_| schedule.after(false)).collect();
        // THEN it polls each second for the first polls, then doubles up to the idle interval
        assert_eq!(
            waits,
            vec![
                1_000, 1_000, 1_000, 1_000, 1_000, 2_000, 4_000, 8_000, 15_000, 15_000, 15_000,
                15_000
            ]
        );
        // WHEN a poll finds a change, or the page acts itself
        assert_eq!(schedule.after(true), ACTIVE_EVERY_MS);
        schedule.after(false);
        schedule.wake();
        // THEN it is back to every second
        assert_eq!(schedule.every_ms(), ACTIVE_EVERY_MS);
    }
}
