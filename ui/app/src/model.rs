//! What the server sends the page: the grid snapshot, and the answers of the API that
//! the page reads. Shared by the server render and the browser.

use serde::{Deserialize, Serialize};

/// Cells per side of the grid.
pub const GRID_SIDE: u64 = 100;
/// The grid's cells: n = 1..=GRID_CELLS.
pub const GRID_CELLS: u64 = GRID_SIDE * GRID_SIDE;

/// One cached cell: its n, its prime and the index of its node in
/// [`GridSnapshot::nodes`]. Sent as `[n, prime, node]` to keep the page small.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "(u64, u64, usize)", into = "(u64, u64, usize)")]
pub struct CachedCell {
    /// The index n.
    pub n: u64,
    /// The nth prime.
    pub prime: u64,
    /// The index of the node that holds it.
    pub node: usize,
}

impl From<(u64, u64, usize)> for CachedCell {
    fn from((n, prime, node): (u64, u64, usize)) -> Self {
        Self { n, prime, node }
    }
}

impl From<CachedCell> for (u64, u64, usize) {
    fn from(cell: CachedCell) -> Self {
        (cell.n, cell.prime, cell.node)
    }
}

/// One read of the grid from every node.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GridSnapshot {
    /// A tag that changes whenever the cells or the down nodes change (the HTTP ETag).
    pub version: String,
    /// Every node's name; a cell's `node` indexes this list.
    pub nodes: Vec<String>,
    /// The indexes of the nodes that did not answer (their cells show as empty).
    pub down: Vec<usize>,
    /// The cached cells, by increasing n.
    pub cells: Vec<CachedCell>,
}

impl GridSnapshot {
    /// A snapshot of `cells` and `down` over `nodes`, with its version computed from them.
    pub fn new(nodes: Vec<String>, down: Vec<usize>, cells: Vec<CachedCell>) -> Self {
        let mut snapshot = Self {
            version: String::new(),
            nodes,
            down,
            cells,
        };
        snapshot.version = snapshot.content_tag();
        snapshot
    }

    /// A stable 64-bit FNV-1a digest of the nodes, the down nodes and the cells.
    fn content_tag(&self) -> String {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |value: u64| {
            for byte in value.to_le_bytes() {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
        };
        for name in &self.nodes {
            name.bytes().for_each(|b| eat(u64::from(b)));
            eat(u64::MAX);
        }
        self.down.iter().for_each(|&d| eat(d as u64));
        eat(u64::MAX);
        for cell in &self.cells {
            eat(cell.n);
            eat(cell.prime);
            eat(cell.node as u64);
        }
        format!("\"g{hash:016x}\"")
    }
}

/// Everything the page starts from, embedded in it as JSON for hydration.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PageState {
    /// The grid when the page was rendered.
    pub grid: GridSnapshot,
    /// The largest n the API accepts.
    pub max_n: u64,
}

impl PageState {
    /// The state as JSON that is safe inside a `<script>` element.
    pub fn to_script_json(&self) -> String {
        serde_json::to_string(self)
            .expect("page state serialises")
            .replace('<', "\\u003c")
    }
}

/// The API's answer for one n (`GET /primes/{n}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrimeAnswer {
    /// The index n.
    pub n: u64,
    /// The nth prime.
    pub prime: u64,
    /// `cache` when it was cached, `computed` when this request computed it.
    pub source: String,
    /// The node that holds it.
    pub node: String,
    /// The calculator that computed it.
    pub calculator: String,
    /// How long the computation took, in microseconds.
    pub compute_micros: u64,
    /// The function instance that answered.
    pub instance: String,
    /// Whether this was that instance's first request.
    pub cold_start: bool,
    /// Nodes skipped because they were down.
    #[serde(default)]
    pub failovers: u32,
    /// Why the fallback calculator was used, when it was.
    #[serde(default)]
    pub fallback_reason: Option<String>,
}

/// An API error answer: `{"error": code, "message": text}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorAnswer {
    /// A stable, machine-readable code.
    pub error: String,
    /// A message for people.
    pub message: String,
}

/// The answer of `DELETE /cache`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClearAnswer {
    /// Records removed over every cleared node.
    pub removed: u64,
    /// Nodes that could not be reached (their records remain).
    #[serde(default)]
    pub unreachable: Vec<String>,
}

/// One node's line in `GET /stats`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStats {
    /// The node's name.
    pub node: String,
    /// Whether it answered just now.
    pub up: bool,
    /// Its breaker in the instance that answered (`closed`, `open`, `half_open`).
    pub breaker: String,
    /// Records it holds, when it answered.
    pub items: Option<u64>,
    /// Requests it answered.
    pub requests: u64,
    /// Requests answered from its cache.
    pub hits: u64,
    /// Requests that computed and stored on it.
    pub misses: u64,
    /// Its records computed by the fallback calculator.
    pub fallbacks: u64,
    /// Requests it answered because an earlier node was down.
    pub failovers: u64,
    /// Function instances that started (cold starts) beside it.
    #[serde(default)]
    pub cold_starts: u64,
}

/// The answer of `GET /stats`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsAnswer {
    /// Every node's figures.
    pub nodes: Vec<NodeStats>,
    /// The placement strategy.
    pub strategy: String,
    /// Records over every node.
    pub items: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(n: u64, prime: u64, node: usize) -> CachedCell {
        CachedCell { n, prime, node }
    }

    #[test]
    fn a_snapshot_goes_over_the_wire_as_compact_arrays_and_back() {
        let snapshot =
            GridSnapshot::new(vec!["a".into(), "b".into()], vec![1], vec![cell(3, 5, 0)]);
        let json = serde_json::to_string(&snapshot).unwrap();
        assert!(json.contains(r#""cells":[[3,5,0]]"#), "{json}");
        assert_eq!(
            serde_json::from_str::<GridSnapshot>(&json).unwrap(),
            snapshot
        );
    }

    #[test]
    fn the_version_changes_with_any_cell_node_or_outage() {
        let nodes = || vec!["a".to_string(), "b".to_string()];
        let base = GridSnapshot::new(nodes(), vec![], vec![cell(1, 2, 0)]);
        let same = GridSnapshot::new(nodes(), vec![], vec![cell(1, 2, 0)]);
        assert_eq!(base.version, same.version);
        for other in [
            GridSnapshot::new(nodes(), vec![], vec![cell(1, 2, 1)]),
            GridSnapshot::new(nodes(), vec![], vec![cell(1, 2, 0), cell(2, 3, 0)]),
            GridSnapshot::new(nodes(), vec![0], vec![cell(1, 2, 0)]),
            GridSnapshot::new(vec!["a".into()], vec![], vec![cell(1, 2, 0)]),
            GridSnapshot::new(nodes(), vec![], vec![]),
        ] {
            assert_ne!(base.version, other.version, "{other:?}");
        }
    }

    #[test]
    fn page_state_json_cannot_close_its_script_element() {
        let state = PageState {
            grid: GridSnapshot::new(vec!["</script><b>".into()], vec![], vec![]),
            max_n: 10,
        };
        let json = state.to_script_json();
        assert!(!json.contains('<'));
        assert_eq!(serde_json::from_str::<PageState>(&json).unwrap(), state);
    }
}
