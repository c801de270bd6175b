//! The twin benchmark (`make bench-twin`): the cluster's request path at the distances
//! between its regions, beside the same path on loopback, in one run.
//!
//! Three dynalite nodes (us-east-1, eu-west-1, ap-southeast-2). On the twin each is
//! reached through a relay at its round trip from us-east-1 (infra/twin); on loopback,
//! directly. A fresh function instance (the API's handler in process, with the
//! template's default budgets, its connections opened as in Lambda's init) serves a
//! mixed load: four workers ask for random n of the grid for `BENCH_TWIN_SECONDS`
//! (600), hits and misses as they come. Then the far node's emulator is stopped and
//! started again, and the time until it is found down, and used again, is taken. Last,
//! the nodes are filled with a full grid and 100,000 records more, and reset.
//!
//! Every loop is bounded in count and in time, and targets loopback only.

#[path = "../../../../docs/bench_section.rs"]
mod bench_section;
mod reset;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use primescaler_api::{ApiConfig, LiveDeps, router};
use primescaler_cluster::{BreakerState, Ring};
use primescaler_core::shard_of;
use primescaler_dynamo::create_table;
use primescaler_tests::bench::{Latencies, ms};
use primescaler_tests::events::EventShape;
use primescaler_tests::twin::{FROM, deployed_cluster, relay_to};
use primescaler_tests::{Emulator, restartable_port, workspace_root};
use primescaler_twin::{Relay, round_trip};
use serde_json::Value;
use tower::ServiceExt;

const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-2"];
const FAR: usize = 2;
const TABLE: &str = "primescaler-primes";
const WORKERS: usize = 4;
/// The most requests one load phase sends, whatever its duration.
const MAX_REQUESTS: usize = 200_000;

/// What one load phase saw.
#[derive(Default)]
struct Load {
    /// Latencies by (source, home node).
    latencies: HashMap<(String, usize), Vec<Duration>>,
    requests: usize,
    not_ok: usize,
    failovers: u64,
    stored_on: [usize; 3],
}

/// The nodes, each on its own emulator on a fixed port, and, on the twin, behind a relay.
pub(crate) struct Nodes {
    ports: [u16; 3],
    pub(crate) emulators: Vec<Option<Emulator>>,
    relays: Vec<Relay>,
}

impl Nodes {
    async fn start(twin: bool) -> Self {
        let ports = [restartable_port(), restartable_port(), restartable_port()];
        let mut emulators = Vec::new();
        let mut relays = Vec::new();
        for (i, port) in ports.iter().enumerate() {
            let emulator = Emulator::start_local(*port);
            emulator.wait_until_ready().await;
            create_table(&emulator.client(REGIONS[i]).await, TABLE)
                .await
                .expect("create the table");
            if twin {
                relays.push(relay_to(REGIONS[i], emulator.endpoint()).await);
            }
            emulators.push(Some(emulator));
        }
        Self {
            ports,
            emulators,
            relays,
        }
    }

    pub(crate) fn endpoint(&self, i: usize) -> String {
        match self.relays.get(i) {
            Some(relay) => relay.endpoint(),
            None => format!("http://127.0.0.1:{}", self.ports[i]),
        }
    }

    /// A fresh instance over the nodes, with the template's defaults, warmed up.
    async fn instance(&self) -> Arc<LiveDeps> {
        let nodes: Vec<(&str, String)> = (0..3).map(|i| (REGIONS[i], self.endpoint(i))).collect();
        let deps = LiveDeps::connect(&ApiConfig {
            cluster: deployed_cluster(&nodes),
            table: TABLE.into(),
            max_n: 10_000,
            reset_token: None,
            reset_token_secret: None,
            guard: Default::default(),
            deadline: primescaler_cluster::service::DEFAULT_DEADLINE,
        })
        .await;
        deps.service.warm_up().await;
        Arc::new(deps)
    }
}

/// Asks for n through the API function's router, as Lambda's runtime calls it (which
/// also runs the instance's work beside each response: counter flushes, early probes).
async fn ask(deps: &Arc<LiveDeps>, n: u64) -> (bool, Value) {
    let target = format!("/primes/{n}");
    let response = router(Arc::clone(deps))
        .oneshot(EventShape::ApiGateway.request("GET", &target, None))
        .await
        .expect("the router always answers");
    let ok = response.status().is_success();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    (ok, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// Four workers asking for random n of the grid for `length`.
async fn mixed_load(deps: &Arc<LiveDeps>, length: Duration) -> Load {
    let ring = Ring::new(&REGIONS);
    let load = Mutex::new(Load::default());
    let started = Instant::now();
    let worker = || async {
        while started.elapsed() < length && load.lock().unwrap().requests < MAX_REQUESTS {
            let n = fastrand::u64(1..=10_000);
            let home = ring.home(shard_of(n));
            let asked = Instant::now();
            let (ok, body) = ask(deps, n).await;
            let took = asked.elapsed();
            let mut load = load.lock().unwrap();
            load.requests += 1;
            if !ok {
                load.not_ok += 1;
                continue;
            }
            load.failovers += body["failovers"].as_u64().unwrap_or(0);
            let source = body["source"].as_str().unwrap_or("?").to_string();
            if source == "computed"
                && let Some(i) = REGIONS.iter().position(|r| body["node"] == *r)
            {
                load.stored_on[i] += 1;
            }
            load.latencies.entry((source, home)).or_default().push(took);
        }
    };
    futures::future::join_all((0..WORKERS).map(|_| worker())).await;
    load.into_inner().unwrap()
}

/// What the far node's outage showed, each time from its stop or its return.
struct Outage {
    /// From the stop until a request homed there failed over.
    found_down: Duration,
    /// From the return until the node's breaker closed: it is used again.
    used_again: Duration,
    /// From the return until an answer came from the node (that request's own round
    /// trips included).
    served: Duration,
}

/// Stops the far node's emulator, then starts it again on its port, asking for n homed
/// there all along.
async fn far_node_down_and_back(nodes: &mut Nodes, deps: &Arc<LiveDeps>) -> Outage {
    let ring = Ring::new(&REGIONS);
    let far_n: Vec<u64> = (1..=10_000u64)
        .filter(|&n| ring.home(shard_of(n)) == FAR)
        .collect();
    let pick = || far_n[fastrand::usize(..far_n.len())];
    let never = Duration::from_secs(30);
    nodes.emulators[FAR] = None;
    let stopped = Instant::now();
    let mut found_down = never;
    while stopped.elapsed() < never {
        let (_, body) = ask(deps, pick()).await;
        let breaker = &deps.service.nodes()[FAR].breaker;
        if body["failovers"].as_u64().unwrap_or(0) > 0 && breaker.state() != BreakerState::Closed {
            found_down = stopped.elapsed();
            break;
        }
    }
    let emulator = Emulator::start_local(nodes.ports[FAR]);
    emulator.wait_until_ready().await;
    create_table(&emulator.client(REGIONS[FAR]).await, TABLE)
        .await
        .expect("create the table again");
    nodes.emulators[FAR] = Some(emulator);
    let back = Instant::now();
    let served = async {
        while back.elapsed() < never {
            let (_, body) = ask(deps, pick()).await;
            if body["node"] == REGIONS[FAR] && body["failovers"] == 0 {
                return back.elapsed();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        never
    };
    let used_again = async {
        let breaker = &deps.service.nodes()[FAR].breaker;
        while back.elapsed() < never && breaker.state() != BreakerState::Closed {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        back.elapsed()
    };
    let (served, used_again) = tokio::join!(served, used_again);
    Outage {
        found_down,
        used_again,
        served,
    }
}

fn p50(samples: &[Duration]) -> String {
    if samples.is_empty() {
        return "—".into();
    }
    format!("{:.1}", ms(Latencies(samples.to_vec()).percentile(0.5)))
}

/// One profile's rows: hits and misses by home node, then the counts.
fn rows(profile: &str, load: &Load, deps: &LiveDeps) -> Vec<String> {
    let mut rows = Vec::new();
    for (i, region) in REGIONS.iter().enumerate() {
        let rtt = if profile == "twin" {
            format!("{:.1}", ms(round_trip(FROM, region).unwrap()))
        } else {
            "loopback".into()
        };
        let get = |source: &str| {
            load.latencies
                .get(&(source.to_string(), i))
                .map(Vec::as_slice)
                .unwrap_or_default()
        };
        rows.push(format!(
            "| {profile} | {region} | {rtt} | {} | {} | {} | {} |",
            get("cache").len(),
            p50(get("cache")),
            get("computed").len(),
            p50(get("computed")),
        ));
    }
    let trips: u64 = deps
        .service
        .nodes()
        .iter()
        .map(|n| n.breaker.trips().0)
        .sum();
    let stored: usize = load.stored_on.iter().sum();
    let shares: Vec<String> = Ring::new(&REGIONS)
        .shares()
        .iter()
        .zip(load.stored_on)
        .map(|(share, on)| {
            let expected = f64::from(*share) / 65_536.0;
            format!(
                "{:+.1}%",
                (on as f64 / stored.max(1) as f64 / expected - 1.0) * 100.0
            )
        })
        .collect();
    rows.push(format!(
        "\n{profile}: {} requests, {} not 200, {} failovers, {trips} breaker trips; records \
         stored per node against the ring's shares: {}.\n",
        load.requests,
        load.not_ok,
        load.failovers,
        shares.join(", ")
    ));
    rows
}

#[tokio::main]
async fn main() {
    let seconds: u64 = std::env::var("BENCH_TWIN_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    let length = Duration::from_secs(seconds);
    let mut table = vec![
        "| profile | home node | round trip ms | hits | hit p50 ms | misses | miss p50 ms |".into(),
        "|---|---|---|---|---|---|---|".to_string(),
    ];
    let mut notes = Vec::new();
    for twin in [false, true] {
        let profile = if twin { "twin" } else { "loopback" };
        let mut nodes = Nodes::start(twin).await;
        let deps = nodes.instance().await;
        eprintln!("[bench-twin] {profile}: mixed load for {seconds} s");
        let load = mixed_load(&deps, length).await;
        let mut profile_rows = rows(profile, &load, &deps);
        notes.push(profile_rows.pop().unwrap());
        table.extend(profile_rows);
        let outage = far_node_down_and_back(&mut nodes, &deps).await;
        notes.push(format!(
            "{profile}: ap-southeast-2 stopped: found down after {:.0} ms; started again: \
             used again (its breaker closed) after {:.0} ms, an answer served from it \
             after {:.0} ms (that request's round trips included; cool-down 2,000 ms).\n",
            ms(outage.found_down),
            ms(outage.used_again),
            ms(outage.served)
        ));
        eprintln!("[bench-twin] {profile}: a full grid and 100,000 records more, then a reset");
        let reset = reset::reset_phase(&nodes, &deps).await;
        notes.push(format!(
            "{profile}: `DELETE /cache` over {} records (a full grid and 100,000 more): {} \
             in {:.0} ms, {} removed; every node's count then {:?}; a viewer's read of \
             every grid found no cell {:.0} ms after the answer.\n",
            reset.held,
            reset.status,
            ms(reset.answered),
            reset.removed,
            reset.counts,
            ms(reset.grid_empty)
        ));
    }
    let section = format!(
        "## The deployed twin: the request path at the regions' distances\n\n\
         Command: `make bench-twin` (`BENCH_TWIN_SECONDS={seconds}`). {}.\n\n\
         One fresh function instance in us-east-1 (the API's handler in process, built in \
         release mode as deployed, with the template's defaults: 500 ms base budget, 2 s \
         cool-down; connections opened at start-up), three dynalite nodes reached through \
         the twin's relays at the round trips of docs/twin.md (handshakes of a new \
         connection included), or directly on loopback, in the same run. Four workers ask for random n of the grid for the \
         whole phase. Targets: a hit's p50 ≤ its node's round trip + 10 ms; a miss's p50 ≤ \
         two round trips to its arbiter + compute + 10 ms; 0 trips and 0 failovers; \
         records within ±10% of the ring's shares; a reset of a full grid and 100,000 \
         records more answered within 10 s, every count 0 and every viewer's grid empty \
         within 2 s.\n\n{}\n\n{}",
        bench_section::utc_date(),
        table.join("\n"),
        notes.join("\n")
    );
    print!("{section}");
    bench_section::write_section(&workspace_root(), "twin", &section);
}
