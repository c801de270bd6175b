//! The deterministic simulation: several instances of the rules, an upkeep and a clean
//! reader over one simulated world of nodes, interleaved by tokio's current-thread
//! scheduler on a paused clock, with every fault drawn from one seed.
//!
//! [`run`] plays one seed and checks it with the same checker as the fault matrix. The
//! seed decides the strategy, the fault profile (refusals, throttling, answers lost
//! before or after a write lands, delays, a partition, all of them at once), how many
//! instances run, which n each request asks and when, and which requests are stopped
//! mid-flight (an instance that stops mid-claim). The same seed replays the same run:
//! the world's trace of every call and its fate is the same.

use std::sync::Arc;
use std::time::Duration;

use super::{FaultRates, MemStore, Partition, World};
use crate::clock;
use crate::service::WRITE_GRACE;
use crate::{ClusterService, Node, Strategy};
use primescaler_core::{Computation, ComputeError, PrimeCalculator, Source};

use super::checker::{Answer, Answered, Findings, check};

/// The simulated nodes.
pub const NODES: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-2"];

/// The largest n a simulated request asks.
pub const MAX_N: u64 = 200;

/// When the simulated wall clock starts (2027-01-15).
const STARTS_AT_MS: u64 = 1_800_000_000_000;

/// Requests per run.
const REQUESTS: usize = 24;

/// The four strategies, in the order seeds take them.
pub const STRATEGIES: [Strategy; 4] = [
    Strategy::ConsistentHash,
    Strategy::RoundRobin,
    Strategy::LocalFirst,
    Strategy::RemoteFirst,
];

/// The fault profiles, in the order seeds take them.
pub const PROFILES: [&str; 6] = [
    "refused",
    "throttled",
    "lost before landing",
    "lost after landing",
    "partitioned",
    "everything",
];

/// What one seed did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The seed.
    pub seed: u64,
    /// Its strategy.
    pub strategy: Strategy,
    /// Its fault profile.
    pub profile: &'static str,
    /// The hash of every store call and its fate, and how many calls there were.
    pub trace: (u64, u64),
    /// Requests stopped mid-flight.
    pub stopped: usize,
    /// What the checker found.
    pub findings: Findings,
}

/// Computes from a reference table, taking a drawn while.
struct TableCalculator {
    primes: Arc<Vec<u64>>,
    world: World,
}

impl PrimeCalculator for TableCalculator {
    async fn compute(&self, n: u64) -> Result<Computation, ComputeError> {
        tokio::time::sleep(Duration::from_millis(self.world.draw(0..20))).await;
        Ok(Computation {
            prime: self.primes[n as usize - 1],
            calculator: "table".into(),
            compute_micros: 1,
            fallback_reason: None,
        })
    }
}

type Instance = ClusterService<MemStore, TableCalculator>;

fn instance(world: &World, primes: &Arc<Vec<u64>>, strategy: Strategy, local: usize) -> Instance {
    let nodes = NODES
        .iter()
        .enumerate()
        .map(|(i, name)| Node::new(*name, world.store(i), Duration::from_secs(2)))
        .collect();
    let calculator = TableCalculator {
        primes: Arc::clone(primes),
        world: world.clone(),
    };
    ClusterService::new(nodes, strategy, local, calculator)
}

fn answered(n: u64, result: Result<primescaler_core::Lookup, impl ToString>) -> Answer {
    Answer {
        n,
        outcome: result
            .map(|lookup| Answered {
                prime: lookup.record.prime,
                stored: lookup.node.is_some(),
                cached: lookup.source == Source::Cache,
            })
            .map_err(|e| e.to_string()),
    }
}

/// The fault rates and partitions of `profile`, drawn from the world.
fn faults(profile: &str, rng: &mut fastrand::Rng) -> (FaultRates, Vec<Partition>) {
    let mut rates = FaultRates {
        max_delay: Duration::from_millis(rng.u64(0..=60)),
        ..FaultRates::NONE
    };
    let heavy = 0.05 + rng.f64() * 0.25;
    let mut partitions = Vec::new();
    match profile {
        "refused" => rates.refuse = heavy,
        "throttled" => rates.busy = heavy,
        "lost before landing" => rates.lost_before = heavy,
        "lost after landing" => rates.lost_after = heavy,
        "partitioned" => {}
        _ => {
            rates.refuse = heavy / 4.0;
            rates.busy = heavy / 4.0;
            rates.lost_before = heavy / 4.0;
            rates.lost_after = heavy / 4.0;
        }
    }
    if matches!(profile, "partitioned" | "everything") {
        let from = rng.u64(0..2_000);
        partitions.push(Partition {
            node: rng.usize(0..NODES.len()),
            from: Duration::from_millis(from),
            until: Duration::from_millis(from + rng.u64(200..4_000)),
        });
    }
    (rates, partitions)
}

/// Runs handoff passes until one finds no hint to act on (a hint kept for a write under
/// way, or written again meanwhile, waits for a later pass), eight at most.
async fn converge(upkeep: &Instance) {
    for _ in 0..8 {
        let pass = upkeep.hand_off().await;
        if pass.handed_off + pass.doubles_removed + pass.kept == 0 {
            break;
        }
    }
}

/// Plays seed `seed` and checks it; `primes[n - 1]` is the nth prime, for n up to
/// [`MAX_N`].
pub fn run(seed: u64, primes: &Arc<Vec<u64>>) -> Outcome {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime");
    runtime.block_on(async {
        let _clock = clock::start_virtual(STARTS_AT_MS);
        play(seed, primes).await
    })
}

async fn play(seed: u64, primes: &Arc<Vec<u64>>) -> Outcome {
    let mut rng = fastrand::Rng::with_seed(seed);
    let strategy = STRATEGIES[(seed / PROFILES.len() as u64) as usize % STRATEGIES.len()];
    let profile = PROFILES[seed as usize % PROFILES.len()];
    let (rates, partitions) = faults(profile, &mut rng);
    let world = World::new(NODES.len(), rng.u64(..), rates, partitions);

    let instances: Vec<Arc<Instance>> = (0..rng.usize(2..=3))
        .map(|_| {
            Arc::new(instance(
                &world,
                primes,
                strategy,
                rng.usize(0..NODES.len()),
            ))
        })
        .collect();
    let upkeep = Arc::new(instance(&world, primes, strategy, 0));

    let mut requests = Vec::with_capacity(REQUESTS);
    let mut asked = Vec::with_capacity(REQUESTS);
    let mut stopped = 0;
    for _ in 0..REQUESTS {
        let service = Arc::clone(&instances[rng.usize(0..instances.len())]);
        // Most requests race on a few n; some ask a wider range.
        let n = if rng.f64() < 0.75 {
            rng.u64(1..=8)
        } else {
            rng.u64(1..=MAX_N)
        };
        asked.push(n);
        let starts = Duration::from_millis(rng.u64(0..3_000));
        let stop_after = (rng.f64() < 0.08).then(|| Duration::from_millis(rng.u64(0..400)));
        stopped += usize::from(stop_after.is_some());
        requests.push(tokio::spawn(async move {
            tokio::time::sleep(starts).await;
            let lookup = service.get_or_compute(n);
            match stop_after {
                // The instance stops mid-request: the request is dropped where it is.
                Some(after) => tokio::time::timeout(after, lookup)
                    .await
                    .ok()
                    .map(|result| answered(n, result)),
                None => Some(answered(n, lookup.await)),
            }
        }));
    }
    let passes: Vec<_> = (0..2)
        .map(|_| {
            let upkeep = Arc::clone(&upkeep);
            let at = Duration::from_millis(rng.u64(0..4_000));
            tokio::spawn(async move {
                tokio::time::sleep(at).await;
                upkeep.hand_off().await
            })
        })
        .collect();
    let mut during = Vec::new();
    for request in requests {
        during.extend(request.await.expect("a request task"));
    }
    for pass in passes {
        pass.await.expect("an upkeep task");
    }

    // Converge: faults healed, the write grace past, handoff run until it keeps nothing,
    // and every n asked read once more by a clean instance.
    world.heal();
    tokio::time::sleep(WRITE_GRACE + Duration::from_secs(5)).await;
    converge(&upkeep).await;
    let reader = instance(&world, primes, strategy, 0);
    // (A stopped request's n too: its claim may have been cut off before its record,
    // and only a later request for n settles that.)
    asked.sort_unstable();
    asked.dedup();
    let mut after = Vec::with_capacity(asked.len());
    for n in asked {
        after.push(answered(n, reader.get_or_compute(n).await));
    }
    // (The clean read's own claims count for handoff once past their grace.)
    tokio::time::sleep(WRITE_GRACE + Duration::from_secs(5)).await;
    converge(&upkeep).await;

    let nodes: Vec<_> = NODES
        .iter()
        .map(|name| (*name).to_owned())
        .zip(world.snapshot())
        .collect();
    Outcome {
        seed,
        strategy,
        profile,
        trace: world.trace(),
        stopped,
        findings: check(&nodes, &during, &after, primes),
    }
}
