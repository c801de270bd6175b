//! The fault matrix: every strategy against every fault, each cell a run of two API
//! instances in processes of their own, racing on the same n through a fault proxy in
//! front of each node, then checked (after handoff converges) by the simulation's
//! checker over what the emulators hold.
//!
//! One cell: a fresh table on the three nodes' emulators; six proxies (one per instance
//! and node); two `api_instance` processes, beside different nodes. The requests go in
//! three phases: all proxies pass; the fault is on the victim node (for a partition,
//! only on the first instance's way to it: the node keeps its data and the other
//! instance still reaches it); all pass again. Then the write grace passes, the upkeep
//! runs until it keeps nothing, a clean instance asks every n once more, and the checker
//! reads every node.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use primescaler_api::LiveDeps;
use primescaler_cluster::testing::NodeData;
use primescaler_cluster::testing::checker::{Answer, Answered, Findings, check, check_unaided};
use primescaler_cluster::testing::converge::converge;
use primescaler_cluster::{ClusterConfig, Strategy};
use primescaler_core::{GetRecord, ListHints, ReadMembership, RecordKey};
use serde_json::Value;

use crate::cluster::{REGIONS, deps_over, named};
use crate::proxy::{Fault, FaultProxy};
use crate::restore;
use crate::twin::relay_between;
use crate::{Emulator, cluster_config, free_port, fresh_cluster_table};

/// The faults of the matrix, in its column order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// Connections to the victim are refused.
    Refused,
    /// Requests to the victim are taken and never answered.
    BlackHoled,
    /// Requests reach the victim (writes land); answers come after the caller gave up.
    LostAnswers,
    /// Requests reach the victim (writes land); answers are cut off halfway.
    CutAnswers,
    /// The victim answers every call with `ThrottlingException`.
    Throttled,
    /// One instance cannot reach the victim, which keeps its data and still serves the
    /// other.
    Partitioned,
    /// The victim is lost (connections refused), then its table is made again, empty.
    RestoredEmpty,
    /// The victim is lost, then its table is made again from a backup taken halfway
    /// through the first phase: without what was written to it since, its pointers and
    /// records stale.
    RestoredFromBackup,
}

/// Every fault, in column order.
pub const FAULTS: [FaultKind; 8] = [
    FaultKind::Refused,
    FaultKind::BlackHoled,
    FaultKind::LostAnswers,
    FaultKind::CutAnswers,
    FaultKind::Throttled,
    FaultKind::Partitioned,
    FaultKind::RestoredEmpty,
    FaultKind::RestoredFromBackup,
];

/// Every strategy, in row order.
pub const STRATEGIES: [Strategy; 4] = [
    Strategy::ConsistentHash,
    Strategy::RoundRobin,
    Strategy::LocalFirst,
    Strategy::RemoteFirst,
];

impl FaultKind {
    /// The fault's name in the table.
    pub fn name(self) -> &'static str {
        match self {
            Self::Refused => "refused",
            Self::BlackHoled => "black hole",
            Self::LostAnswers => "lost answers",
            Self::CutAnswers => "cut answers",
            Self::Throttled => "throttled",
            Self::Partitioned => "partition",
            Self::RestoredEmpty => "restored empty",
            Self::RestoredFromBackup => "restored from a backup",
        }
    }

    /// What the victim's proxies do under this fault.
    fn proxy_fault(self) -> Fault {
        match self {
            Self::Refused | Self::RestoredEmpty | Self::RestoredFromBackup => Fault::Refuse,
            Self::BlackHoled | Self::Partitioned => Fault::BlackHole,
            Self::LostAnswers => Fault::LateAnswers(LATE),
            Self::CutAnswers => Fault::CutAnswers,
            Self::Throttled => Fault::Throttle,
        }
    }
}

/// The node the faults strike: the first of [`REGIONS`], home of about a third of n.
pub const VICTIM: usize = 0;

/// One call to a node may take this long (the instances' `NODE_TIMEOUT_MS`).
const NODE_TIMEOUT: Duration = Duration::from_millis(400);
/// A node found down is skipped this long (the instances' `BREAKER_COOLDOWN_MS`).
const COOLDOWN: Duration = Duration::from_millis(500);
/// On the twin, the template's defaults: a call's base budget (to which three round
/// trips of the node are added) and the cool-down.
const TWIN_NODE_TIMEOUT: Duration = Duration::from_millis(500);
const TWIN_COOLDOWN: Duration = Duration::from_secs(2);
/// How late a lost answer comes: past every call's budget, even a node's first
/// (`NODE_TIMEOUT` plus three round trips of a node not yet reached, 1,450 ms), with room
/// for timers that fire late on a loaded machine.
const LATE: Duration = Duration::from_millis(2_500);
/// The instances' write grace: above their 12 s request deadline, far below the
/// deployed 60 s, so that a cell converges in seconds.
const WRITE_GRACE: Duration = Duration::from_secs(13);

/// How big a cell's run is.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Requests in each of the three phases.
    pub per_phase: usize,
    /// Requests in flight at once, over both instances.
    pub concurrency: usize,
    /// The n asked are 1..=hot, mostly, and up to 10,000 now and then.
    pub hot: u64,
    /// On the twin: each proxy reaches its node through a relay at the round trip
    /// between its instance's region and the node's, and the instances run with the
    /// template's budgets (500 ms base, 2 s cool-down).
    pub twin: bool,
}

/// What one cell found.
#[derive(Debug, Clone)]
pub struct Cell {
    /// Its strategy.
    pub strategy: Strategy,
    /// Its fault.
    pub fault: FaultKind,
    /// Requests sent during the run.
    pub requests: usize,
    /// Answers whose prime was computed and not stored (`"stored": false`).
    pub not_stored: usize,
    /// Answers that passed over a node (`"failovers"` above 0): the fault was met.
    pub failed_over: usize,
    /// What the checker found (its `not_answered` counts non-200 answers for valid n).
    pub findings: Findings,
    /// How long the cell took, converging included.
    pub took: Duration,
}

/// A running `api_instance` process; killed when dropped.
struct Instance {
    child: Child,
    url: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Instance {
    /// Starts `binary` over `cluster`'s nodes and `table`, and waits for its health; on
    /// the `twin`, with the template's budgets.
    async fn start(binary: &Path, cluster: &ClusterConfig, table: &str, twin: bool) -> Self {
        let (timeout, cooldown) = if twin {
            (TWIN_NODE_TIMEOUT, TWIN_COOLDOWN)
        } else {
            (NODE_TIMEOUT, COOLDOWN)
        };
        let port = free_port();
        let endpoints: Vec<String> = cluster
            .nodes
            .iter()
            .map(|n| format!("{}={}", n.name, n.endpoint.as_deref().unwrap_or_default()))
            .collect();
        let mut child = Command::new(binary)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("API_PORT", port.to_string())
            .env("NODES", cluster.names().join(","))
            .env("NODE_ENDPOINTS", endpoints.join(","))
            .env("LOCAL_NODE", &cluster.nodes[cluster.local].name)
            .env("STRATEGY", cluster.strategy.as_str())
            .env("TABLE_NAME", table)
            .env("MAX_N", "10000")
            .env("NODE_TIMEOUT_MS", timeout.as_millis().to_string())
            .env("BREAKER_COOLDOWN_MS", cooldown.as_millis().to_string())
            .env("WRITE_GRACE_MS", WRITE_GRACE.as_millis().to_string())
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("start {} ({e})", binary.display()));
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let started = Instant::now();
        while !http
            .get(format!("{url}/health"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("{} exited before it answered ({status})", binary.display());
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the instance at {url} answers its health check"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self { child, url }
    }
}

/// Reads one answer to `GET /primes/{n}` as the checker needs it, and whether it
/// passed over a node.
async fn ask(http: &reqwest::Client, url: &str, n: u64) -> (Answer, bool) {
    let mut failed_over = false;
    let outcome = match http.get(format!("{url}/primes/{n}")).send().await {
        Ok(response) => {
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            failed_over = body["failovers"].as_u64().is_some_and(|f| f > 0);
            if status.is_success() {
                Ok(Answered {
                    prime: body["prime"].as_u64().unwrap_or(0),
                    stored: body["stored"].as_bool().unwrap_or(false),
                    cached: body["source"] == "cache",
                })
            } else {
                Err(format!("{status} {body}"))
            }
        }
        Err(e) => Err(format!("no answer: {e}")),
    };
    (Answer { n, outcome }, failed_over)
}

/// What every node holds for the n asked, and its hints, by reading each node directly.
pub async fn read_nodes(direct: &LiveDeps, asked: &[u64]) -> Vec<(String, NodeData)> {
    let mut nodes = Vec::new();
    for node in direct.service.nodes() {
        let mut data = NodeData::default();
        for &n in asked {
            let entry = node
                .store
                .get_entry(RecordKey::for_index(n))
                .await
                .expect("a node answers once healed");
            if let Some(entry) = entry {
                data.entries.insert(n, entry);
            }
        }
        for hint in node.store.list_hints(None, 1_000).await.expect("hints") {
            data.hints.insert(hint.n, hint);
        }
        data.membership = node.store.read_membership().await.expect("membership");
        nodes.push((node.name.clone(), data));
    }
    nodes
}

/// Runs `cells` (strategy, fault), `at_once` at a time, over `emulators`.
pub async fn run_cells(
    emulators: &[Emulator; 3],
    binary: &Path,
    cells: &[(Strategy, FaultKind)],
    at_once: usize,
    plan: Plan,
    primes: &[u64],
) -> Vec<Cell> {
    futures::stream::iter(cells.iter().copied())
        .map(|(strategy, fault)| run_cell(emulators, binary, strategy, fault, plan, primes))
        .buffered(at_once)
        .collect()
        .await
}

/// Runs one cell of the matrix over `emulators` (one per node of [`REGIONS`]), with
/// two processes of `binary` (`api_instance`); `primes[n - 1]` is the nth prime.
pub async fn run_cell(
    emulators: &[Emulator; 3],
    binary: &Path,
    strategy: Strategy,
    fault: FaultKind,
    plan: Plan,
    primes: &[u64],
) -> Cell {
    let started = Instant::now();
    let nodes = named(emulators);
    let table = fresh_cluster_table(&nodes).await;
    // Each instance reaches each node through a proxy of its own.
    let mut proxies: Vec<Vec<FaultProxy>> = Vec::new();
    let mut relays = Vec::new();
    let mut instances = Vec::new();
    for local in [REGIONS[0], REGIONS[1]] {
        let mut own = Vec::new();
        let mut cluster = cluster_config(&nodes, strategy, local);
        for (node, config) in cluster.nodes.iter_mut().enumerate() {
            let mut upstream = emulators[node].endpoint().to_string();
            if plan.twin {
                let relay = relay_between(local, REGIONS[node], &upstream).await;
                upstream = relay.endpoint();
                relays.push(relay);
            }
            let proxy = FaultProxy::start(&upstream).await;
            config.endpoint = Some(proxy.endpoint());
            own.push(proxy);
        }
        proxies.push(own);
        instances.push(Instance::start(binary, &cluster, &table, plan.twin).await);
    }

    // The requests: n mostly from a small set both instances race on.
    let mut rng = fastrand::Rng::with_seed(strategy as u64 * 31 + fault as u64);
    let phases: Vec<Vec<(usize, u64)>> = (0..3)
        .map(|_| {
            (0..plan.per_phase)
                .map(|_| {
                    let n = if rng.f64() < 0.85 {
                        rng.u64(1..=plan.hot)
                    } else {
                        rng.u64(1..=10_000)
                    };
                    (rng.usize(0..2), n)
                })
                .collect()
        })
        .collect();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client");
    let urls: Arc<Vec<String>> = Arc::new(instances.iter().map(|i| i.url.clone()).collect());
    let mut during = Vec::new();
    let mut failed_over = 0;
    let mut not_stored = 0;
    let victim = emulators[VICTIM].client(REGIONS[VICTIM]).await;
    let mut backup = None;
    // A backup of the victim is taken halfway through the first phase: the writes of the
    // second half are what it misses.
    let halves = usize::from(fault == FaultKind::RestoredFromBackup) + 1;
    let chunks = phases.iter().enumerate().flat_map(|(phase, requests)| {
        let size = if phase == 0 {
            requests.len().div_ceil(halves)
        } else {
            requests.len()
        };
        requests
            .chunks(size.max(1))
            .map(move |chunk| (phase, chunk))
    });
    for (k, (phase, requests)) in chunks.enumerate() {
        let faulted = phase == 1;
        if k == 1 && phase == 0 {
            backup = Some(restore::back_up(&victim, &table).await);
        }
        for (i, own) in proxies.iter().enumerate() {
            let strikes = faulted && (fault != FaultKind::Partitioned || i == 0);
            own[VICTIM].set(if strikes {
                fault.proxy_fault()
            } else {
                Fault::None
            });
        }
        let answers: Vec<(Answer, bool)> = futures::stream::iter(requests.iter().copied())
            .map(|(i, n)| {
                let (http, urls) = (http.clone(), Arc::clone(&urls));
                async move { ask(&http, &urls[i], n).await }
            })
            .buffer_unordered(plan.concurrency)
            .collect()
            .await;
        failed_over += answers.iter().filter(|(_, over)| *over).count();
        not_stored += answers
            .iter()
            .filter(|(a, _)| a.outcome.as_ref().is_ok_and(|a| !a.stored))
            .count();
        during.extend(answers.into_iter().map(|(answer, _)| answer));
        if faulted
            && matches!(
                fault,
                FaultKind::RestoredEmpty | FaultKind::RestoredFromBackup
            )
        {
            restore::restore(&victim, &table, backup.take().unwrap_or_default()).await;
            // What the victim held is gone by design: answers so far are not held to
            // "not lost".
            for answer in &mut during {
                if let Ok(answered) = &mut answer.outcome {
                    answered.stored = false;
                }
            }
        }
    }
    drop(instances);
    drop(proxies);

    // Converge: past the write grace, handoff and repair until they find nothing to do,
    // every n asked once more by a clean instance, and handoff again once that read's
    // claims are past theirs. The clean instance and the checker's reads go straight to
    // the emulators; on the twin, the upkeep reaches the nodes from the first node's
    // region (where the template deploys it), at the round trips from there.
    let mut upkeep_cluster = cluster_config(&nodes, strategy, REGIONS[2]);
    upkeep_cluster.write_grace = WRITE_GRACE;
    upkeep_cluster.repair_runs = 1;
    let direct = deps_over(upkeep_cluster.clone(), &table).await;
    if plan.twin {
        for (node, config) in upkeep_cluster.nodes.iter_mut().enumerate() {
            let relay = relay_between(REGIONS[0], REGIONS[node], emulators[node].endpoint()).await;
            config.endpoint = Some(relay.endpoint());
            relays.push(relay);
        }
    }
    let upkeep = deps_over(upkeep_cluster, &table).await;
    tokio::time::sleep(WRITE_GRACE + Duration::from_secs(1)).await;
    converge(&upkeep.service).await;
    let mut asked: Vec<u64> = phases.iter().flatten().map(|&(_, n)| n).collect();
    asked.sort_unstable();
    asked.dedup();
    // Before any request helps: one copy of each n, each led to, and no pointer to nothing.
    let unaided = check_unaided(read_nodes(&direct, &asked).await, primes);
    let mut after = Vec::with_capacity(asked.len());
    for &n in &asked {
        let outcome = direct
            .service
            .get_or_compute(n)
            .await
            .map(|lookup| Answered {
                prime: lookup.record.prime,
                stored: lookup.node.is_some(),
                cached: lookup.source == primescaler_core::Source::Cache,
            })
            .map_err(|e| e.to_string());
        after.push(Answer { n, outcome });
    }
    if !read_nodes(&direct, &asked)
        .await
        .iter()
        .all(|(_, data)| data.hints.is_empty())
    {
        tokio::time::sleep(WRITE_GRACE + Duration::from_secs(1)).await;
        converge(&upkeep.service).await;
    }
    let held = read_nodes(&direct, &asked).await;
    let mut findings = check(&held, &during, &after, primes, false);
    findings.add_unaided(unaided);
    Cell {
        strategy,
        fault,
        requests: during.len(),
        not_stored,
        failed_over,
        findings,
        took: started.elapsed(),
    }
}

/// The matrix as a Markdown table: one row per cell.
pub fn table(cells: &[Cell]) -> String {
    let mut out = String::from(
        "| strategy | fault | requests | failed over | non-200 | wrong primes | not stored | doubles | lost | orphans | dangling pointers | hints left | took |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for cell in cells {
        let f = &cell.findings;
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.0} s |\n",
            cell.strategy.as_str(),
            cell.fault.name(),
            cell.requests,
            cell.failed_over,
            f.not_answered,
            f.wrong_primes,
            cell.not_stored,
            f.doubles,
            f.lost + f.unstored,
            f.orphans,
            f.dangling,
            f.hints_left,
            cell.took.as_secs_f64()
        ));
    }
    out
}

/// The `api_instance` binary beside the running executable (a test's, under `deps/`,
/// or another binary's).
pub fn instance_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("the running executable");
    let dir = exe.parent().expect("its directory");
    [dir, dir.parent().unwrap_or(dir)]
        .iter()
        .map(|d| d.join("api_instance"))
        .find(|p| p.exists())
        .expect("api_instance is built beside this binary (cargo builds it with the tests)")
}
