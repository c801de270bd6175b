//! The emulators compared on PrimeScaler's own store paths, in one run: dynalite (npm)
//! and moto server (PyPI), each started here on a loopback port, each holding one node's
//! third of a full grid and as many records outside it. The figures choose `make dev`'s
//! and `make test`'s default (`docs/benchmarks.md`, emulators).

#[path = "../../../docs/bench_section.rs"]
mod bench_section;

use std::time::{Duration, Instant};

use primescaler_core::{
    CountChange, Epoch, GetRecord, PutRecordIfAbsent, ReadCounters, RecordChange, RecordKey,
    ScanGrid, ScanRecords,
};
use primescaler_dynamo::DynamoStore;
use primescaler_tests::bench::{Latencies, ms, record, resident_bytes, sequential};
use primescaler_tests::{Emulator, EmulatorKind, workspace_root};

/// Grid records stored (a node's third of the grid), and as many outside it.
const RECORDS: u64 = 3_334;
/// Calls per item path.
const CALLS: usize = 300;
/// Grid scans for the memory figure.
const SCANS: usize = 100;

struct Figures {
    start: Duration,
    put: Latencies,
    get: Latencies,
    count: Latencies,
    version: Latencies,
    grid_scan: Latencies,
    whole_scan: Latencies,
    memory_start_mb: f64,
    memory_growth_mb: f64,
}

async fn measure(kind: EmulatorKind) -> Figures {
    let started = Instant::now();
    let emulator = Emulator::start_kind(kind).await;
    let start = started.elapsed();
    let table = emulator.fresh_table("us-east-1").await;
    let store = DynamoStore::new(emulator.client("us-east-1").await, &table);
    let pid = emulator.pid().expect("a local emulator");
    let memory_start_mb = resident_bytes(pid) as f64 / 1e6;
    // The node's records: a third of the grid (every third n) and as many outside it.
    let (put, _) = sequential(RECORDS as usize * 2, |i| {
        let i = i as u64;
        let n = if i < RECORDS { 3 * i + 1 } else { 20_000 + i };
        let store = &store;
        async move {
            store
                .put_record_if_absent(&record(n), Epoch::default())
                .await
                .expect("put");
        }
    })
    .await;
    let (get, _) = sequential(CALLS, |i| {
        let store = &store;
        async move {
            let key = RecordKey::for_index(3 * (i as u64 % RECORDS) + 1);
            assert!(store.get_entry(key).await.expect("get").is_some());
        }
    })
    .await;
    let (count, _) = sequential(CALLS, |_| async {
        store
            .count_change(RecordChange {
                items: 1,
                grid: true,
                epoch: Epoch::default(),
            })
            .await
            .expect("count");
    })
    .await;
    let (version, _) = sequential(CALLS, |_| async {
        store.read_counters().await.expect("version");
    })
    .await;
    let before_scans = resident_bytes(pid);
    let (grid_scan, _) = sequential(SCANS, |_| async {
        assert_eq!(
            store.scan_grid().await.expect("scan").cells.len(),
            RECORDS as usize
        );
    })
    .await;
    let memory_growth_mb = (resident_bytes(pid) as f64 - before_scans as f64) / 1e6;
    let (whole_scan, _) = sequential(10, |_| async {
        let mut cursor = None;
        loop {
            let page = store.scan_records(cursor, 10_000).await.expect("scan");
            cursor = page.next;
            if cursor.is_none() {
                break;
            }
        }
    })
    .await;
    Figures {
        start,
        put,
        get,
        count,
        version,
        grid_scan,
        whole_scan,
        memory_start_mb,
        memory_growth_mb,
    }
}

#[tokio::main]
async fn main() {
    let dynalite = measure(EmulatorKind::Dynalite).await;
    let moto = measure(EmulatorKind::Moto).await;
    let p50 = |l: &Latencies| ms(l.percentile(0.5));
    let row = |what: &str, d: &Latencies, m: &Latencies| {
        format!(
            "| {what} | {:.3} | {:.3} | {:.1}× |",
            p50(d),
            p50(m),
            p50(m) / p50(d)
        )
    };
    let rows = [
        row("conditional PutItem (a record)", &dynalite.put, &moto.put),
        row("GetItem (a hit)", &dynalite.get, &moto.get),
        row(
            "UpdateItem ADD (a record counted)",
            &dynalite.count,
            &moto.count,
        ),
        row(
            "GetItem of the counters (a grid poll, per node)",
            &dynalite.version,
            &moto.version,
        ),
        row(
            &format!("Scan of the grid index ({RECORDS} items)"),
            &dynalite.grid_scan,
            &moto.grid_scan,
        ),
        row(
            &format!("Scan of the whole table ({} items)", RECORDS * 2),
            &dynalite.whole_scan,
            &moto.whole_scan,
        ),
    ];
    let faster = rows.len();
    let wins = [
        (&dynalite.put, &moto.put),
        (&dynalite.get, &moto.get),
        (&dynalite.count, &moto.count),
        (&dynalite.version, &moto.version),
        (&dynalite.grid_scan, &moto.grid_scan),
        (&dynalite.whole_scan, &moto.whole_scan),
    ]
    .iter()
    .filter(|(d, m)| p50(d) < p50(m))
    .count();
    let section = format!(
        "## Emulators: dynalite and moto on PrimeScaler's store paths\n\n\
         Command: `make bench-emulators` (`cargo run --release -p primescaler-tests --bin \
         emulator_bench`). {date}; 2 cores. Each emulator started here on loopback, one table \
         with the grid index, {RECORDS} grid records and {RECORDS} outside it, written through \
         `DynamoStore` (the adapter the functions use); {CALLS} sequential calls per item path, \
         {SCANS} grid scans, 10 whole-table scans.\n\n\
         | path | dynalite p50 ms | moto p50 ms | moto ÷ dynalite |\n|---|---|---|---|\n{rows}\n\n\
         | | dynalite | moto |\n|---|---|---|\n\
         | start, to the first answer | {ds:.2} s | {ms_:.2} s |\n\
         | resident memory at start | {dm:.0} MB | {mm:.0} MB |\n\
         | memory growth over {SCANS} grid scans | {dg:+.1} MB | {mg:+.1} MB |\n\n\
         The default for `make dev` and `make test` is dynalite, chosen by these figures: it is \
         faster on **{wins} of {faster}** paths here{verdict}. moto stays selectable \
         (`EMULATOR=moto make dev`, `PRIMESCALER_EMULATOR=moto cargo test`); it is the one that \
         can check IAM policies. dynalite keeps one namespace for every region, so each node is \
         its own process, as in `make dev`.\n",
        date = bench_section::utc_date(),
        rows = rows.join("\n"),
        ds = dynalite.start.as_secs_f64(),
        ms_ = moto.start.as_secs_f64(),
        dm = dynalite.memory_start_mb,
        mm = moto.memory_start_mb,
        dg = dynalite.memory_growth_mb,
        mg = moto.memory_growth_mb,
        verdict = if wins * 2 > faster {
            ""
        } else {
            " — **these figures no longer support that default**"
        },
    );
    println!("{section}");
    bench_section::write_section(&workspace_root(), "emulators", &section);
    println!("written to docs/benchmarks.md");
}
