//! The 100×100 grid. The server renders its 10,000 cells as plain markup, which the
//! browser keeps as it is: hydration claims one element, not 10,000. The page holds
//! every cell's state in one vector and, on a change, paints only the cells that
//! changed, straight into the DOM.

use leptos::prelude::*;

use crate::model::{GRID_CELLS, GRID_SIDE, GridSnapshot, NodeFigures};

/// A snapshot's figures, each with its node's name.
fn named_figures(snapshot: &GridSnapshot) -> Vec<(String, Option<NodeFigures>)> {
    snapshot
        .nodes
        .iter()
        .cloned()
        .zip(snapshot.figures.iter().copied())
        .collect()
}

/// How long a cell the page itself changed (a compute, an eviction, a reset) keeps its
/// state against grid reads that disagree, in milliseconds: a read made before the
/// change (shared by the UI function for half a second, cached at the edge for a second,
/// or scanned from an index a moment behind) must not undo it on the screen.
pub const OWN_CHANGE_GRACE_MS: f64 = 5_000.0;

/// How many node styles the stylesheet defines, each a distinct colour and shape pair, so
/// that a what-if of up to ten nodes stays readable; node i uses style i mod this.
pub const NODE_STYLES: usize = 10;

/// What one cell shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellState {
    /// n is not cached.
    Empty,
    /// A request for n is under way (computing or evicting).
    Pending,
    /// n is cached on a node.
    Cached {
        /// The nth prime.
        prime: u64,
        /// The index of the node that holds it.
        node: usize,
        /// Whether a calculator other than the primary computed it.
        by_fallback: bool,
    },
}

/// What this page's own last request for a cell found (the served-from view shows it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Asked {
    /// The page has not asked for it (or its answer was evicted or reset since).
    #[default]
    Not,
    /// A cache hit.
    Hit,
    /// Computed and stored by this page's request.
    Computed,
    /// Computed, but no node confirmed storing it.
    NotStored,
}

/// What the grid's cells are coloured by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GridMode {
    /// The node that holds each cell.
    #[default]
    Nodes,
    /// Where a proposed node set would move each cell's home.
    WhatIf,
    /// Where each answer came from: home or successor, which calculator, and what this
    /// page's requests found.
    ServedFrom,
}

impl CellState {
    /// The cell's CSS classes.
    pub fn class(self) -> String {
        match self {
            CellState::Empty => "cell".into(),
            CellState::Pending => "cell pending".into(),
            CellState::Cached { node, .. } => format!("cell on n{}", node % NODE_STYLES),
        }
    }
}

/// The page's view of the grid, shared through context. Every field is a handle, so the
/// whole struct is `Copy`.
#[derive(Clone, Copy)]
pub struct Grid {
    cells: StoredValue<Vec<CellState>>,
    /// Changes whenever any cell changes: views that read cells track this.
    revision: RwSignal<u64>,
    /// Every node's name, in the order that cell states index.
    pub nodes: RwSignal<Vec<String>>,
    /// The indexes of the nodes the last grid read could not reach.
    pub down: RwSignal<Vec<usize>>,
    /// How many cells each node holds.
    pub counts: RwSignal<Vec<usize>>,
    /// Each node's figures from the last grid read, by name (`None`: down).
    pub figures: RwSignal<Vec<(String, Option<NodeFigures>)>>,
    /// Whether the grid is still to come (the page was sent before it was read).
    pub unread: RwSignal<bool>,
    /// The version (ETag) of the last grid read applied.
    pub version: StoredValue<String>,
    /// When the page itself last changed each cell (`performance.now()` ms; 0: never).
    changed_here: StoredValue<Vec<f64>>,
    /// When the page itself last emptied the grid (a reset).
    cleared_here: StoredValue<f64>,
    /// When the last grid read was applied (`performance.now()` ms; 0 before any).
    pub refreshed_at: RwSignal<f64>,
    /// What this page's own last request for each cell found.
    asked: StoredValue<Vec<Asked>>,
    /// What the cells are coloured by.
    pub mode: RwSignal<GridMode>,
}

impl Grid {
    /// The grid as `snapshot` shows it.
    pub fn new(snapshot: &GridSnapshot) -> Self {
        let mut states = vec![CellState::Empty; GRID_CELLS as usize];
        let mut counts = vec![0; snapshot.nodes.len()];
        for cell in &snapshot.cells {
            if (1..=GRID_CELLS).contains(&cell.n) && cell.node < counts.len() {
                states[(cell.n - 1) as usize] = CellState::Cached {
                    prime: cell.prime,
                    node: cell.node,
                    by_fallback: cell.by_fallback,
                };
                counts[cell.node] += 1;
            }
        }
        Self {
            cells: StoredValue::new(states),
            revision: RwSignal::new(0),
            nodes: RwSignal::new(snapshot.nodes.clone()),
            down: RwSignal::new(snapshot.down.clone()),
            counts: RwSignal::new(counts),
            figures: RwSignal::new(named_figures(snapshot)),
            unread: RwSignal::new(snapshot.is_unread()),
            version: StoredValue::new(snapshot.version.clone()),
            changed_here: StoredValue::new(vec![0.0; GRID_CELLS as usize]),
            cleared_here: StoredValue::new(0.0),
            refreshed_at: RwSignal::new(0.0),
            asked: StoredValue::new(vec![Asked::Not; GRID_CELLS as usize]),
            mode: RwSignal::new(GridMode::Nodes),
        }
    }

    /// Tracks every change to the grid's cells (or to what the page asked of them).
    pub fn track(&self) {
        self.revision.track();
    }

    /// Reads every cell's state (index n - 1), without tracking.
    pub fn with_states<R>(&self, read: impl FnOnce(&[CellState]) -> R) -> R {
        self.cells.with_value(|cells| read(cells))
    }

    /// Reads what the page's own last request for each cell found (index n - 1),
    /// without tracking.
    pub fn with_asked<R>(&self, read: impl FnOnce(&[Asked]) -> R) -> R {
        self.asked.with_value(|asked| read(asked))
    }

    /// Notes what the page's own request for `n` found; a no-op off the grid.
    pub fn note_asked(&self, n: u64, found: Asked) {
        if let Some(index) = Self::index(n) {
            let old = self
                .asked
                .try_update_value(|asked| std::mem::replace(&mut asked[index], found));
            if old != Some(found) {
                self.revision.update(|r| *r += 1);
            }
        }
    }

    fn index(n: u64) -> Option<usize> {
        (1..=GRID_CELLS).contains(&n).then(|| (n - 1) as usize)
    }

    /// The state of the cell for `n`, without tracking it; `None` off the grid.
    pub fn state(&self, n: u64) -> Option<CellState> {
        let index = Self::index(n)?;
        self.cells.with_value(|cells| cells.get(index).copied())
    }

    /// The state of the cell for `n`, tracking every change to the grid.
    pub fn tracked_state(&self, n: u64) -> Option<CellState> {
        self.revision.track();
        self.state(n)
    }

    /// Sets the cell for `n` (the page's own change), keeping the per-node counts, and
    /// paints it; a no-op when n is off the grid or the state is unchanged.
    pub fn set(&self, n: u64, state: CellState) {
        if let Some(index) = Self::index(n) {
            let now = crate::dom::now_ms();
            self.changed_here.update_value(|at| at[index] = now);
        }
        if self.store(n, state) {
            self.revision.update(|r| *r += 1);
        }
    }

    /// Puts the cell for `n` back as it was before the page's own request, which did not
    /// change it after all: not counted as the page's change, and never left pending.
    pub fn restore(&self, n: u64, before: CellState) {
        let state = match before {
            CellState::Pending => CellState::Empty,
            other => other,
        };
        if self.store(n, state) {
            self.revision.update(|r| *r += 1);
        }
    }

    /// Stores and paints one cell's state; answers whether it changed.
    fn store(&self, n: u64, state: CellState) -> bool {
        let Some(index) = Self::index(n) else {
            return false;
        };
        let old = self.cells.with_value(|cells| cells[index]);
        if old == state {
            return false;
        }
        self.cells.update_value(|cells| cells[index] = state);
        self.counts.update(|counts| {
            if let CellState::Cached { node, .. } = old {
                counts[node] -= 1;
            }
            if let CellState::Cached { node, .. } = state {
                counts[node] += 1;
            }
        });
        let node = match state {
            CellState::Cached { node, .. } => Some(self.node_name(node)),
            _ => None,
        };
        crate::dom::paint_cell(n, &state.class(), node.as_deref());
        true
    }

    /// The index of the node named `name`, adding it when it is new.
    pub fn node_index(&self, name: &str) -> usize {
        if let Some(i) = self
            .nodes
            .with_untracked(|n| n.iter().position(|x| x == name))
        {
            return i;
        }
        self.nodes.update(|nodes| nodes.push(name.to_string()));
        self.counts.update(|counts| counts.push(0));
        self.nodes.with_untracked(Vec::len) - 1
    }

    /// The name of node `index`.
    pub fn node_name(&self, index: usize) -> String {
        self.nodes
            .with_untracked(|n| n.get(index).cloned())
            .unwrap_or_default()
    }

    /// Brings the grid to `snapshot`, painting only the cells that differ. A cell with a
    /// request under way keeps pulsing until its own answer arrives, and a cell the page
    /// changed itself in the last [`OWN_CHANGE_GRACE_MS`] keeps what the page set.
    pub fn apply(&self, snapshot: GridSnapshot) {
        let now = crate::dom::now_ms();
        let recent = |at: f64| at > 0.0 && now - at < OWN_CHANGE_GRACE_MS;
        let cleared_recently = recent(self.cleared_here.get_value());
        // The snapshot's node indexes, mapped once to this page's.
        let local: Vec<usize> = snapshot.nodes.iter().map(|n| self.node_index(n)).collect();
        let mut wanted = vec![CellState::Empty; GRID_CELLS as usize];
        for cell in &snapshot.cells {
            if let Some(index) = Self::index(cell.n) {
                wanted[index] = CellState::Cached {
                    prime: cell.prime,
                    node: local[cell.node],
                    by_fallback: cell.by_fallback,
                };
            }
        }
        let mut changed = false;
        let mut kept_own = false;
        let changed_here = self.changed_here.get_value();
        for (i, state) in wanted.into_iter().enumerate() {
            let n = i as u64 + 1;
            let own = recent(changed_here[i]) || (cleared_recently && changed_here[i] == 0.0);
            match (self.state(n), state) {
                (Some(CellState::Pending), CellState::Empty) => {}
                (Some(local), wanted) if own && local != wanted => kept_own = true,
                _ => changed |= self.store(n, state),
            }
        }
        if changed {
            self.revision.update(|r| *r += 1);
        }
        let down: Vec<usize> = snapshot.down.iter().map(|&d| local[d]).collect();
        if self.down.with_untracked(|now| *now != down) {
            self.down.set(down);
        }
        let figures = named_figures(&snapshot);
        if self.figures.with_untracked(|now| *now != figures) {
            self.figures.set(figures);
        }
        if self.unread.get_untracked() {
            self.unread.set(false);
        }
        // A cell kept as the page set it may hide someone else's later change in this
        // snapshot: its version is not adopted, so the next poll reads the grid again.
        if !kept_own {
            self.version.set_value(snapshot.version);
        }
    }

    /// Empties every cell (after the page's own reset).
    pub fn clear(&self) {
        self.cleared_here.set_value(crate::dom::now_ms());
        self.asked
            .update_value(|asked| asked.iter_mut().for_each(|a| *a = Asked::Not));
        self.changed_here
            .update_value(|at| at.iter_mut().for_each(|t| *t = 0.0));
        for n in 1..=GRID_CELLS {
            self.store(n, CellState::Empty);
        }
        // Even when no cell changed, what the page asked is gone: views of it read again.
        self.revision.update(|r| *r += 1);
    }

    /// The markup of the 10,000 cells, in rows: each cell an element with `data-n`, its
    /// state's classes and, when cached, `data-node`. Only cell 1 is in the tab order.
    pub fn markup(&self) -> String {
        let names: Vec<String> = self.nodes.with_untracked(|nodes| {
            nodes
                .iter()
                .map(|n| html_escape::encode_double_quoted_attribute(n).into_owned())
                .collect()
        });
        let mut html = String::with_capacity(GRID_CELLS as usize * 64);
        self.cells.with_value(|cells| {
            for (i, state) in cells.iter().enumerate() {
                let n = i as u64 + 1;
                if (n - 1).is_multiple_of(GRID_SIDE) {
                    html.push_str(r#"<div role="row" class="grid-row">"#);
                }
                html.push_str(r#"<div role="gridcell" data-n=""#);
                html.push_str(&n.to_string());
                html.push_str(r#"" class=""#);
                html.push_str(&state.class());
                html.push('"');
                if let CellState::Cached { node, .. } = state {
                    html.push_str(r#" data-node=""#);
                    html.push_str(names.get(*node).map_or("", String::as_str));
                    html.push('"');
                }
                if n == 1 {
                    html.push_str(r#" tabindex="0""#);
                }
                html.push_str("></div>");
                if n.is_multiple_of(GRID_SIDE) {
                    html.push_str("</div>");
                }
            }
        });
        html
    }
}

/// Which cell is under the pointer or the keyboard focus, for the inspector line.
#[derive(Clone, Copy)]
pub struct Inspected(pub RwSignal<Option<u64>>);
