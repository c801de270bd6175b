//! Each function at work under the IAM policy template.yaml gives it, and nothing more
//! (the API function's reading of its reset token from Secrets Manager included):
//! moto checks every call against the calling user's policy, so a call the code makes
//! but the policy does not allow fails here as it would in AWS.
//!
//! One moto server holds the three regions (its IAM is global, as AWS's is), so that one
//! set of keys per function signs every node's calls. moto checks DynamoDB calls by
//! action against the resource "*": `tests/iam/users.py` keeps each statement's actions
//! and widens its resources (see there).

use std::sync::Arc;
use std::time::Duration;

use lambda_http::{Body, Response};
use primescaler_api::{ApiConfig, LiveDeps, handle, read_secret, upkeep};
use primescaler_cluster::{ClusterConfig, Ring, Strategy};
use primescaler_core::{SHARD_COUNT, shard_of};
use primescaler_tests::cluster::REGIONS;
use primescaler_tests::events::EventShape;
use primescaler_tests::iam::IamEmulator;
use primescaler_tests::{cluster_config, free_port};
use primescaler_ui::{LiveUiDeps, UiConfig};
use serde_json::{Value, json};

/// The reset token the test puts in Secrets Manager.
const TOKEN: &str = "policy-test-token";

/// Sends `method target`, with the reset token, to the API function; answers the status
/// and JSON body.
async fn call(deps: &LiveDeps, method: &str, target: &str) -> (u16, Value) {
    call_with(deps, method, target, None).await
}

/// [`call`], with `body`.
async fn call_with(
    deps: &LiveDeps,
    method: &str,
    target: &str,
    body: Option<&str>,
) -> (u16, Value) {
    let mut request = EventShape::ApiGateway.request(method, target, body);
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {TOKEN}").parse().expect("a header value"),
    );
    let response: Response<Body> = handle(deps, request)
        .await
        .expect("the handler always answers");
    let status = response.status().as_u16();
    let body = match response.body() {
        Body::Text(text) => serde_json::from_str(text).expect("JSON"),
        _ => Value::Null,
    };
    (status, body)
}

/// The three regions on one IAM-enforcing moto, signed as `user`.
fn cluster_as(moto: &IamEmulator, user: &str) -> ClusterConfig {
    let nodes: Vec<(&str, &primescaler_tests::Emulator)> =
        REGIONS.iter().map(|r| (*r, &moto.emulator)).collect();
    let mut cluster = cluster_config(&nodes, Strategy::ConsistentHash, REGIONS[0]);
    cluster.emulator_keys = Some(moto.keys(user).clone());
    // (The only instance that serves requests is the one that changes the membership.)
    cluster.move_settle = Duration::from_secs(1);
    cluster
}

async fn api(cluster: ClusterConfig, table: &str) -> LiveDeps {
    LiveDeps::connect(&ApiConfig {
        cluster,
        table: table.to_string(),
        max_n: 10_000,
        reset_token: Some(TOKEN.into()),
        reset_token_secret: None,
        guard: Default::default(),
        deadline: primescaler_cluster::service::DEFAULT_DEADLINE,
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_function_does_its_work_under_its_own_policy_alone() {
    // GIVEN moto enforcing IAM, with a user per function holding its template policy,
    // and each region's table created by an admin
    let moto = IamEmulator::start().await;
    let table = format!("primes-{:016x}", fastrand::u64(..));
    for region in REGIONS {
        primescaler_dynamo::create_table(&moto.client_as("admin", region).await, &table)
            .await
            .expect("create a table as admin");
    }
    // AND the reset token in Secrets Manager, put there by an admin
    let secret = moto
        .secrets_client_as("admin")
        .await
        .create_secret()
        .name("reset-token")
        .secret_string(TOKEN)
        .send()
        .await
        .expect("create the secret as admin");
    let arn = secret.arn().expect("the secret's ARN");

    // WHEN the API function reads its reset token at start-up
    let token = read_secret(&moto.secrets_client_as("ApiFunction").await, arn).await;

    // THEN its policy allows it
    assert_eq!(token.expect("the token").as_str(), TOKEN);
    let api_fn = api(cluster_as(&moto, "ApiFunction"), &table).await;

    // WHEN the API function computes, reads, lists, counts and evicts
    for n in 1..=30 {
        let (status, body) = call(&api_fn, "GET", &format!("/primes/{n}")).await;
        // THEN every call its code makes is allowed
        assert_eq!(status, 200, "n = {n}: {body}");
        assert_eq!(body["stored"], true, "n = {n}: {body}");
    }
    let (status, body) = call(&api_fn, "GET", "/primes/5").await;
    assert_eq!(
        (status, body["source"].as_str()),
        (200, Some("cache")),
        "{body}"
    );
    let (status, body) = call(&api_fn, "GET", "/cache?limit=100").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = call(&api_fn, "DELETE", "/primes/7").await;
    assert!(status < 300, "{status} {body}");
    let (status, stats) = call(&api_fn, "GET", "/stats").await;
    assert_eq!(status, 200, "{stats}");
    let items: u64 = stats["nodes"]
        .as_array()
        .expect("a node list")
        .iter()
        .map(|node| {
            node["items"]
                .as_u64()
                .expect("each node answered its count")
        })
        .sum();
    // AND the record counts written with each record add up
    assert_eq!(items, 29, "{stats}");

    // WHEN, with the first node unreachable, an instance stores n past it
    let mut cut_off = cluster_as(&moto, "ApiFunction");
    cut_off.nodes[0].endpoint = Some(format!("http://127.0.0.1:{}", free_port()));
    let cut_off = api(cut_off, &table).await;
    let ring = Ring::new(&REGIONS);
    let homed_on_first: Vec<u64> = (100..10_000)
        .filter(|&n| ring.home(shard_of(n)) == 0)
        .take(3)
        .collect();
    for &n in &homed_on_first {
        let (status, body) = call(&cut_off, "GET", &format!("/primes/{n}")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["failovers"], 1, "{body}");
    }

    // AND the upkeep function runs, under its own policy
    let upkeep_fn = api(cluster_as(&moto, "UpkeepFunction"), &table).await;
    let mut report = upkeep(&upkeep_fn, json!({ "task": "upkeep" })).await;

    // THEN it lists the hints and hands each back, its repair walks each node, and its
    // sweep reads each node
    let repaired = report.as_object_mut().unwrap().remove("repaired").unwrap();
    assert!(
        REGIONS
            .iter()
            .all(|node| repaired[node]["read"].as_u64() >= Some(2)),
        "{repaired}"
    );
    let swept = report.as_object_mut().unwrap().remove("swept").unwrap();
    assert!(
        swept
            .as_object()
            .unwrap()
            .values()
            .all(|s| s["done"] == true),
        "{swept}"
    );
    assert_eq!(
        report,
        json!({"moved": null, "handed_off": 3, "doubles_removed": 0, "pointers_moved": 0,
               "kept": 0, "unreachable_nodes": 0, "failed_nodes": 0, "cut_short": false})
    );

    // WHEN the API function asks for the last node to leave the ring, under its policy
    let leave = json!({ "nodes": &REGIONS[..2] }).to_string();
    let (status, body) = call_with(&api_fn, "PUT", "/membership", Some(&leave)).await;
    assert_eq!(status, 200, "{body}");
    // AND the upkeep moves its records, under its own policy
    tokio::time::sleep(Duration::from_secs(1)).await;
    let moved = upkeep(&upkeep_fn, json!({})).await["moved"].clone();

    // THEN the move ends in one run, and the node that left holds nothing
    assert_eq!(moved["next_shard"], SHARD_COUNT, "{moved}");
    let (_, nodes) = call(&api_fn, "GET", "/stats").await;
    assert_eq!(nodes["nodes"][2]["items"], 0, "{nodes}");

    // WHEN the UI function reads the grid, under its own policy
    let ui = Arc::new(
        LiveUiDeps::connect(&UiConfig {
            cluster: cluster_as(&moto, "UiFunction"),
            table: table.clone(),
            max_n: 10_000,
            scan_budget: Duration::from_secs(5),
            scan_segments: 1,
            first_paint_wait: Duration::from_secs(5),
            read_delay: Duration::ZERO,
        })
        .await,
    );
    let snapshot = ui.grid.current().await;

    // THEN every node answers, and the grid holds every record in it
    assert!(
        snapshot.down.is_empty(),
        "nodes read as down: {:?}",
        snapshot.down
    );
    assert_eq!(snapshot.cells.len(), 29 + homed_on_first.len());

    // WHEN the API function clears the cache
    let (status, body) = call(&api_fn, "DELETE", "/cache").await;

    // THEN every node is cleared
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["unreachable"], json!([]), "{body}");
    assert_eq!(body["removed"], 29 + homed_on_first.len(), "{body}");
}
