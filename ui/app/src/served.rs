//! "Served from": the grid coloured by where each answer came from.
//!
//! - A cached cell is held at its **home** (the first node of its placement order) or on
//!   a **failover successor** (its home was down when it was stored): the record's node
//!   against the ring the functions place by, run here in the browser.
//! - It was computed by the **primary** calculator or by the **fallback** (the record's
//!   calculator, one list of n in the grid snapshot, usually empty).
//! - For the requests this page made: a **hit**, **computed** and stored, or computed but
//!   **not stored** (no node confirmed storing it).
//!
//! It updates with every grid change, and asks nothing of its own: no write per hit.

use leptos::prelude::*;
use primescaler_core::shard_of;

use crate::grid::{Asked, CellState, Grid, GridMode};
use crate::overlay::{Mark, Overlay, Shape};
use crate::panels::group_digits;

/// What one cell shows in the served-from mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Served {
    /// Where its record is: `None` when not cached.
    pub place: Option<Place>,
    /// Whether the fallback calculator computed it.
    pub by_fallback: bool,
    /// What this page's own last request for it found.
    pub asked: Asked,
}

/// Where a cached cell's record is, against its placement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// On its home node.
    Home,
    /// On a later node of its placement order.
    Successor,
}

impl Served {
    /// How the overlay draws the cell: at its home a blue square, on a successor an
    /// orange disc, computed by this page but not stored a red triangle; a white corner
    /// when the fallback computed it; a ring for this page's own hit (light) or
    /// computation (dark).
    pub fn mark(self) -> Mark {
        let fill = match (self.place, self.asked) {
            (Some(Place::Home), _) => Some((Shape::Square, "--color-sky-700")),
            (Some(Place::Successor), _) => Some((Shape::Circle, "--color-orange-600")),
            (None, Asked::NotStored) => Some((Shape::Triangle, "--color-red-700")),
            (None, _) => None,
        };
        let ring = match (self.place, self.asked) {
            (Some(_), Asked::Hit) => Some("--color-sky-200"),
            (Some(_), Asked::Computed) => Some("--color-slate-900"),
            _ => None,
        };
        Mark {
            fill,
            ring,
            corner: self.place.is_some() && self.by_fallback,
        }
    }
}

/// The counts the legend shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ServedCounts {
    /// Cached at their home.
    pub home: usize,
    /// Cached on a failover successor.
    pub successor: usize,
    /// Computed by the fallback calculator.
    pub fallback: usize,
    /// This page's hits.
    pub hits: usize,
    /// Computed and stored by this page.
    pub computed: usize,
    /// Computed by this page, not stored.
    pub not_stored: usize,
}

/// Every cell's served-from state, from the grid's states, what the page asked, the
/// node names the states index, and each n's home name.
pub fn served_cells(
    states: &[CellState],
    asked: &[Asked],
    names: &[String],
    home_of: impl Fn(u64) -> String,
) -> Vec<Served> {
    states
        .iter()
        .zip(asked)
        .enumerate()
        .map(|(i, (state, &asked))| {
            let n = i as u64 + 1;
            let (place, by_fallback) = match *state {
                CellState::Cached {
                    node, by_fallback, ..
                } => {
                    let home = names.get(node).is_some_and(|name| *name == home_of(n));
                    (
                        Some(if home { Place::Home } else { Place::Successor }),
                        by_fallback,
                    )
                }
                _ => (None, false),
            };
            Served {
                place,
                by_fallback,
                asked,
            }
        })
        .collect()
}

/// Counts `cells` for the legend.
pub fn count(cells: &[Served]) -> ServedCounts {
    let mut counts = ServedCounts::default();
    for cell in cells {
        match cell.place {
            Some(Place::Home) => counts.home += 1,
            Some(Place::Successor) => counts.successor += 1,
            None => {}
        }
        counts.fallback += usize::from(cell.place.is_some() && cell.by_fallback);
        match cell.asked {
            Asked::Hit => counts.hits += 1,
            Asked::Computed => counts.computed += 1,
            Asked::NotStored => counts.not_stored += 1,
            Asked::Not => {}
        }
    }
    counts
}

/// The served-from legend with its counts; while the grid is in that mode, it draws the
/// cells' marks on the grid's [`Overlay`] after every change.
#[component]
pub fn ServedLegend() -> impl IntoView {
    let grid = expect_context::<Grid>();
    let counts = RwSignal::new(ServedCounts::default());
    let overlay = expect_context::<Overlay>();
    // Under consistent hashing a record away from its home was failed over; the other
    // strategies place records away from home on purpose.
    let by_ring = expect_context::<crate::actions::Actions>()
        .strategy
        .with_value(|s| s == "consistent_hash");
    let away = if by_ring {
        "on a failover successor"
    } else {
        "away from its home (the strategy, or a failover)"
    };
    Effect::new(move |_| {
        if grid.mode.get() != GridMode::ServedFrom {
            return;
        }
        grid.track();
        let names = grid.nodes.get();
        let ring = crate::ring::ring_for(&names);
        let cells = grid.with_states(|states| {
            grid.with_asked(|asked| {
                served_cells(states, asked, &names, |n| {
                    names[ring.home(shard_of(n))].clone()
                })
            })
        });
        counts.set(count(&cells));
        overlay.show(cells.into_iter().map(Served::mark).collect());
    });
    let entry = move |id: &'static str,
                      class: &'static str,
                      label: &'static str,
                      value: fn(ServedCounts) -> usize| {
        view! {
            <li class="flex items-center gap-2">
                <span class=format!("swatch {class}") aria-hidden="true"></span>
                {label} ": " <span id=id class="font-semibold">{move || group_digits(value(counts.get()) as u64)}</span>
            </li>
        }
    };
    view! {
        <div id="served-legend" class="text-sm" hidden=move || grid.mode.get() != GridMode::ServedFrom
            aria-label="Served-from legend">
            <ul class="flex flex-wrap gap-x-4 gap-y-1">
                {entry("served-home", "sf-home", "at its home", |c| c.home)}
                {entry("served-successor", "sf-successor", away, |c| c.successor)}
                {entry("served-fallback", "sf-fallback", "computed by the fallback", |c| c.fallback)}
            </ul>
            <ul class="flex flex-wrap gap-x-4 gap-y-1">
                <li>"This page's requests:"</li>
                {entry("served-hits", "sf-hit", "hits", |c| c.hits)}
                {entry("served-computed", "sf-computed", "computed", |c| c.computed)}
                {entry("served-not-stored", "sf-not-stored", "not stored", |c| c.not_stored)}
            </ul>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_is_home_or_successor_by_its_placement_and_keeps_the_pages_own_outcome() {
        // GIVEN n = 1 at its home, n = 2 on a successor by the fallback, n = 3 not cached
        // but asked by this page and not stored, n = 4 a hit at home
        let names = vec!["a-one-1".to_string(), "b-two-2".to_string()];
        let cached = |node, by_fallback| CellState::Cached {
            prime: 2,
            node,
            by_fallback,
        };
        let states = [
            cached(0, false),
            cached(0, true),
            CellState::Empty,
            cached(1, false),
        ];
        let asked = [Asked::Not, Asked::Computed, Asked::NotStored, Asked::Hit];
        let home_of = |n: u64| if n == 4 { "b-two-2" } else { "a-one-1" }.to_string();
        let home_of = move |n: u64| {
            if n == 2 {
                "b-two-2".to_string()
            } else {
                home_of(n)
            }
        };

        // WHEN they are classified
        let cells = served_cells(&states, &asked, &names, home_of);

        // THEN each shows where it is, and what the page found
        let marks: Vec<Mark> = cells.iter().map(|c| c.mark()).collect();
        let fills: Vec<_> = marks
            .iter()
            .map(|m| m.fill.map(|(_, colour)| colour))
            .collect();
        assert_eq!(
            fills,
            vec![
                Some("--color-sky-700"),
                Some("--color-orange-600"),
                Some("--color-red-700"),
                Some("--color-sky-700"),
            ]
        );
        let rings: Vec<_> = marks.iter().map(|m| m.ring).collect();
        assert_eq!(
            rings,
            vec![
                None,
                Some("--color-slate-900"),
                None,
                Some("--color-sky-200")
            ]
        );
        let corners: Vec<bool> = marks.iter().map(|m| m.corner).collect();
        assert_eq!(corners, vec![false, true, false, false]);
        assert_eq!(
            count(&cells),
            ServedCounts {
                home: 2,
                successor: 1,
                fallback: 1,
                hits: 1,
                computed: 1,
                not_stored: 1,
            }
        );
    }
}
