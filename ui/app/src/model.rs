//! What the server sends the page: the grid snapshot, and the answers of the API that
//! the page reads. Shared by the server render and the browser.

use serde::{Deserialize, Serialize};

/// Cells per side of the grid.
pub const GRID_SIDE: u64 = 100;
/// The grid's cells: n = 1..=GRID_CELLS.
pub const GRID_CELLS: u64 = GRID_SIDE * GRID_SIDE;

// The page's grid is the domain's grid.
const _: () = assert!(GRID_CELLS == primescaler_core::GRID_MAX_N);

/// One cached cell: its n, its prime, the index of its node in
/// [`GridSnapshot::nodes`], and whether the fallback calculator computed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachedCell {
    /// The index n.
    pub n: u64,
    /// The nth prime.
    pub prime: u64,
    /// The index of the node that holds it.
    pub node: usize,
    /// Whether a calculator other than the primary computed it.
    pub by_fallback: bool,
}

/// One node's figures as the grid read found them: its record count and its
/// cluster-wide counters (from one small item on the node, never a scan).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NodeFigures {
    /// Records the node holds.
    pub items: u64,
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
    pub cold_starts: u64,
}

/// One read of the grid from every node.
///
/// On the wire (`GET /grid` and the page state) the cells go as three columns, `n`,
/// `prime` and `node`, and `n` and `prime` each as the difference from the previous
/// cell's (the first from 0). Consecutive cells then cost a few bytes each: a full grid
/// is about 9 KB gzip, against about 51 KB as `[n, prime, node]` triples. The cells the
/// fallback computed, rare, go as a list of their n (`fallback`), so the usual grid
/// pays nothing for them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(into = "WireSnapshot", try_from = "WireSnapshot")]
pub struct GridSnapshot {
    /// A tag that changes whenever the cells or the down nodes change (the HTTP ETag).
    /// The node figures ride along but do not change it: a hit anywhere in the cluster
    /// changes them, and an idle page must be able to hear "nothing new" (a 304).
    pub version: String,
    /// Every node's name; a cell's `node` indexes this list.
    pub nodes: Vec<String>,
    /// The indexes of the nodes that did not answer (their cells show as empty).
    pub down: Vec<usize>,
    /// The cached cells, by increasing n.
    pub cells: Vec<CachedCell>,
    /// Each node's figures, in [`Self::nodes`] order (`None` for a node that is down);
    /// empty when not read. As of the read that found the cells' last change.
    pub figures: Vec<Option<NodeFigures>>,
}

/// [`GridSnapshot`] as it goes over the wire.
#[derive(Serialize, Deserialize)]
struct WireSnapshot {
    version: String,
    nodes: Vec<String>,
    down: Vec<usize>,
    /// Each cell's n less the previous cell's.
    n: Vec<u64>,
    /// Each cell's prime less the previous cell's.
    prime: Vec<i64>,
    /// Each cell's node index.
    node: Vec<usize>,
    /// The n of every cell that a calculator other than the primary computed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    fallback: Vec<u64>,
    /// Each node's figures.
    #[serde(default)]
    figures: Vec<Option<NodeFigures>>,
}

impl From<GridSnapshot> for WireSnapshot {
    fn from(snapshot: GridSnapshot) -> Self {
        let (mut last_n, mut last_prime) = (0u64, 0u64);
        let mut wire = WireSnapshot {
            version: snapshot.version,
            nodes: snapshot.nodes,
            down: snapshot.down,
            n: Vec::with_capacity(snapshot.cells.len()),
            prime: Vec::with_capacity(snapshot.cells.len()),
            node: Vec::with_capacity(snapshot.cells.len()),
            fallback: Vec::new(),
            figures: snapshot.figures,
        };
        for cell in snapshot.cells {
            if cell.by_fallback {
                wire.fallback.push(cell.n);
            }
            wire.n.push(cell.n.wrapping_sub(last_n));
            wire.prime.push(cell.prime.wrapping_sub(last_prime) as i64);
            wire.node.push(cell.node);
            (last_n, last_prime) = (cell.n, cell.prime);
        }
        wire
    }
}

impl TryFrom<WireSnapshot> for GridSnapshot {
    type Error = String;

    fn try_from(wire: WireSnapshot) -> Result<Self, Self::Error> {
        if wire.n.len() != wire.prime.len() || wire.n.len() != wire.node.len() {
            return Err("n, prime and node have different lengths".into());
        }
        if !wire.figures.is_empty() && wire.figures.len() != wire.nodes.len() {
            return Err("figures are not one per node".into());
        }
        if let Some(bad) = wire.down.iter().find(|&&d| d >= wire.nodes.len()) {
            return Err(format!("down node {bad} is not one of the nodes"));
        }
        let (mut n, mut prime) = (0u64, 0u64);
        let mut cells = Vec::with_capacity(wire.n.len());
        for ((dn, dp), node) in wire.n.into_iter().zip(wire.prime).zip(wire.node) {
            if dn == 0 {
                return Err("cells are not in increasing n".into());
            }
            if node >= wire.nodes.len() {
                return Err(format!("cell node {node} is not one of the nodes"));
            }
            n = n.checked_add(dn).ok_or("n overflows")?;
            prime = prime.wrapping_add(dp as u64);
            cells.push(CachedCell {
                n,
                prime,
                node,
                by_fallback: false,
            });
        }
        for n in wire.fallback {
            let at = cells
                .binary_search_by_key(&n, |cell| cell.n)
                .map_err(|_| format!("fallback cell {n} is not one of the cells"))?;
            cells[at].by_fallback = true;
        }
        Ok(Self {
            version: wire.version,
            nodes: wire.nodes,
            down: wire.down,
            cells,
            figures: wire.figures,
        })
    }
}

impl GridSnapshot {
    /// A snapshot of `cells` and `down` over `nodes`, with its version computed from them.
    pub fn new(nodes: Vec<String>, down: Vec<usize>, cells: Vec<CachedCell>) -> Self {
        Self::with_figures(nodes, down, cells, Vec::new())
    }

    /// A snapshot as [`Self::new`], with each node's figures.
    pub fn with_figures(
        nodes: Vec<String>,
        down: Vec<usize>,
        cells: Vec<CachedCell>,
        figures: Vec<Option<NodeFigures>>,
    ) -> Self {
        let mut snapshot = Self {
            version: String::new(),
            nodes,
            down,
            cells,
            figures,
        };
        snapshot.version = snapshot.content_tag();
        snapshot
    }

    /// The stand-in for a grid not read yet: the nodes, no cells, and an empty version,
    /// so that the page's first poll fetches the grid.
    pub fn unread(nodes: Vec<String>) -> Self {
        Self {
            version: String::new(),
            nodes,
            ..Self::default()
        }
    }

    /// Whether this is the stand-in of [`Self::unread`].
    pub fn is_unread(&self) -> bool {
        self.version.is_empty()
    }

    /// A stable 64-bit FNV-1a digest of the nodes, the down nodes and the cells (not the
    /// figures).
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
            eat(u64::from(cell.by_fallback));
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
    /// The placement strategy for new records.
    #[serde(default)]
    pub strategy: String,
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
    /// The node that holds it; `None` when it was computed but no node could store it.
    #[serde(default)]
    pub node: Option<String>,
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

pub use crate::clear::ClearAnswer;

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(n: u64, prime: u64, node: usize) -> CachedCell {
        CachedCell {
            n,
            prime,
            node,
            by_fallback: false,
        }
    }

    #[test]
    fn a_snapshot_goes_over_the_wire_as_columns_of_differences_and_back() {
        // GIVEN cells 3, 4 and 9 on two nodes
        let snapshot = GridSnapshot::new(
            vec!["a".into(), "b".into()],
            vec![1],
            vec![cell(3, 5, 0), cell(4, 7, 1), cell(9, 23, 0)],
        );
        // WHEN it is serialised
        let json = serde_json::to_string(&snapshot).unwrap();
        // THEN n and prime are differences, node is plain, and it reads back the same
        assert!(
            json.contains(r#""n":[3,1,5],"prime":[5,2,16],"node":[0,1,0]"#),
            "{json}"
        );
        assert_eq!(
            serde_json::from_str::<GridSnapshot>(&json).unwrap(),
            snapshot
        );
    }

    #[test]
    fn fallback_cells_go_as_a_list_of_their_n_and_only_when_there_are_some() {
        // GIVEN a snapshot whose cell 4 the fallback computed
        let mut by_fallback = cell(4, 7, 1);
        by_fallback.by_fallback = true;
        let snapshot = GridSnapshot::new(
            vec!["a".into(), "b".into()],
            vec![],
            vec![cell(3, 5, 0), by_fallback],
        );
        // WHEN it is serialised
        let json = serde_json::to_string(&snapshot).unwrap();
        // THEN it names 4 alone, reads back the same, and differs in version from all-primary
        assert!(json.contains(r#""fallback":[4]"#), "{json}");
        assert_eq!(
            serde_json::from_str::<GridSnapshot>(&json).unwrap(),
            snapshot
        );
        let primary = GridSnapshot::new(
            snapshot.nodes.clone(),
            vec![],
            vec![cell(3, 5, 0), cell(4, 7, 1)],
        );
        assert_ne!(primary.version, snapshot.version);
        assert!(
            !serde_json::to_string(&primary)
                .unwrap()
                .contains("fallback")
        );
    }

    #[test]
    fn an_inconsistent_wire_snapshot_is_refused() {
        let head = r#"{"version":"v","nodes":["a"],"down":[]"#;
        for body in [
            r#","n":[1,2],"prime":[2],"node":[0,0]}"#,
            r#","n":[1,0],"prime":[2,1],"node":[0,0]}"#,
            r#","n":[1],"prime":[2],"node":[1]}"#,
            r#","n":[18446744073709551615,1],"prime":[2,1],"node":[0,0]}"#,
            r#","n":[1],"prime":[2],"node":[0],"fallback":[2]}"#,
        ] {
            let json = format!("{head}{body}");
            assert!(
                serde_json::from_str::<GridSnapshot>(&json).is_err(),
                "{json}"
            );
        }
        let down = r#"{"version":"v","nodes":["a"],"down":[1],"n":[],"prime":[],"node":[]}"#;
        assert!(serde_json::from_str::<GridSnapshot>(down).is_err());
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
        // The figures alone (a hit somewhere) leave the version as it is.
        let busier = GridSnapshot::with_figures(
            nodes(),
            vec![],
            vec![cell(1, 2, 0)],
            vec![
                Some(NodeFigures {
                    hits: 1,
                    ..NodeFigures::default()
                }),
                None,
            ],
        );
        assert_eq!(busier.version, base.version);
    }

    #[test]
    fn page_state_json_cannot_close_its_script_element() {
        let state = PageState {
            grid: GridSnapshot::new(vec!["</script><b>".into()], vec![], vec![]),
            max_n: 10,
            strategy: "consistent_hash".into(),
        };
        let json = state.to_script_json();
        assert!(!json.contains('<'));
        assert_eq!(serde_json::from_str::<PageState>(&json).unwrap(), state);
    }
}
