//! The UI function over HTTP, against real nodes: two regions on the emulator and a
//! third node that is down. The grid it serves is what the API stored, node by node; a
//! poll reads the grid's records alone, and many viewers share one read.

use std::sync::Arc;
use std::time::Duration;

use lambda_http::Body;
use primescaler_api::{ApiConfig, LiveDeps, handle};
use primescaler_cluster::Strategy;
use primescaler_tests::events::EventShape;
use primescaler_tests::{Emulator, cluster_config, free_port, fresh_cluster_table};
use primescaler_ui::live::FRESH_FOR;
use primescaler_ui::{LiveUiDeps, UiConfig, router};
use primescaler_ui_app::model::GridSnapshot;
use reqwest::StatusCode;
use serde_json::Value;

const LIVE: [&str; 2] = ["us-east-1", "eu-west-1"];
const DOWN: &str = "ap-southeast-2";

async fn api(deps: &LiveDeps, method: &str, target: &str) -> Value {
    let response = handle(deps, EventShape::ApiGateway.request(method, target, None))
        .await
        .expect("the handler always answers");
    let Body::Text(text) = response.body() else {
        panic!("a text body")
    };
    serde_json::from_str(text).expect("JSON")
}

/// Serves the UI router on a loopback port; answers its base URL and its dependencies.
async fn serve_ui(config: &UiConfig) -> (String, Arc<LiveUiDeps>) {
    let deps = Arc::new(LiveUiDeps::connect(config).await);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("bind a loopback port");
    let base = format!("http://{}", listener.local_addr().unwrap());
    let served = Arc::clone(&deps);
    tokio::spawn(async move { axum::serve(listener, router(served)).await });
    (base, deps)
}

/// The UI over one node of its own emulator, served over HTTP: its URL, and the emulator
/// to keep while it serves.
async fn ui_over_one_node() -> (String, Emulator) {
    let emulator = Emulator::start().await;
    let live = [(LIVE[0], &emulator)];
    let table = fresh_cluster_table(&live).await;
    let (base, _) = serve_ui(&ui_config(
        cluster_config(&live, Strategy::ConsistentHash, LIVE[0]),
        table,
    ))
    .await;
    (base, emulator)
}

/// The grid as `GET /grid` answers it.
async fn grid(http: &reqwest::Client, base: &str) -> GridSnapshot {
    let response = http.get(format!("{base}/grid")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// The API function's dependencies over `cluster`'s `table`.
async fn api_over(cluster: &primescaler_cluster::ClusterConfig, table: &str) -> LiveDeps {
    LiveDeps::connect(&ApiConfig {
        cluster: cluster.clone(),
        table: table.to_string(),
        max_n: 1_000_000,
        reset_token: None,
        reset_token_secret: None,
        guard: Default::default(),
        deadline: primescaler_cluster::service::DEFAULT_DEADLINE,
    })
    .await
}

/// One emulator per live node: each region is its own process, as in `make dev`.
async fn start_live_nodes() -> Vec<Emulator> {
    futures::future::join_all(LIVE.iter().map(|_| Emulator::start())).await
}

fn named(emulators: &[Emulator]) -> Vec<(&'static str, &Emulator)> {
    LIVE.iter().copied().zip(emulators).collect()
}

fn ui_config(cluster: primescaler_cluster::ClusterConfig, table: String) -> UiConfig {
    UiConfig {
        cluster,
        table,
        max_n: 1_000_000,
        scan_budget: Duration::from_secs(2),
        scan_segments: 1,
        first_paint_wait: Duration::from_millis(200),
        read_delay: Duration::ZERO,
    }
}

#[tokio::test]
async fn the_grid_shows_what_each_node_holds_and_names_the_node_that_is_down() {
    // GIVEN three nodes, one of them down, and n = 1..=40 computed through the API
    let emulators = start_live_nodes().await;
    let dead = format!("http://127.0.0.1:{}", free_port());
    let live = named(&emulators);
    let table = fresh_cluster_table(&live).await;
    let mut cluster = cluster_config(&live, Strategy::ConsistentHash, LIVE[0]);
    cluster.nodes.push(primescaler_cluster::NodeConfig {
        name: DOWN.into(),
        endpoint: Some(dead),
    });
    let api_deps = api_over(&cluster, &table).await;
    let mut expected = Vec::new();
    for n in 1..=40u64 {
        let answer = api(&api_deps, "GET", &format!("/primes/{n}")).await;
        expected.push((n, answer["prime"].as_u64().unwrap(), answer["node"].clone()));
    }
    api(&api_deps, "GET", "/primes/20000").await;
    let (base, _) = serve_ui(&UiConfig {
        scan_segments: 4,
        ..ui_config(cluster, table)
    })
    .await;
    let http = reqwest::Client::new();

    // WHEN the grid is read
    let response = http.get(format!("{base}/grid")).send().await.unwrap();

    // THEN it holds each n once, on the node the API stored it on, and no n off the grid
    assert_eq!(response.status(), StatusCode::OK);
    let etag = response.headers()["etag"].clone();
    let grid: GridSnapshot = response.json().await.unwrap();
    assert_eq!(grid.nodes, vec![LIVE[0], LIVE[1], DOWN]);
    assert_eq!(grid.down, vec![2]);
    let cells: Vec<(u64, u64, Value)> = grid
        .cells
        .iter()
        .map(|c| (c.n, c.prime, Value::from(grid.nodes[c.node].as_str())))
        .collect();
    assert_eq!(cells, expected);

    // AND an unchanged grid answers 304 to its ETag
    let unchanged = http
        .get(format!("{base}/grid"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(unchanged.status(), StatusCode::NOT_MODIFIED);

    // AND after an eviction the same ETag gets the new grid, without that n, once the
    // shared snapshot is due again
    api(&api_deps, "DELETE", "/primes/7").await;
    tokio::time::sleep(FRESH_FOR).await;
    let changed = http
        .get(format!("{base}/grid"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::OK);
    let grid: GridSnapshot = changed.json().await.unwrap();
    assert_eq!(grid.cells.len(), 39);
    assert!(!grid.cells.iter().any(|c| c.n == 7));
    // AND the nodes count what they hold: the 39 cells and n = 20,000, the eviction taken off
    let items: u64 = grid.figures.iter().flatten().map(|f| f.items).sum();
    assert_eq!(items, 40);

    // AND the page renders those 39 cells with their node, compressed when asked
    let page = http
        .get(&base)
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["content-encoding"], "gzip");
    // AND it carries its Content-Security-Policy
    let policy = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        policy.starts_with("default-src 'none'; script-src 'self'"),
        "{policy}"
    );
    let plain = http.get(&base).send().await.unwrap().text().await.unwrap();
    assert_eq!(plain.matches("role=\"gridcell\"").count(), 10_000);
    assert_eq!(plain.matches("data-node=").count(), 39);
    assert!(
        plain
            .replace("<!>", "")
            .contains(&format!("Not answering: {DOWN}."))
    );
}

#[tokio::test]
async fn unknown_paths_and_methods_get_json_errors() {
    // GIVEN the UI over one node
    let (base, _emulator) = ui_over_one_node().await;
    let http = reqwest::Client::new();
    // WHEN it is asked for things it does not serve, THEN each is a JSON 4xx
    for (method, path, status) in [
        ("GET", "/pkg/other.js", 404),
        ("GET", "/pkg/..%2Fsecret", 404),
        ("GET", "/nothing", 404),
        ("POST", "/grid", 405),
        ("DELETE", "/", 405),
    ] {
        let response = http
            .request(method.parse().unwrap(), format!("{base}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "{method} {path}");
        let body: Value = response.json().await.expect("a JSON error");
        assert!(body["message"].is_string(), "{method} {path}: {body}");
    }
}

#[tokio::test]
async fn the_pages_code_goes_as_its_brotli_copy_to_browsers_that_take_it() {
    // GIVEN the UI, with the page's code built by `make ui` (and its Brotli copies)
    let (base, _emulator) = ui_over_one_node().await;
    let http = reqwest::Client::new();
    let get = |file: &'static str, accept: &'static str| {
        http.get(format!("{base}/pkg/{file}"))
            .header("accept-encoding", accept)
            .send()
    };
    for file in ["primescaler_bg.wasm", "primescaler.js", "primescaler.css"] {
        // WHEN a browser that takes Brotli asks, and one that takes only gzip, and one
        // that takes neither
        let brotli = get(file, "gzip, deflate, br, zstd").await.unwrap();
        let gzip = get(file, "gzip, deflate").await.unwrap();
        let plain = get(file, "identity").await.unwrap();

        // THEN the first gets Brotli, which unpacks to the very file the last gets as it
        // is; the second gets gzip; each says it varies by encoding
        let encoding = |r: &reqwest::Response| {
            r.headers()
                .get("content-encoding")
                .map(|v| v.to_str().unwrap().to_string())
        };
        assert_eq!(encoding(&brotli).as_deref(), Some("br"), "{file}");
        assert_eq!(encoding(&gzip).as_deref(), Some("gzip"), "{file}");
        assert_eq!(encoding(&plain), None, "{file}");
        assert!(
            brotli.headers()["vary"]
                .to_str()
                .unwrap()
                .contains("accept-encoding")
        );
        let packed = brotli.bytes().await.unwrap();
        let plain = plain.bytes().await.unwrap();
        let mut unpacked = Vec::new();
        brotli_decompressor::BrotliDecompress(&mut &packed[..], &mut unpacked).unwrap();
        assert_eq!(unpacked, plain, "{file}");
        // AND it is the copy `make ui` compressed once, not one compressed per request
        let site = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/site/pkg");
        let built: Vec<Vec<u8>> = std::fs::read_dir(site)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| {
                let name = path.file_name().unwrap().to_string_lossy().to_string();
                name.starts_with(&format!("{file}.")) && name.ends_with(".br")
            })
            .map(|path| std::fs::read(path).unwrap())
            .collect();
        assert_eq!(built, vec![packed.to_vec()], "{file}");
    }
}

#[tokio::test]
async fn a_grid_poll_reads_the_grid_alone_and_only_where_it_changed() {
    // GIVEN two nodes holding n = 1..=30 of the grid and 200 records outside it
    let emulators = start_live_nodes().await;
    let live = named(&emulators);
    let table = fresh_cluster_table(&live).await;
    let cluster = cluster_config(&live, Strategy::ConsistentHash, LIVE[0]);
    let api_deps = api_over(&cluster, &table).await;
    for n in (1..=30u64).chain(20_001..=20_200) {
        api(&api_deps, "GET", &format!("/primes/{n}")).await;
    }
    let (base, deps) = serve_ui(&ui_config(cluster, table)).await;
    let http = reqwest::Client::new();

    // WHEN the grid is read the first time
    let first = grid(&http, &base).await;

    // THEN the stores read the 30 grid records and none of the 200 others
    assert_eq!(first.cells.len(), 30);
    assert_eq!(deps.grid.scanned_items(), 30);
    // AND the node panel's figures count every record, from the counters
    let items: u64 = first.figures.iter().map(|f| f.unwrap().items).sum();
    assert_eq!(items, 230);

    // WHEN nothing changes and the grid is read again
    tokio::time::sleep(FRESH_FOR).await;
    http.get(format!("{base}/grid")).send().await.unwrap();
    // THEN that read scanned nothing: it read each node's grid version only
    assert_eq!(deps.grid.reads(), 2);
    assert_eq!(deps.grid.scanned_items(), 30);

    // WHEN a record outside the grid is added, THEN the grid is not scanned for it
    api(&api_deps, "GET", "/primes/30001").await;
    tokio::time::sleep(FRESH_FOR).await;
    http.get(format!("{base}/grid")).send().await.unwrap();
    assert_eq!(deps.grid.scanned_items(), 30);

    // WHEN one grid record is added, THEN only its node's grid is scanned again
    let answer = api(&api_deps, "GET", "/primes/31").await;
    tokio::time::sleep(FRESH_FOR).await;
    let after = grid(&http, &base).await;
    assert_eq!(after.cells.len(), 31);
    let holder = after
        .nodes
        .iter()
        .position(|n| *n == answer["node"])
        .unwrap();
    let on_holder = first.cells.iter().filter(|c| c.node == holder).count() as u64;
    assert_eq!(deps.grid.scanned_items(), 30 + on_holder + 1);
}

#[tokio::test]
async fn viewers_waiting_on_a_slow_read_share_it_instead_of_reading_in_turn() {
    // GIVEN the UI over two nodes, each grid read taking 800 ms (longer than a snapshot
    // stays fresh)
    let emulators = start_live_nodes().await;
    let live = named(&emulators);
    let table = fresh_cluster_table(&live).await;
    let cluster = cluster_config(&live, Strategy::ConsistentHash, LIVE[0]);
    let (base, deps) = serve_ui(&UiConfig {
        read_delay: Duration::from_millis(800),
        ..ui_config(cluster, table)
    })
    .await;
    let http = reqwest::Client::new();
    // WHEN 20 viewers poll at once
    let started = std::time::Instant::now();
    let polls = futures::future::join_all((0..20).map(|_| {
        let http = http.clone();
        let url = format!("{base}/grid");
        async move { http.get(url).send().await.unwrap().status() }
    }))
    .await;
    // THEN all are answered by the one read, in about its time, not one read each in turn
    assert!(polls.iter().all(|s| *s == StatusCode::OK));
    assert_eq!(deps.grid.reads(), 1);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn many_viewers_polling_at_once_share_one_read() {
    // GIVEN the UI over two nodes with a few cells
    let emulators = start_live_nodes().await;
    let live = named(&emulators);
    let table = fresh_cluster_table(&live).await;
    let cluster = cluster_config(&live, Strategy::ConsistentHash, LIVE[0]);
    let api_deps = api_over(&cluster, &table).await;
    for n in 1..=10u64 {
        api(&api_deps, "GET", &format!("/primes/{n}")).await;
    }
    let (base, deps) = serve_ui(&ui_config(cluster, table)).await;
    let http = reqwest::Client::new();

    // WHEN 100 viewers poll at the same moment
    let polls = futures::future::join_all((0..100).map(|_| {
        let http = http.clone();
        let url = format!("{base}/grid");
        async move { http.get(url).send().await.unwrap() }
    }))
    .await;

    // THEN every one is answered with the same grid, and the nodes were read once
    let mut tags = std::collections::HashSet::new();
    for poll in &polls {
        assert_eq!(poll.status(), StatusCode::OK);
        assert_eq!(poll.headers()["cache-control"], "public, max-age=1");
        tags.insert(poll.headers()["etag"].clone());
    }
    assert_eq!(tags.len(), 1);
    assert_eq!(deps.grid.reads(), 1);
}
