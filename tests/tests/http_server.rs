//! The API's one axum `Router`, served two ways against a real DynamoDB emulator: as a
//! plain HTTP server on loopback (the API binary without the Lambda runtime API), and
//! fed a recorded Lambda event (what `lambda_http::run` hands it).

use std::sync::Arc;

use lambda_http::http::StatusCode;
use primescaler_api::{BODY_LIMIT, LiveDeps, router};
use primescaler_core::ScanRecords;
use primescaler_serve::{LocalPort, listen};
use primescaler_tests::events::EventShape;
use primescaler_tests::{Emulator, free_port};
use serde_json::Value;
use tower::ServiceExt;

const REGION: &str = "us-east-1";
const MAX_N: u64 = 10_000;

/// Serves the API over `deps` on a free loopback port, as the binary does outside
/// Lambda (`serve` without the runtime API is `listen`); answers its base URL.
async fn serve_locally(deps: Arc<LiveDeps>) -> String {
    let port = free_port();
    let local = LocalPort {
        variable: "PRIMESCALER_TEST_UNSET_PORT",
        default: port,
    };
    tokio::spawn(listen(router(deps), local, "the API under test"));
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if client.get(format!("{base}/health")).send().await.is_ok() {
            return base;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the API never listened on {base}");
}

async fn send(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.expect("the API answers");
    let status = StatusCode::from_u16(response.status().as_u16()).expect("a status");
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "every answer is JSON"
    );
    let body = response.bytes().await.expect("a body");
    (
        status,
        serde_json::from_slice(&body).expect("the body is JSON"),
    )
}

async fn stored_ns(deps: &LiveDeps) -> Vec<u64> {
    let page = deps.service.nodes()[0]
        .store
        .scan_records(None, 10_000)
        .await
        .expect("scan the table");
    let mut ns: Vec<u64> = page.records.iter().map(|r| r.key.n).collect();
    ns.sort_unstable();
    ns
}

#[tokio::test]
async fn plain_http_computes_hits_and_pages_the_cache() {
    // GIVEN the API served over plain HTTP on an empty table
    let emulator = Emulator::start().await;
    let deps = Arc::new(emulator.api_deps(REGION, MAX_N).await);
    let base = serve_locally(Arc::clone(&deps)).await;
    let http = reqwest::Client::new();

    // WHEN n = 100 is asked for twice, and n = 7 once
    let (first_status, first) = send(http.get(format!("{base}/primes/100"))).await;
    let (_, second) = send(http.get(format!("{base}/primes/100"))).await;
    let (_, seven) = send(http.get(format!("{base}/primes/7"))).await;

    // THEN the first computes 541, the second reads it back, and 17 is stored too
    assert_eq!(first_status, StatusCode::OK, "{first}");
    assert_eq!(first["prime"], 541);
    assert_eq!(first["source"], "computed");
    assert_eq!(second["source"], "cache");
    assert_eq!(second["prime"], 541);
    assert_eq!(seven["prime"], 17);

    // WHEN the cache is read one item per page, following the cursor in the URI (a page
    // may hold no record when its one item was the node's counters)
    let (status, page) = send(http.get(format!("{base}/cache?limit=1"))).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page["count"].as_u64().unwrap() <= 1,
        "the query's limit is read: {page}"
    );
    let mut ns: Vec<u64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["n"].as_u64().unwrap())
        .collect();
    let mut next = page["next"].as_str().map(str::to_string);
    let mut pages = 1;
    while let Some(cursor) = next.take() {
        let (status, rest) = send(http.get(format!("{base}/cache?limit=1&cursor={cursor}"))).await;
        assert_eq!(status, StatusCode::OK, "{rest}");
        assert!(rest["count"].as_u64().unwrap() <= 1, "{rest}");
        ns.extend(
            rest["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["n"].as_u64().unwrap()),
        );
        next = rest["next"].as_str().map(str::to_string);
        pages += 1;
        assert!(pages <= 10, "the pages end");
    }

    // THEN the pages hold both records, one page each at most
    assert!(pages >= 2, "the cursor led on");
    ns.sort_unstable();
    assert_eq!(ns, [7, 100]);
}

#[tokio::test]
async fn plain_http_refuses_bad_requests_and_changes_nothing() {
    // GIVEN the API served over plain HTTP, with n = 7 stored
    let emulator = Emulator::start().await;
    let deps = Arc::new(emulator.api_deps(REGION, MAX_N).await);
    let base = serve_locally(Arc::clone(&deps)).await;
    let http = reqwest::Client::new();
    assert_eq!(
        send(http.get(format!("{base}/primes/7"))).await.0,
        StatusCode::OK
    );
    let before = stored_ns(&deps).await;

    let oversize = "x".repeat(BODY_LIMIT * 16);
    let cases = [
        (
            http.get(format!("{base}/primes/5")).body("{}"),
            StatusCode::BAD_REQUEST,
            "unexpected_body",
        ),
        (
            http.get(format!("{base}/primes/5")).body(oversize),
            StatusCode::BAD_REQUEST,
            "unexpected_body",
        ),
        (
            http.get(format!("{base}/cache?limit=1&limit=2")),
            StatusCode::BAD_REQUEST,
            "repeated_parameter",
        ),
        (
            http.get(format!("{base}/cache?limit=0")),
            StatusCode::BAD_REQUEST,
            "invalid_limit",
        ),
        (
            http.get(format!("{base}/cache?cursor=garbage")),
            StatusCode::BAD_REQUEST,
            "invalid_cursor",
        ),
        (
            http.get(format!("{base}/primes/%E2%91%A0")),
            StatusCode::BAD_REQUEST,
            "invalid_n",
        ),
        (
            http.get(format!("{base}/primes/10001")),
            StatusCode::BAD_REQUEST,
            "n_out_of_range",
        ),
        (
            http.post(format!("{base}/primes/5")),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            http.get(format!("{base}/nope")),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ];
    for (request, want_status, want_code) in cases {
        // WHEN each bad request arrives
        let (status, body) = send(request).await;

        // THEN it gets its 4xx JSON answer
        assert_eq!(
            (status, body["error"].as_str()),
            (want_status, Some(want_code)),
            "{body}"
        );
    }

    // AND the table is unchanged
    assert_eq!(stored_ns(&deps).await, before);
}

#[tokio::test]
async fn a_lambda_event_through_the_router_keeps_its_parsed_query() {
    // GIVEN the router over a table holding n = 1, 2 and 3
    let emulator = Emulator::start().await;
    let deps = Arc::new(emulator.api_deps(REGION, MAX_N).await);
    for n in 1..=3 {
        let event = EventShape::ApiGateway.request("GET", &format!("/primes/{n}"), None);
        let response = router(Arc::clone(&deps))
            .oneshot(event)
            .await
            .expect("an answer");
        assert_eq!(response.status(), StatusCode::OK);
    }

    for shape in EventShape::ALL {
        // WHEN a cache page of 2 arrives as a Lambda event of this shape
        let event = shape.request("GET", "/cache?limit=2", None);
        let response = router(Arc::clone(&deps))
            .oneshot(event)
            .await
            .expect("an answer");

        // THEN the limit from the event is applied
        assert_eq!(response.status(), StatusCode::OK, "{shape:?}");
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let page: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(page["count"], 2, "{shape:?}: {page}");
        assert!(page["next"].is_string(), "{shape:?}: {page}");
    }
}
