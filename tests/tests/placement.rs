//! `GET /placement?nodes=…`: the grid as it would be on another set of nodes, without
//! changing the cluster, through the API's handler and against the placement that the
//! functions store by.

use lambda_http::http::StatusCode;
use primescaler_cluster::Strategy;
use primescaler_core::shard_of;
use primescaler_tests::cluster::{REGIONS, deps_for, get, named, three_emulators};
use serde_json::json;

/// The cells of a `/placement` answer, as node indexes.
fn cells(body: &serde_json::Value) -> Vec<u64> {
    body["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .map(|c| c.as_u64().expect("a node index"))
        .collect()
}

#[tokio::test]
async fn the_current_nodes_give_the_functions_placement_and_move_nothing() {
    // GIVEN an instance over three nodes
    let emulators = three_emulators().await;
    let deps = deps_for(&named(&emulators), "placement", Strategy::ConsistentHash).await;

    // WHEN the placement of its own nodes is asked for
    let (status, body) = get(&deps, "/placement?nodes=us-east-1,eu-west-1,ap-southeast-2").await;

    // THEN every grid n's home is the one the service places it on, and nothing moves
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["nodes"], json!(REGIONS));
    assert_eq!(body["current"], json!(REGIONS));
    let cells = cells(&body);
    assert_eq!(cells.len(), 10_000);
    let layout = deps.service.layout();
    let ring = layout.ring();
    for n in 1..=10_000u64 {
        assert_eq!(
            cells[(n - 1) as usize],
            ring.home(shard_of(n)) as u64,
            "n = {n}"
        );
    }
    assert_eq!(
        (body["moved"].as_u64(), body["moved_mod_n"].as_u64()),
        (Some(0), Some(0))
    );
}

#[tokio::test]
async fn a_node_added_takes_about_its_share_and_a_node_removed_gives_up_only_its_cells() {
    // GIVEN an instance over three nodes, and its grid as placed now
    let emulators = three_emulators().await;
    let deps = deps_for(&named(&emulators), "placement", Strategy::ConsistentHash).await;
    let (_, now) = get(&deps, "/placement?nodes=us-east-1,eu-west-1,ap-southeast-2").await;
    let now = cells(&now);

    // WHEN a fourth node is added
    let (status, added) = get(
        &deps,
        "/placement?nodes=us-east-1,eu-west-1,ap-southeast-2,us-west-2",
    )
    .await;
    // THEN only cells that go to it move, about 10,000 / 4 of them, while mod N would move
    // most of the grid
    assert_eq!(status, StatusCode::OK, "{added}");
    let moved = added["moved"].as_u64().unwrap();
    let onto_new = cells(&added).iter().filter(|&&c| c == 3).count() as u64;
    assert_eq!(moved, onto_new);
    assert!((2_000..=3_000).contains(&moved), "moved {moved}");
    assert!(
        added["moved_mod_n"].as_u64().unwrap() > 7_000,
        "{}",
        added["moved_mod_n"]
    );

    // WHEN eu-west-1 is removed
    let (status, removed) = get(&deps, "/placement?nodes=us-east-1,ap-southeast-2").await;
    // THEN exactly its cells move, each to a node that was already there
    assert_eq!(status, StatusCode::OK, "{removed}");
    let its_cells = now.iter().filter(|&&c| c == 1).count() as u64;
    assert_eq!(removed["moved"].as_u64(), Some(its_cells));
    for (i, &cell) in cells(&removed).iter().enumerate() {
        if now[i] != 1 {
            let before = REGIONS[now[i] as usize];
            assert_eq!(["us-east-1", "ap-southeast-2"][cell as usize], before);
        }
    }
}

#[tokio::test]
async fn a_bad_node_list_is_a_400_with_a_json_error() {
    let emulators = three_emulators().await;
    let deps = deps_for(&named(&emulators), "placement", Strategy::ConsistentHash).await;
    let too_many = (0..33)
        .map(|i| format!("us-east-{i}"))
        .collect::<Vec<_>>()
        .join(",");
    for target in [
        "/placement".to_string(),
        "/placement?nodes=".to_string(),
        "/placement?nodes=us-east-1,us-east-1".to_string(),
        "/placement?nodes=us-east-1,not%20a%20region".to_string(),
        "/placement?nodes=US-EAST-1".to_string(),
        format!("/placement?nodes={too_many}"),
    ] {
        let (status, body) = get(&deps, &target).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{target}: {body}");
        assert_eq!(body["error"], "invalid_nodes", "{target}");
    }
    let (status, body) = get(&deps, "/placement?nodes=us-east-1&nodes=eu-west-1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "repeated_parameter");
}
