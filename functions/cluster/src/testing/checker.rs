//! The checker of a faulted run: what the nodes hold and what the requests were
//! answered, held to the rules' promises. The simulation and the fault matrix share it.
//!
//! It reads the nodes after the run has converged: faults healed, the write grace past,
//! handoff run until it keeps nothing, and every n of the run requested once more by a
//! clean instance (which settles a claim that was cut off, as any later request would).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::NodeData;
use primescaler_core::{RecordKey, StoredEntry};

/// One answer to `GET /primes/{n}`, as the checker needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The index asked for.
    pub n: u64,
    /// The prime answered, or why no prime was answered (a non-200 for a valid n).
    pub outcome: Result<Answered, String>,
}

/// A prime answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answered {
    /// The prime.
    pub prime: u64,
    /// Whether the answer said its record is stored.
    pub stored: bool,
    /// Whether it came from the cache (rather than computed by this request).
    pub cached: bool,
}

/// What the checker found; every count is 0 in a clean run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    /// Answers during the run, and the n asked.
    pub answers: usize,
    /// Answers that hold a prime other than the nth.
    pub wrong_primes: usize,
    /// Valid requests answered without a prime.
    pub not_answered: usize,
    /// n stored on more than one node.
    pub doubles: usize,
    /// n that an answer said was stored, and that the clean read afterwards had to
    /// compute again (its record was lost).
    pub lost: usize,
    /// n that the clean read afterwards did not find stored.
    pub unstored: usize,
    /// Records that n's arbiter does not lead to (a later read would miss them).
    pub orphans: usize,
    /// Pointers to a node that holds no record of their n.
    pub dangling: usize,
    /// Hints left on the nodes.
    pub hints_left: usize,
    /// Nodes whose record count is not the records they hold (checked in runs where no
    /// count can be lost).
    pub miscounted: usize,
    /// One line per finding, for the report.
    pub details: Vec<String>,
}

impl Findings {
    /// Whether nothing was found.
    pub fn is_clean(&self) -> bool {
        self.wrong_primes
            + self.not_answered
            + self.doubles
            + self.lost
            + self.unstored
            + self.orphans
            + self.dangling
            + self.hints_left
            + self.miscounted
            == 0
    }

    /// Adds the doubles, orphans and dangling pointers of `unaided` (see
    /// [`check_unaided`]), noted as found before any request helped.
    pub fn add_unaided(&mut self, unaided: Findings) {
        self.doubles += unaided.doubles;
        self.orphans += unaided.orphans;
        self.dangling += unaided.dangling;
        for line in unaided.details {
            self.note(format!("before any request: {line}"));
        }
    }

    fn note(&mut self, line: String) {
        if self.details.len() < 20 {
            self.details.push(line);
        }
    }
}

impl fmt::Display for Findings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} answers: {} wrong primes, {} not answered; {} doubles, {} lost, {} unstored, {} orphans, {} dangling pointers, {} hints left, {} miscounted nodes",
            self.answers,
            self.wrong_primes,
            self.not_answered,
            self.doubles,
            self.lost,
            self.unstored,
            self.orphans,
            self.dangling,
            self.hints_left,
            self.miscounted
        )?;
        for line in &self.details {
            write!(f, "\n  {line}")?;
        }
        Ok(())
    }
}

/// n's arbiter, as an index into `nodes`: the home of n's shard on the ring of the
/// newest membership the nodes hold (of every node, when they hold none).
fn arbiters(nodes: &[(String, NodeData)]) -> impl Fn(u64) -> usize {
    let names: Vec<String> = nodes.iter().map(|(name, _)| name.clone()).collect();
    let members = nodes
        .iter()
        .filter_map(|(_, data)| data.membership.as_ref())
        .max_by_key(|m| m.version())
        .map_or_else(|| names.clone(), |m| m.nodes.clone());
    let ring = crate::layout::ring_over(&members);
    move |n| {
        let home = &members[ring.order(RecordKey::for_index(n).shard)[0]];
        names
            .iter()
            .position(|name| name == home)
            .expect("members are nodes")
    }
}

/// Checks what `nodes` hold after the upkeep converged and before any request helped:
/// only its doubles, orphans and dangling pointers count (a hint may still wait for the
/// request that settles its claim).
pub fn check_unaided(mut nodes: Vec<(String, NodeData)>, primes: &[u64]) -> Findings {
    nodes.iter_mut().for_each(|(_, data)| data.hints.clear());
    check(&nodes, &[], &[], primes, false)
}

/// Checks a converged run: `during` were the run's answers, `after` the clean read of
/// every n it asked, `nodes` what each node (by name, in configuration order) holds
/// now, its membership item included (what a reset made invisible is not held), and
/// `primes[n - 1]` the nth prime by a reference. With `counts_exact`, each node's
/// record count must be the records it holds.
pub fn check(
    nodes: &[(String, NodeData)],
    during: &[Answer],
    after: &[Answer],
    primes: &[u64],
    counts_exact: bool,
) -> Findings {
    let mut found = Findings {
        answers: during.len(),
        ..Findings::default()
    };
    for answer in during.iter().chain(after) {
        match &answer.outcome {
            Ok(a) if primes.get(answer.n as usize - 1) != Some(&a.prime) => {
                found.wrong_primes += 1;
                found.note(format!("n = {} answered {}", answer.n, a.prime));
            }
            Ok(_) => {}
            Err(why) => {
                found.not_answered += 1;
                found.note(format!("n = {} not answered: {why}", answer.n));
            }
        }
    }
    let stored_during: BTreeSet<u64> = during
        .iter()
        .filter(|a| a.outcome.as_ref().is_ok_and(|a| a.stored))
        .map(|a| a.n)
        .collect();
    for answer in after {
        if let Ok(a) = &answer.outcome {
            if !a.stored {
                found.unstored += 1;
                found.note(format!("n = {} not stored by the clean read", answer.n));
            } else if !a.cached && stored_during.contains(&answer.n) {
                found.lost += 1;
                found.note(format!("n = {} was answered stored, then lost", answer.n));
            }
        }
    }

    let names: Vec<&str> = nodes.iter().map(|(name, _)| name.as_str()).collect();
    let arbiter_of = arbiters(nodes);
    let mut holders: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for (i, (_, data)) in nodes.iter().enumerate() {
        let records = data
            .visible()
            .filter(|(_, entry)| matches!(entry, StoredEntry::Record(_)))
            .count() as u64;
        if counts_exact && data.figures.items != records {
            found.miscounted += 1;
            found.note(format!(
                "{} counts {} records and holds {records}",
                names[i], data.figures.items
            ));
        }
        for (n, entry) in data.visible() {
            match entry {
                StoredEntry::Record(_) => holders.entry(n).or_default().push(i),
                StoredEntry::Pointer { node, .. } => {
                    let target = names.iter().position(|name| name == node);
                    if target.is_none_or(|t| nodes[t].1.record(n).is_none()) {
                        found.dangling += 1;
                        found.note(format!(
                            "n = {n}: {} points to {node}, which holds nothing",
                            names[i]
                        ));
                    }
                }
            }
        }
        found.hints_left += data.hints.len();
        for hint in data.hints.values() {
            found.note(format!("n = {}: hint left on {}", hint.n, names[i]));
        }
    }
    for (&n, on) in &holders {
        if on.len() > 1 {
            found.doubles += 1;
            found.note(format!("n = {n} stored on {on:?}"));
        }
        let arbiter = arbiter_of(n);
        for &holder in on {
            let leads = holder == arbiter
                || matches!(nodes[arbiter].1.entry(n),
                    Some(StoredEntry::Pointer { node, .. }) if node == names[holder]);
            if !leads {
                found.orphans += 1;
                found.note(format!(
                    "n = {n} on {}: its arbiter {} does not lead to it",
                    names[holder], names[arbiter]
                ));
            }
        }
    }
    found
}
