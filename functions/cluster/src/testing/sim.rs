//! The deterministic simulation: several instances of the rules, an upkeep and a clean
//! reader over one simulated world of nodes, interleaved by tokio's current-thread
//! scheduler on a paused clock, with every fault drawn from one seed.
//!
//! [`run`] plays one seed and checks it with the same checker as the fault matrix. The
//! seed decides the strategy, the fault profile (refusals, throttling, answers lost
//! before or after a write lands, delays, a partition, all of them at once, a node lost
//! and restored empty or from a backup, a node joining or leaving the ring, alone or
//! with a member cut off), how many
//! instances run, which n each request asks and when, and which requests are stopped
//! mid-flight (an instance that stops mid-claim). The same seed replays the same run:
//! the world's trace of every call and its fate is the same.

use std::sync::Arc;
use std::time::Duration;

use super::converge::converge;
use super::{FaultRates, MemStore, Partition, World};
use super::{moves, outage};
use crate::clock;
use crate::service::{MOVE_BUDGET, WRITE_GRACE};
use crate::{ClusterService, Node, Strategy};
use primescaler_core::{Computation, ComputeError, PrimeCalculator, Source};

use super::checker::{Answer, Answered, Findings, check, check_unaided};

/// The simulated nodes. The ring is made of the first three, unless a membership
/// change adds the fourth or starts from all four ([`moves`]).
pub const NODES: [&str; 4] = ["us-east-1", "eu-west-1", "ap-southeast-2", "sa-east-1"];

/// How many of [`NODES`] make up the ring when no change says otherwise.
const MEMBERS: usize = 3;

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
pub const PROFILES: [&str; 11] = [
    "refused",
    "throttled",
    "lost before landing",
    "lost after landing",
    "partitioned",
    "everything",
    "restored empty",
    "restored from a backup",
    "joined",
    "left",
    "changed while down",
];

/// The profiles of [`run_with_removals`], in the order seeds take them. In "resets",
/// calls are only delayed, so every count must come out exact; "everything" has every
/// fault as well; in "moved" a node joins or leaves the ring meanwhile.
pub const REMOVAL_PROFILES: [&str; 3] = ["resets", "everything", "moved"];

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

fn instance(
    world: &World,
    primes: &Arc<Vec<u64>>,
    strategy: Strategy,
    (local, members): (usize, &[usize]),
) -> Instance {
    let nodes = NODES
        .iter()
        .enumerate()
        .map(|(i, name)| Node::new(*name, world.store(i), Duration::from_secs(2)))
        .collect();
    let calculator = TableCalculator {
        primes: Arc::clone(primes),
        world: world.clone(),
    };
    let members = members.iter().map(|&i| NODES[i].to_owned()).collect();
    ClusterService::new(nodes, strategy, local, calculator)
        .with_seed_members(members)
        .expect("members are nodes")
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
        "partitioned" | "resets" => {}
        _ => {
            rates.refuse = heavy / 4.0;
            rates.busy = heavy / 4.0;
            rates.lost_before = heavy / 4.0;
            rates.lost_after = heavy / 4.0;
        }
    }
    if profile.starts_with("restored") {
        // The node is lost after it has taken some writes, and comes back seconds later.
        let from = rng.u64(500..2_000);
        partitions.push(Partition {
            node: rng.usize(0..MEMBERS),
            from: Duration::from_millis(from),
            until: Duration::from_millis(from + rng.u64(200..2_000)),
        });
    }
    if matches!(profile, "partitioned" | "everything") {
        let from = rng.u64(0..2_000);
        partitions.push(Partition {
            node: rng.usize(0..MEMBERS),
            from: Duration::from_millis(from),
            until: Duration::from_millis(from + rng.u64(200..4_000)),
        });
    }
    (rates, partitions)
}

/// A reset of every node, or an eviction of one n, racing the requests.
#[derive(Debug, Clone, Copy)]
struct Removal {
    /// The n evicted, or `None` for a reset.
    n: Option<u64>,
    /// When it ended, after the run began.
    ended: Duration,
    /// Whether it missed a node (a reset that was not complete): that node is reset
    /// later, when the upkeep carries the reset over, with whatever it stored meanwhile.
    partial: bool,
}

impl Removal {
    /// Whether it may have removed what a request for `n`, begun at `began`, stored.
    fn touches(&self, n: u64, began: Duration) -> bool {
        self.n.is_none_or(|evicted| evicted == n) && (self.partial || self.ended >= began)
    }
}

/// Starts 1 to 3 resets and 1 to 3 evictions of a contended n, at drawn times on drawn
/// instances; each answers when it ended.
///
/// An eviction that removes a claim's pointer after the pointer is written and before
/// its record lands leaves that record with nothing leading to it: the repair adopts it
/// once it is past the write grace.
fn start_removals(
    rng: &mut fastrand::Rng,
    instances: &[Arc<Instance>],
    span: Duration,
) -> Vec<tokio::task::JoinHandle<Removal>> {
    let began = tokio::time::Instant::now();
    let resets = (0..rng.usize(1..=3)).map(|_| None);
    let evictions: Vec<Option<u64>> = (0..rng.usize(1..=3))
        .map(|_| Some(rng.u64(1..=8)))
        .collect();
    resets
        .chain(evictions)
        .map(|n| {
            let service = Arc::clone(&instances[rng.usize(0..instances.len())]);
            let at = Duration::from_millis(rng.u64(0..span.as_millis() as u64));
            tokio::spawn(async move {
                tokio::time::sleep(at).await;
                // A removal may fail on a faulted node; the rest of the run goes on.
                let partial = match n {
                    None => service.clear().await.ok().is_none_or(|report| {
                        !(report.unreachable.is_empty() && report.busy.is_empty())
                    }),
                    Some(n) => service.evict(n).await.is_err(),
                };
                Removal {
                    n,
                    ended: began.elapsed(),
                    partial,
                }
            })
        })
        .collect()
}

/// Plays seed `seed` and checks it; `primes[n - 1]` is the nth prime, for n up to
/// [`MAX_N`].
pub fn run(seed: u64, primes: &Arc<Vec<u64>>) -> Outcome {
    run_on(seed, primes, false)
}

/// As [`run`], with resets of every node (and evictions of one n, see
/// [`start_removals`]) racing the requests, under the [`REMOVAL_PROFILES`].
pub fn run_with_removals(seed: u64, primes: &Arc<Vec<u64>>) -> Outcome {
    run_on(seed, primes, true)
}

fn run_on(seed: u64, primes: &Arc<Vec<u64>>, removals: bool) -> Outcome {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime");
    runtime.block_on(async {
        let _clock = clock::start_virtual(STARTS_AT_MS);
        play(seed, primes, removals).await
    })
}

async fn play(seed: u64, primes: &Arc<Vec<u64>>, removals: bool) -> Outcome {
    let mut rng = fastrand::Rng::with_seed(seed);
    let profiles: &[&'static str] = if removals {
        &REMOVAL_PROFILES
    } else {
        &PROFILES
    };
    let strategy = STRATEGIES[(seed / profiles.len() as u64) as usize % STRATEGIES.len()];
    let profile = profiles[seed as usize % profiles.len()];
    let (rates, mut partitions) = faults(profile, &mut rng);
    let change = moves::for_profile(profile, NODES.len(), &mut rng, &mut partitions);
    let world = World::new(NODES.len(), rng.u64(..), rates, partitions.clone());
    let outage = outage::for_profile(profile, &partitions, &world, &mut rng);
    let members: Vec<usize> = change
        .as_ref()
        .map_or((0..MEMBERS).collect(), |c| c.from.clone());
    // With a change, requests go on past the mover's settling time, to race the move.
    let span = if change.is_some() {
        moves::MOVING_SPAN
    } else {
        Duration::from_secs(3)
    };

    let instances: Vec<Arc<Instance>> = (0..rng.usize(2..=3))
        .map(|_| {
            let local = rng.usize(0..NODES.len());
            Arc::new(instance(&world, primes, strategy, (local, &members)))
        })
        .collect();
    let upkeep = Arc::new(instance(&world, primes, strategy, (0, &members)).with_repair_runs(1));
    let changing = change
        .map(|change| start_change(change, instance(&world, primes, strategy, (0, &members))));

    let racing = if removals {
        start_removals(&mut rng, &instances, span)
    } else {
        Vec::new()
    };
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
        let starts = Duration::from_millis(rng.u64(0..span.as_millis() as u64));
        // (Not in "resets": a request stopped between its count and its record leaves
        // the count one off, which no reset is to blame for.)
        let stop_after = (rng.f64() < 0.08 && profile != "resets")
            .then(|| Duration::from_millis(rng.u64(0..400)));
        stopped += usize::from(stop_after.is_some());
        requests.push(tokio::spawn(async move {
            tokio::time::sleep(starts).await;
            let lookup = service.get_or_compute(n);
            let answer = match stop_after {
                // The instance stops mid-request: the request is dropped where it is.
                Some(after) => tokio::time::timeout(after, lookup)
                    .await
                    .ok()
                    .map(|result| answered(n, result)),
                None => Some(answered(n, lookup.await)),
            };
            answer.map(|answer| (answer, starts))
        }));
    }
    let passes: Vec<_> = (0..2)
        .map(|_| {
            let upkeep = Arc::clone(&upkeep);
            let at = Duration::from_millis(rng.u64(0..span.as_millis() as u64 + 1_000));
            tokio::spawn(async move {
                tokio::time::sleep(at).await;
                upkeep.spread_membership().await;
                upkeep.move_within(MOVE_BUDGET).await;
                upkeep.hand_off().await;
                // The repair racing the requests (what is young it leaves alone).
                upkeep.repair().await;
            })
        })
        .collect();
    let mut answers = Vec::new();
    for request in requests {
        answers.extend(request.await.expect("a request task"));
    }
    for pass in passes {
        pass.await.expect("an upkeep task");
    }
    if let Some(changing) = changing {
        changing.await.expect("a change task");
    }
    let mut removed = Vec::new();
    for removal in racing {
        removed.push(removal.await.expect("a removal task"));
    }
    // A node restored empty, or from a backup, lost what was stored on it since.
    if let Some(outage) = outage {
        removed.push(Removal {
            n: None,
            ended: outage.await.expect("an outage task"),
            partial: false,
        });
    }
    // A record stored before a reset, or an eviction of its n, that ended after its
    // request began may be gone by design: such answers are not held to "not lost".
    let during: Vec<Answer> = answers
        .into_iter()
        .map(|(mut answer, starts)| {
            if removed.iter().any(|r| r.touches(answer.n, starts))
                && let Ok(answered) = &mut answer.outcome
            {
                answered.stored = false;
            }
            answer
        })
        .collect();

    // Converge: faults healed, the write grace past, handoff run until it keeps nothing,
    // and every n asked read once more by a clean instance.
    world.heal();
    tokio::time::sleep(WRITE_GRACE + Duration::from_secs(5)).await;
    converge(&upkeep).await;
    // Before any request helps: one copy of each n, each led to, and no pointer to nothing.
    let unaided = check_unaided(named(&world, &members), primes);
    let reader = instance(&world, primes, strategy, (0, &members));
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

    let mut findings = check(
        &named(&world, &members),
        &during,
        &after,
        primes,
        removals && profile == "resets",
    );
    findings.add_unaided(unaided);
    Outcome {
        seed,
        strategy,
        profile,
        trace: world.trace(),
        stopped,
        findings,
    }
}

/// Asks `admin` for `change` at its time; the run goes on whether or not it lands (a
/// change that reached some nodes only is spread by the upkeep).
fn start_change(change: moves::Change, admin: Instance) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        tokio::time::sleep(change.at).await;
        let to = change.to.iter().map(|&i| NODES[i].to_owned()).collect();
        if let Err(why) = admin.change_membership(to).await {
            tracing::info!(%why, "the membership change did not land");
        }
    })
}

/// What every node of `world` holds, by name: the nodes of `seed` (the ring the run
/// began with) while no node holds a membership of its own, every node once one does
/// (the checker takes the ring from the newest).
fn named(world: &World, seed: &[usize]) -> Vec<(String, super::NodeData)> {
    let snapshot = world.snapshot();
    let changed = snapshot.iter().any(|data| data.membership.is_some());
    NODES
        .iter()
        .map(|name| (*name).to_owned())
        .zip(snapshot)
        .enumerate()
        .filter(|(i, _)| changed || seed.contains(i))
        .map(|(_, named)| named)
        .collect()
}
