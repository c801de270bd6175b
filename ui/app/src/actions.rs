//! What the page does: compute, evict, reset, poll the grid, and the bulk runs. Each is
//! one request to the API per n, and updates only the cells it touches.

use std::cell::RefCell;
use std::collections::{HashSet, VecDeque};
use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use primescaler_core::PRIMARY_CALCULATOR;

use crate::client::{self, CallError, GridPoll};
use crate::dom;
use crate::grid::{Asked, CellState, Grid};
use crate::live::{ACTIVE_EVERY_MS, PollSchedule};
use crate::model::{GRID_CELLS, PrimeAnswer};

/// How often a bulk run's progress is shown, in milliseconds.
pub const PROGRESS_EVERY_MS: f64 = 100.0;

/// A message for the status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Whether it reports a failure.
    pub is_error: bool,
    /// The text.
    pub text: String,
}

/// The last answer for one n, as the result panel shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    /// The API's answer.
    pub answer: PrimeAnswer,
    /// The round trip, in milliseconds, as the browser measured it.
    pub round_trip_ms: f64,
}

/// A bulk run's progress.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Progress {
    /// Requests to make.
    pub total: usize,
    /// Requests answered (successfully or not).
    pub done: usize,
    /// Requests that failed, or whose prime was not stored.
    pub failed: usize,
    /// When the run started (`performance.now()` ms).
    pub started_ms: f64,
    /// When the last answer arrived.
    pub last_ms: f64,
    /// Whether the run is going on.
    pub running: bool,
}

impl Progress {
    /// Answers per second so far.
    pub fn throughput(&self) -> f64 {
        let seconds = (self.last_ms - self.started_ms) / 1000.0;
        if seconds > 0.0 {
            self.done as f64 / seconds
        } else {
            0.0
        }
    }

    /// Percent done, 0..=100.
    pub fn percent(&self) -> u32 {
        (self.done * 100).checked_div(self.total).unwrap_or(0) as u32
    }
}

/// The function instances that have answered this page, and their cold starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstancesSeen {
    /// The ids of the instances seen.
    pub ids: HashSet<String>,
    /// The answers that were an instance's first request.
    pub cold_starts: usize,
}

/// Every handle the page's actions use. `Copy`, so event handlers capture it freely.
#[derive(Clone, Copy)]
pub struct Actions {
    /// The grid.
    pub grid: Grid,
    /// The largest n the API accepts.
    pub max_n: u64,
    /// The reset token, as typed.
    pub token: RwSignal<String>,
    /// The status line.
    pub notice: RwSignal<Option<Notice>>,
    /// The last answer shown in the result panel.
    pub shown: RwSignal<Option<Shown>>,
    /// The bulk run's progress.
    pub progress: RwSignal<Progress>,
    /// The instances that have answered this page.
    pub instances: RwSignal<InstancesSeen>,
    /// The placement strategy, as the server rendered it.
    pub strategy: StoredValue<String>,
    /// The wait before the next grid poll, in milliseconds, as the page states it.
    pub poll_every_ms: RwSignal<u32>,
    /// Whether a grid poll is under way.
    polling: StoredValue<bool>,
    /// When the next grid poll is due.
    schedule: StoredValue<PollSchedule>,
    /// The timer of the next grid poll, and when it fires (`performance.now()` ms).
    next_poll: StoredValue<Option<(TimeoutHandle, f64)>>,
}

impl Actions {
    /// Actions over `grid`, for an API that accepts n up to `max_n` and places new
    /// records by `strategy`.
    pub fn new(grid: Grid, max_n: u64, strategy: String) -> Self {
        Self {
            grid,
            max_n,
            strategy: StoredValue::new(strategy),
            poll_every_ms: RwSignal::new(ACTIVE_EVERY_MS),
            schedule: StoredValue::new(PollSchedule::default()),
            next_poll: StoredValue::new(None),
            token: RwSignal::new(String::new()),
            notice: RwSignal::new(None),
            shown: RwSignal::new(None),
            progress: RwSignal::new(Progress::default()),
            instances: RwSignal::new(InstancesSeen::default()),
            polling: StoredValue::new(false),
        }
    }

    fn tell(&self, is_error: bool, text: impl Into<String>) {
        self.notice.set(Some(Notice {
            is_error,
            text: text.into(),
        }));
    }

    fn fail(&self, what: &str, error: &CallError) {
        let hint = if error.needs_token() {
            " Enter the reset token below (`make dev` prints it)."
        } else {
            ""
        };
        self.tell(true, format!("{what}: {}.{hint}", error.message()));
    }

    /// Fetches the nth prime; the cell pulses until the answer arrives. `show` puts the
    /// answer in the result panel. Answers whether the prime is stored (a right answer
    /// that no node confirmed storing leaves the cell as it was).
    pub async fn compute(self, n: u64, show: bool) -> Result<bool, CallError> {
        self.wake();
        let before = self.grid.state(n);
        self.grid.set(n, CellState::Pending);
        let started = dom::now_ms();
        match client::get_prime(n).await {
            Ok(answer) => {
                match &answer.node {
                    Some(name) => {
                        let node = self.grid.node_index(name);
                        self.grid.set(
                            n,
                            CellState::Cached {
                                prime: answer.prime,
                                node,
                                by_fallback: answer.calculator != PRIMARY_CALCULATOR,
                            },
                        );
                        let found = if answer.source == "cache" {
                            Asked::Hit
                        } else {
                            Asked::Computed
                        };
                        self.grid.note_asked(n, found);
                    }
                    // Right, but not confirmed stored: the cell stays as it was.
                    None => {
                        if let Some(state) = before {
                            self.grid.restore(n, state);
                        }
                        self.grid.note_asked(n, Asked::NotStored);
                        if show {
                            self.tell(
                                true,
                                format!(
                                    "p({n}) = {} was computed, but not stored by this request.",
                                    answer.prime
                                ),
                            );
                        }
                    }
                }
                let stored = answer.node.is_some();
                let seen = self
                    .instances
                    .with_untracked(|seen| seen.ids.contains(&answer.instance));
                if !seen || answer.cold_start {
                    self.instances.update(|seen| {
                        seen.ids.insert(answer.instance.clone());
                        seen.cold_starts += usize::from(answer.cold_start);
                    });
                }
                if show {
                    self.shown.set(Some(Shown {
                        answer,
                        round_trip_ms: dom::now_ms() - started,
                    }));
                }
                Ok(stored)
            }
            Err(error) => {
                if let Some(state) = before {
                    self.grid.restore(n, state);
                }
                Err(error)
            }
        }
    }

    /// Evicts n with the reset token.
    pub async fn evict(self, n: u64) {
        self.wake();
        let before = self.grid.state(n);
        self.grid.set(n, CellState::Pending);
        match client::evict_prime(n, &self.token.get_untracked()).await {
            Ok(()) => {
                self.grid.set(n, CellState::Empty);
                self.grid.note_asked(n, Asked::Not);
                self.tell(false, format!("Evicted n = {n}."));
            }
            Err(error) => {
                if let Some(state) = before {
                    self.grid.set(n, state);
                }
                self.fail(&format!("Could not evict n = {n}"), &error);
            }
        }
    }

    /// A click on the cell for n: computes it when empty, evicts it when cached.
    pub fn toggle(self, n: u64) {
        match self.grid.state(n) {
            Some(CellState::Empty) => spawn_local(async move {
                if let Err(error) = self.compute(n, true).await {
                    self.fail(&format!("Could not compute n = {n}"), &error);
                }
            }),
            Some(CellState::Cached { .. }) => spawn_local(self.evict(n)),
            _ => {}
        }
    }

    /// Deletes every cached prime on every node, after the person confirms.
    pub fn reset(self) {
        if !dom::confirm("Delete every cached prime on every node?") {
            return;
        }
        spawn_local(async move {
            match client::clear_cache(&self.token.get_untracked()).await {
                Ok(answer) => {
                    // A partial reset leaves records on some nodes: the grid is read
                    // again, not emptied here, so that no surviving cell is hidden.
                    if !answer.is_partial() {
                        self.grid.clear();
                    }
                    self.shown.set(None);
                    self.schedule.update_value(PollSchedule::wake);
                    self.show_poll_every(ACTIVE_EVERY_MS);
                    self.poll_now();
                    self.tell(answer.is_partial(), answer.summary());
                }
                Err(error) => self.fail("Reset refused", &error),
            }
        });
    }

    /// Polls the grid now (unless a poll is under way), then goes on by the schedule.
    pub fn poll_now(self) {
        self.poll_in(0);
    }

    /// Back to polling every second: the page itself is changing the grid. The next
    /// poll comes within a second, not at once, so that a bulk run's requests are not
    /// each followed by a poll.
    pub fn wake(self) {
        self.schedule.update_value(PollSchedule::wake);
        self.show_poll_every(ACTIVE_EVERY_MS);
        let due = self
            .next_poll
            .with_value(|next| next.as_ref().map(|(_, at)| *at));
        if due.is_none_or(|at| at - dom::now_ms() > f64::from(ACTIVE_EVERY_MS)) {
            self.poll_in(ACTIVE_EVERY_MS);
        }
    }

    /// States the poll interval, when it changed.
    fn show_poll_every(self, ms: u32) {
        if self.poll_every_ms.get_untracked() != ms {
            self.poll_every_ms.set(ms);
        }
    }

    /// Sets the next poll `ms` from now, in place of the one set before.
    fn poll_in(self, ms: u32) {
        if let Some((timer, _)) = self.next_poll.try_update_value(Option::take).flatten() {
            timer.clear();
        }
        let fire = move || {
            self.next_poll.set_value(None);
            self.poll();
        };
        if let Ok(timer) =
            set_timeout_with_handle(fire, std::time::Duration::from_millis(u64::from(ms)))
        {
            self.next_poll
                .set_value(Some((timer, dom::now_ms() + f64::from(ms))));
        }
    }

    /// Reads the grid unless a read is under way, applies what changed, and sets the
    /// next poll by the schedule.
    fn poll(self) {
        if self.polling.get_value() {
            return;
        }
        self.polling.set_value(true);
        spawn_local(async move {
            let changed = match client::poll_grid(&self.grid.version.get_value()).await {
                Ok(GridPoll::Changed(snapshot)) => {
                    self.grid.apply(snapshot);
                    true
                }
                Ok(GridPoll::Unchanged) | Err(_) => false,
            };
            self.grid.refreshed_at.set(dom::now_ms());
            self.polling.set_value(false);
            let wait = self
                .schedule
                .try_update_value(|schedule| schedule.after(changed))
                .unwrap_or(ACTIVE_EVERY_MS);
            self.show_poll_every(wait);
            if self.next_poll.with_value(Option::is_none) {
                self.poll_in(wait);
            }
        });
    }

    /// Computes every n in `ns`, `concurrency` requests at a time, with progress.
    pub fn run_bulk(self, ns: Vec<u64>, concurrency: usize) {
        if self.progress.get_untracked().running {
            return;
        }
        let now = dom::now_ms();
        self.progress.set(Progress {
            total: ns.len(),
            started_ms: now,
            last_ms: now,
            running: true,
            ..Progress::default()
        });
        let queue = Rc::new(RefCell::new(VecDeque::from(ns)));
        let workers = concurrency.max(1);
        let finished = Rc::new(RefCell::new(0usize));
        // Answers are tallied here and shown at most every PROGRESS_EVERY_MS: at a
        // hundred answers a second, repainting the panel for each one would keep the
        // page's main thread busy, and slow the run itself.
        let tally = Rc::new(RefCell::new((0usize, 0usize, 0.0f64)));
        let shown_at = Rc::new(RefCell::new(now));
        for _ in 0..workers {
            let queue = Rc::clone(&queue);
            let finished = Rc::clone(&finished);
            let tally = Rc::clone(&tally);
            let shown_at = Rc::clone(&shown_at);
            spawn_local(async move {
                let show = |tally: &RefCell<(usize, usize, f64)>| {
                    let (done, failed, last_ms) = *tally.borrow();
                    self.progress.update(|p| {
                        p.done = done;
                        p.failed = failed;
                        p.last_ms = last_ms;
                    });
                };
                loop {
                    if !self.progress.get_untracked().running {
                        break;
                    }
                    let next = queue.borrow_mut().pop_front();
                    let Some(n) = next else { break };
                    let outcome = self.compute(n, false).await;
                    let at = dom::now_ms();
                    {
                        let mut t = tally.borrow_mut();
                        t.0 += 1;
                        t.1 += usize::from(!matches!(outcome, Ok(true)));
                        t.2 = at;
                    }
                    if at - *shown_at.borrow() >= PROGRESS_EVERY_MS {
                        *shown_at.borrow_mut() = at;
                        show(&tally);
                    }
                }
                *finished.borrow_mut() += 1;
                if *finished.borrow() == workers {
                    show(&tally);
                    self.progress.update(|p| p.running = false);
                }
            });
        }
    }

    /// Stops a bulk run after the requests already sent.
    pub fn stop_bulk(self) {
        self.progress.update(|p| p.running = false);
    }
}

/// `count` distinct n drawn at random from the grid, 1..=10,000.
pub fn random_grid_indexes(count: usize) -> Vec<u64> {
    let mut all: Vec<u64> = (1..=GRID_CELLS).collect();
    let count = count.min(all.len());
    for i in 0..count {
        let j = i + dom::random_below((all.len() - i) as u64) as usize;
        all.swap(i, j);
    }
    all.truncate(count);
    all
}
