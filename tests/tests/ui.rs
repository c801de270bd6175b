//! The UI function over HTTP, against real nodes: two regions on the emulator and a
//! third node that is down. The grid it serves is what the API stored, node by node.

use std::sync::Arc;
use std::time::Duration;

use lambda_http::Body;
use primescaler_api::{ApiConfig, LiveDeps, handle};
use primescaler_cluster::Strategy;
use primescaler_tests::events::EventShape;
use primescaler_tests::{Emulator, cluster_config, free_port, fresh_cluster_table};
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

/// Serves the UI router on a loopback port; answers its base URL.
async fn serve_ui(config: &UiConfig) -> String {
    let deps = LiveUiDeps::connect(config).await;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("bind a loopback port");
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router(Arc::new(deps))).await });
    base
}

#[tokio::test]
async fn the_grid_shows_what_each_node_holds_and_names_the_node_that_is_down() {
    // GIVEN three nodes, one of them down, and n = 1..=40 computed through the API
    let emulator = Emulator::start().await;
    let dead = format!("http://127.0.0.1:{}", free_port());
    let live: Vec<(&str, &Emulator)> = LIVE.iter().map(|r| (*r, &emulator)).collect();
    let table = fresh_cluster_table(&live).await;
    let mut cluster = cluster_config(&live, Strategy::ConsistentHash, LIVE[0]);
    cluster.nodes.push(primescaler_cluster::NodeConfig {
        name: DOWN.into(),
        endpoint: Some(dead),
    });
    let api_deps = LiveDeps::connect(&ApiConfig {
        cluster: cluster.clone(),
        table: table.clone(),
        max_n: 1_000_000,
        reset_token: None,
        guard: Default::default(),
    })
    .await;
    let mut expected = Vec::new();
    for n in 1..=40u64 {
        let answer = api(&api_deps, "GET", &format!("/primes/{n}")).await;
        expected.push((n, answer["prime"].as_u64().unwrap(), answer["node"].clone()));
    }
    api(&api_deps, "GET", "/primes/20000").await;
    let base = serve_ui(&UiConfig {
        cluster,
        table,
        max_n: 1_000_000,
        scan_budget: Duration::from_secs(2),
        scan_segments: 4,
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

    // AND after an eviction the same ETag gets the new grid, without that n
    api(&api_deps, "DELETE", "/primes/7").await;
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

    // AND the page renders those 39 cells with their node, compressed when asked
    let page = http
        .get(&base)
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["content-encoding"], "gzip");
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
    let emulator = Emulator::start().await;
    let live = [(LIVE[0], &emulator)];
    let table = fresh_cluster_table(&live).await;
    let base = serve_ui(&UiConfig {
        cluster: cluster_config(&live, Strategy::ConsistentHash, LIVE[0]),
        table,
        max_n: 100,
        scan_budget: Duration::from_secs(2),
        scan_segments: 1,
    })
    .await;
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
