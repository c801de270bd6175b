//! Placement figures: our ring beside rendezvous hashing and Maglev, on the grid's keys
//! (n = 1..10,000) and on 1,000,000 keys, for N = 3, 5 and 10 nodes.
//!
//! Run: `make bench-placement` (or `cargo bench -p primescaler-cluster --bench placement`).
//! It prints one table and writes it into `docs/benchmarks.md`.

#[path = "../../../docs/bench_section.rs"]
mod bench_section;

use std::path::PathBuf;

use maglev::{ConsistentHasher, Maglev};
use primescaler_cluster::Ring;
use primescaler_cluster::placement::name_hash;
use primescaler_core::shard::mix64;
use primescaler_core::{SHARD_COUNT, Shard, shard_of};

const REGIONS: [&str; 11] = [
    "us-east-1",
    "eu-west-1",
    "ap-southeast-2",
    "us-west-2",
    "eu-central-1",
    "ap-northeast-1",
    "sa-east-1",
    "ca-central-1",
    "ap-south-1",
    "eu-north-1",
    "me-south-1",
];

/// A shard → node map for one node set, as a table over every shard.
type Placement = Vec<usize>;

/// A placement scheme: its name, and how it places every shard on a node set.
type Scheme = (&'static str, fn(&[&str]) -> Placement);

fn ring(names: &[&str]) -> Placement {
    let ring = Ring::new(names);
    (0..SHARD_COUNT).map(|s| ring.home(s)).collect()
}

fn rendezvous(names: &[&str]) -> Placement {
    let hashes: Vec<u64> = names.iter().map(|n| name_hash(n)).collect();
    (0..SHARD_COUNT)
        .map(|s: Shard| {
            (0..names.len())
                .max_by_key(|&i| mix64(hashes[i] ^ mix64(u64::from(s))))
                .unwrap()
        })
        .collect()
}

fn maglev(names: &[&str]) -> Placement {
    let table = Maglev::with_capacity(names.to_vec(), 65_537);
    (0..SHARD_COUNT)
        .map(|s| {
            let node = table.get(&s).unwrap();
            names.iter().position(|n| n == node).unwrap()
        })
        .collect()
}

/// `names` without the node at index `gone`.
fn without<'a>(names: &[&'a str], gone: usize) -> Vec<&'a str> {
    names
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != gone)
        .map(|(_, n)| *n)
        .collect()
}

/// max/mean load of the nodes over keys 1..=keys.
fn balance(placement: &Placement, nodes: usize, keys: u64) -> f64 {
    let mut load = vec![0u64; nodes];
    for n in 1..=keys {
        load[placement[shard_of(n) as usize]] += 1;
    }
    *load.iter().max().unwrap() as f64 / (keys as f64 / nodes as f64)
}

/// Keys moved by adding a node, as a multiple of the ideal keys/(N+1).
fn added(before: &Placement, after: &Placement, nodes: usize, keys: u64) -> f64 {
    let moved = (1..=keys)
        .filter(|&n| before[shard_of(n) as usize] != after[shard_of(n) as usize])
        .count();
    moved as f64 / (keys as f64 / (nodes + 1) as f64)
}

/// Keys that moved although their node stayed, when node `gone` is removed.
fn collateral(
    before: &Placement,
    after: &Placement,
    names: &[&str],
    gone: usize,
    keys: u64,
) -> u64 {
    let kept = without(names, gone);
    (1..=keys)
        .filter(|&n| {
            let old = before[shard_of(n) as usize];
            old != gone && names[old] != kept[after[shard_of(n) as usize]]
        })
        .count() as u64
}

fn main() {
    let schemes: [Scheme; 3] = [
        ("ring, 4,096 vnodes (ours)", ring),
        ("rendezvous (HRW)", rendezvous),
        ("Maglev (crate, 65,537 slots)", maglev),
    ];
    let mut rows = Vec::new();
    for (scheme, place) in schemes {
        for nodes in [3usize, 5, 10] {
            let names = &REGIONS[..nodes];
            let base = place(names);
            let grown = place(&REGIONS[..nodes + 1]);
            let gone = nodes / 2;
            let shrunk = place(&without(names, gone));
            let mut cells = Vec::new();
            for keys in [10_000u64, 1_000_000] {
                cells.push(format!("{:.3}", balance(&base, nodes, keys)));
                cells.push(format!("{:.3}", added(&base, &grown, nodes, keys)));
                cells.push(collateral(&base, &shrunk, names, gone, keys).to_string());
            }
            let row = format!("| {scheme} | {nodes} | {} |", cells.join(" | "));
            println!("{row}");
            rows.push(row);
        }
    }
    let date = bench_section::utc_date();
    let section = format!(
        "## Placement: n → shard → node\n\n\
         Command: `make bench-placement` (`cargo bench -p primescaler-cluster --bench placement`). {date}.\n\n\
         Keys are n = 1..10,000 (the grid) and n = 1..1,000,000, placed n → shard (Fibonacci hashing, {SHARD_COUNT} shards) → node. \
         Nodes are region names (us-east-1, eu-west-1, ap-southeast-2, …). Targets: **max/mean** ≤ 1.05 at N = 10; \
         **add** (keys moved when an (N+1)th node joins, ÷ the ideal keys/(N+1)) ≤ 1.05; \
         **remove: others moved** (keys moved although their node stayed, when one node leaves) = 0.\n\n\
         | scheme | N | grid max/mean | grid add | grid remove: others moved | 10^6 max/mean | 10^6 add | 10^6 remove: others moved |\n\
         |---|---|---|---|---|---|---|---|\n\
         {}\n\n\
         The ring is the only scheme here that meets all three targets: rendezvous hashing moves nothing needlessly but balances \
         the grid no better than chance, and Maglev balances well but moves other nodes' keys when one leaves.\n",
        rows.join("\n"),
    );
    bench_section::write_section(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."),
        "placement",
        &section,
    );
    println!("\nwritten to docs/benchmarks.md");
}
