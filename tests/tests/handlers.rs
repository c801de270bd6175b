//! The API function's handler, fed recorded API Gateway v2 events (including the
//! `sam local` and `cargo lambda watch` shapes), against a real DynamoDB emulator.

use std::sync::Arc;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use primescaler_api::{LiveDeps, handle};
use primescaler_core::{PrimeRecord, ScanRecords, shard_of};
use primescaler_tests::Emulator;
use primescaler_tests::events::EventShape;
use serde_json::Value;

const REGION: &str = "us-east-1";
const MAX_N: u64 = 10_000;

async fn call(deps: &LiveDeps, method: &str, target: &str) -> (StatusCode, Value) {
    call_with_body(deps, EventShape::ApiGateway, method, target, None).await
}

async fn call_with_body(
    deps: &LiveDeps,
    shape: EventShape,
    method: &str,
    target: &str,
    body: Option<&str>,
) -> (StatusCode, Value) {
    let response = handle(deps, shape.request(method, target, body))
        .await
        .expect("the handler always answers");
    decode(response)
}

fn decode(response: Response<Body>) -> (StatusCode, Value) {
    let status = response.status();
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "every answer is JSON"
    );
    let body = match response.body() {
        Body::Text(text) => text.clone(),
        other => panic!("expected a text body, got {other:?}"),
    };
    (
        status,
        serde_json::from_str(&body).expect("the body is JSON"),
    )
}

async fn stored(deps: &LiveDeps) -> Vec<PrimeRecord> {
    let mut records = deps.service.nodes()[0]
        .store
        .scan_records(None, 10_000)
        .await
        .expect("scan the table")
        .records;
    records.sort_by_key(|r| r.key.n);
    records
}

#[tokio::test]
async fn every_event_shape_computes_then_hits_the_cache() {
    let emulator = Emulator::start().await;
    for shape in EventShape::ALL {
        // GIVEN an empty table
        let deps = emulator.api_deps(REGION, MAX_N).await;

        // WHEN GET /primes/100 arrives twice in this shape
        let (first_status, first) = call_with_body(&deps, shape, "GET", "/primes/100", None).await;
        let (second_status, second) =
            call_with_body(&deps, shape, "GET", "/primes/100", None).await;

        // THEN the first computes 541 and the second reads it back
        assert_eq!(first_status, StatusCode::OK, "{shape:?}: {first}");
        assert_eq!(second_status, StatusCode::OK, "{shape:?}: {second}");
        assert_eq!(first["prime"], 541);
        assert_eq!(first["n"], 100);
        assert_eq!(first["source"], "computed");
        assert_eq!(second["source"], "cache");
        assert_eq!(
            (&first["stored"], &second["stored"]),
            (&true.into(), &true.into())
        );
        assert_eq!(second["prime"], 541);
        assert_eq!(first["node"], REGION);
        assert_eq!(first["shard"], shard_of(100));
        assert_eq!(first["calculator"], "primecount");
        assert!(first["compute_micros"].is_u64());
        assert_eq!(second["computed_at"], first["computed_at"]);
        assert!(first["computed_at"].as_str().unwrap().ends_with('Z'));
        assert_eq!(first["cold_start"], true);
        assert_eq!(second["cold_start"], false);
        assert_eq!(second["instance"], first["instance"]);
        assert_eq!(stored(&deps).await.len(), 1);
    }
}

#[tokio::test]
async fn the_largest_grid_n_is_served() {
    // GIVEN an empty table
    let emulator = Emulator::start().await;
    let deps = emulator.api_deps(REGION, MAX_N).await;

    // WHEN the 10,000th prime is asked for
    let (status, body) = call(&deps, "GET", "/primes/10000").await;

    // THEN it is 104,729
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["prime"], 104_729);
}

#[tokio::test]
async fn bad_requests_get_a_json_4xx_and_change_nothing() {
    // GIVEN a table holding n = 7
    let emulator = Emulator::start().await;
    let deps = emulator.api_deps(REGION, MAX_N).await;
    assert_eq!(call(&deps, "GET", "/primes/7").await.0, StatusCode::OK);
    let before = stored(&deps).await;

    let oversize_body = "x".repeat(1 << 20);
    let cases: &[(&str, &str, Option<&str>, StatusCode, &str)] = &[
        (
            "GET",
            "/primes/%D9%A3",
            None,
            StatusCode::BAD_REQUEST,
            "invalid_n",
        ),
        (
            "GET",
            "/primes/٣",
            None,
            StatusCode::BAD_REQUEST,
            "invalid_n",
        ),
        (
            "GET",
            "/primes/５",
            None,
            StatusCode::BAD_REQUEST,
            "invalid_n",
        ),
        (
            "GET",
            "/primes/+7",
            None,
            StatusCode::BAD_REQUEST,
            "invalid_n",
        ),
        (
            "GET",
            "/primes/%207",
            None,
            StatusCode::BAD_REQUEST,
            "invalid_n",
        ),
        (
            "GET",
            "/primes/0x7",
            None,
            StatusCode::BAD_REQUEST,
            "invalid_n",
        ),
        ("GET", "/PRIMES/7", None, StatusCode::NOT_FOUND, "not_found"),
        (
            "GET",
            "//primes/7",
            None,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "HEAD",
            "/primes/7",
            None,
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            "PATCH",
            "/primes/7",
            None,
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            "GET",
            "/cache?limit=99999999999999999999",
            None,
            StatusCode::BAD_REQUEST,
            "invalid_limit",
        ),
        (
            "GET",
            "/cache?cursor=0.1-2-3",
            None,
            StatusCode::BAD_REQUEST,
            "invalid_cursor",
        ),
        (
            "GET",
            "/cache?cursor=7",
            None,
            StatusCode::BAD_REQUEST,
            "invalid_cursor",
        ),
        (
            "GET",
            "/cache?cursor=0.%E2%80%AE",
            None,
            StatusCode::BAD_REQUEST,
            "invalid_cursor",
        ),
        (
            "GET",
            "/primes/7",
            Some("<n>7</n>"),
            StatusCode::BAD_REQUEST,
            "unexpected_body",
        ),
        (
            "GET",
            "/primes/7",
            Some(oversize_body.as_str()),
            StatusCode::BAD_REQUEST,
            "unexpected_body",
        ),
        (
            "GET",
            "/primes/0",
            None,
            StatusCode::BAD_REQUEST,
            "n_out_of_range",
        ),
        (
            "GET",
            "/primes/-1",
            None,
            StatusCode::BAD_REQUEST,
            "invalid_n",
        ),
        (
            "GET",
            "/primes/1.5",
            None,
            StatusCode::BAD_REQUEST,
            "invalid_n",
        ),
        (
            "GET",
            "/primes/abc",
            None,
            StatusCode::BAD_REQUEST,
            "invalid_n",
        ),
        (
            "GET",
            "/primes/1000000000000000000000000000000",
            None,
            StatusCode::BAD_REQUEST,
            "n_out_of_range",
        ),
        (
            "GET",
            "/primes/10001",
            None,
            StatusCode::BAD_REQUEST,
            "n_out_of_range",
        ),
        (
            "GET",
            "/primes/",
            None,
            StatusCode::BAD_REQUEST,
            "invalid_n",
        ),
        ("GET", "/primes", None, StatusCode::BAD_REQUEST, "invalid_n"),
        (
            "GET",
            "/primes/%37",
            None,
            StatusCode::BAD_REQUEST,
            "invalid_n",
        ),
        (
            "GET",
            "/primes/7%2F7",
            None,
            StatusCode::BAD_REQUEST,
            "invalid_n",
        ),
        (
            "DELETE",
            "/primes/7/extra",
            None,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "GET",
            "/primes/7/extra",
            None,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        ("GET", "/nowhere", None, StatusCode::NOT_FOUND, "not_found"),
        ("GET", "/", None, StatusCode::NOT_FOUND, "not_found"),
        (
            "POST",
            "/primes/7",
            None,
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            "PUT",
            "/cache",
            None,
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            "DELETE",
            "/stats",
            None,
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            "GET",
            "/cache?limit=0",
            None,
            StatusCode::BAD_REQUEST,
            "invalid_limit",
        ),
        (
            "GET",
            "/cache?limit=abc",
            None,
            StatusCode::BAD_REQUEST,
            "invalid_limit",
        ),
        (
            "GET",
            "/cache?limit=1&limit=2",
            None,
            StatusCode::BAD_REQUEST,
            "repeated_parameter",
        ),
        (
            "GET",
            "/cache?cursor=garbage",
            None,
            StatusCode::BAD_REQUEST,
            "invalid_cursor",
        ),
        (
            "DELETE",
            "/cache",
            Some("{}"),
            StatusCode::BAD_REQUEST,
            "unexpected_body",
        ),
        (
            "DELETE",
            "/primes/7",
            Some("x"),
            StatusCode::BAD_REQUEST,
            "unexpected_body",
        ),
    ];
    for &(method, target, body, status, code) in cases {
        // WHEN the bad request arrives
        let (got_status, got) =
            call_with_body(&deps, EventShape::ApiGateway, method, target, body).await;

        // THEN it is refused with a JSON error naming the problem
        assert_eq!(got_status, status, "{method} {target}: {got}");
        assert_eq!(got["error"], code, "{method} {target}: {got}");
        assert!(!got["message"].as_str().unwrap().is_empty());
    }

    // AND the table is exactly as it was
    assert_eq!(stored(&deps).await, before);
}

#[tokio::test]
async fn the_limit_is_named_when_n_is_too_large() {
    let emulator = Emulator::start().await;
    let deps = emulator.api_deps(REGION, 500).await;
    let (status, body) = call(&deps, "GET", "/primes/501").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap().contains("500"), "{body}");
}

#[tokio::test]
async fn evicting_removes_one_n_and_the_next_get_computes_it_again() {
    // GIVEN n = 5 and n = 6 cached
    let emulator = Emulator::start().await;
    let deps = emulator.api_deps(REGION, MAX_N).await;
    call(&deps, "GET", "/primes/5").await;
    call(&deps, "GET", "/primes/6").await;

    // WHEN n = 5 is evicted, twice
    let (status, first) = call(&deps, "DELETE", "/primes/5").await;
    let (_, second) = call(&deps, "DELETE", "/primes/5").await;

    // THEN only the first evicted something, n = 6 stays, and n = 5 is computed anew
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first["evicted"], true);
    assert_eq!(second["evicted"], false);
    let left: Vec<u64> = stored(&deps).await.iter().map(|r| r.key.n).collect();
    assert_eq!(left, vec![6]);
    let (_, again) = call(&deps, "GET", "/primes/5").await;
    assert_eq!(
        (again["prime"].as_u64(), again["source"].as_str()),
        (Some(11), Some("computed"))
    );
}

#[tokio::test]
async fn the_cache_pages_through_every_item_then_clears() {
    // GIVEN n = 1..=25 cached
    let emulator = Emulator::start().await;
    let deps = emulator.api_deps(REGION, MAX_N).await;
    for n in 1..=25 {
        assert_eq!(
            call(&deps, "GET", &format!("/primes/{n}")).await.0,
            StatusCode::OK
        );
    }

    // WHEN the cache is read 10 items a page
    let mut seen = Vec::new();
    let mut target = "/cache?limit=10".to_string();
    loop {
        let (status, page) = call(&deps, "GET", &target).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page["items"].as_array().unwrap().len() <= 10);
        for item in page["items"].as_array().unwrap() {
            assert_eq!(item["node"], REGION);
            seen.push((item["n"].as_u64().unwrap(), item["prime"].as_u64().unwrap()));
        }
        match page["next"].as_str() {
            Some(next) => target = format!("/cache?limit=10&cursor={next}"),
            None => break,
        }
    }

    // THEN every item is seen once, with its prime
    seen.sort();
    assert_eq!(seen.len(), 25);
    assert_eq!(seen[0], (1, 2));
    assert_eq!(seen[24], (25, 97));

    // WHEN the cache is cleared
    let (status, cleared) = call(&deps, "DELETE", "/cache").await;

    // THEN it says 25 were removed, and the scan is empty
    assert_eq!(status, StatusCode::OK);
    assert_eq!(cleared["removed"], 25);
    let (_, page) = call(&deps, "GET", "/cache").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 0);
    assert_eq!(page["next"], Value::Null);
}

#[tokio::test]
async fn stats_and_health_report_the_node() {
    // GIVEN three cached n
    let emulator = Emulator::start().await;
    let deps = emulator.api_deps(REGION, MAX_N).await;
    for n in [2, 3, 4] {
        call(&deps, "GET", &format!("/primes/{n}")).await;
    }

    // WHEN stats and health are read
    let (stats_status, stats) = call(&deps, "GET", "/stats").await;
    let (health_status, health) = call(&deps, "GET", "/health").await;

    // THEN they count the items on this node and say it is up
    assert_eq!(stats_status, StatusCode::OK);
    assert_eq!(stats["items"], 3);
    assert_eq!(stats["nodes"][0]["node"], REGION);
    assert_eq!(stats["nodes"][0]["items"], 3);
    assert_eq!(stats["nodes"][0]["up"], true);
    assert_eq!(stats["totals"]["requests"], 3);
    assert_eq!(stats["totals"]["misses"], 3);
    assert_eq!(stats["totals"]["hits"], 0);
    assert_eq!(
        stats["totals"]["cold_starts"], 1,
        "one instance started, once: {stats}"
    );
    assert_eq!(stats["nodes"][0]["cold_starts"], 1);
    assert_eq!(health_status, StatusCode::OK);
    assert_eq!(health["status"], "ok");
    assert_eq!(health["max_n"], MAX_N);
}

#[tokio::test]
async fn store_failures_still_answer_the_prime_without_internals() {
    // GIVEN one function whose table is missing, and one whose emulator has stopped
    let emulator = Emulator::start().await;
    let missing_table = {
        let config = primescaler_api::ApiConfig {
            cluster: primescaler_tests::cluster_config(
                &[(REGION, &emulator)],
                Default::default(),
                REGION,
            ),
            table: "no-such-table".into(),
            max_n: MAX_N,
            reset_token: None,
            reset_token_secret: None,
            guard: Default::default(),
            deadline: primescaler_cluster::service::DEFAULT_DEADLINE,
        };
        LiveDeps::connect(&config).await
    };
    let stopped = {
        let doomed = Emulator::start().await;
        let deps = doomed.api_deps(REGION, MAX_N).await;
        drop(doomed);
        deps
    };

    // WHEN each is asked for a prime
    let (missing_status, missing_body) = call(&missing_table, "GET", "/primes/9").await;
    let (stopped_status, stopped_body) = call(&stopped, "GET", "/primes/9").await;

    // THEN both answer p(9) = 23, not stored (a node without its table is down), and
    // neither leaks internals
    for (status, body) in [
        (missing_status, &missing_body),
        (stopped_status, &stopped_body),
    ] {
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["prime"], 23);
        assert_eq!(body["stored"], false);
        assert!(body["node"].is_null(), "{body}");
    }
    for body in [missing_body, stopped_body] {
        let text = body.to_string();
        for leak in [
            "ResourceNotFound",
            "no-such-table",
            "127.0.0.1",
            "Dispatch",
            "Error {",
        ] {
            assert!(!text.contains(leak), "{leak:?} leaked in {text}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_concurrent_requests_for_one_n_compute_once_and_store_one_item() {
    // GIVEN an empty table
    let emulator = Emulator::start().await;
    let deps = Arc::new(emulator.api_deps(REGION, MAX_N).await);

    // WHEN 64 requests for n = 777 arrive at once
    let requests: Vec<_> = (0..64)
        .map(|_| {
            let deps = Arc::clone(&deps);
            tokio::spawn(async move { call(&deps, "GET", "/primes/777").await })
        })
        .collect();
    let mut answers = Vec::new();
    for request in requests {
        answers.push(request.await.expect("the request task finished"));
    }

    // THEN all 64 answer 5,903 with the same stored record, computed once, and one item exists
    for (status, body) in &answers {
        assert_eq!(*status, StatusCode::OK, "{body}");
        assert_eq!(body["prime"], 5_903);
        assert_eq!(body["computed_at"], answers[0].1["computed_at"]);
    }
    let computed = answers
        .iter()
        .filter(|(_, b)| b["source"] == "computed")
        .count();
    assert_eq!(computed, 1, "exactly one request stored the record");
    let (_, stats) = call(&deps, "GET", "/stats").await;
    assert_eq!(
        stats["instance"]["computations"], 1,
        "one computation: {stats}"
    );
    let records = stored(&deps).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].prime, 5_903);
    // AND the node counts one record: the 63 that found it stored took their counts back
    assert_eq!(stats["items"], 1, "{stats}");
}

#[tokio::test]
async fn a_failing_primary_falls_back_and_is_counted() {
    use primescaler_calculator::{FaultInjection, FaultKind, GuardSettings};
    for kind in [FaultKind::Panic, FaultKind::Wrong] {
        // GIVEN a function whose primary calculator always fails this way
        let emulator = Emulator::start().await;
        let guard = GuardSettings {
            faults: FaultInjection { rate: 1.0, kind },
            ..GuardSettings::default()
        };
        let deps = emulator.api_deps_guarded(REGION, MAX_N, guard).await;

        // WHEN n = 1,000 is computed
        let (status, body) = call(&deps, "GET", "/primes/1000").await;

        // THEN the fallback answers the right prime, says why, and is counted
        assert_eq!(status, StatusCode::OK, "{kind:?}: {body}");
        assert_eq!(body["prime"], 7_919);
        assert_eq!(body["calculator"], "sieve");
        assert!(
            body["fallback_reason"]
                .as_str()
                .unwrap()
                .starts_with("primary ")
        );
        let (_, stats) = call(&deps, "GET", "/stats").await;
        assert_eq!(stats["instance"]["fallbacks"], 1, "{stats}");
        assert_eq!(stored(&deps).await[0].prime, 7_919);
    }
}

#[tokio::test]
async fn n_up_to_10_12_is_served_by_default() {
    // GIVEN the default configuration's limit
    let emulator = Emulator::start().await;
    let deps = emulator
        .api_deps(REGION, primescaler_api::DEFAULT_MAX_N)
        .await;

    // WHEN the largest n is asked for, and one above it
    let (status, body) = call(&deps, "GET", "/primes/1000000000000").await;
    let (above_status, above) = call(&deps, "GET", "/primes/1000000000001").await;

    // THEN the first is p(10^12) by the primary, and the second names the limit
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["prime"], 29_996_224_275_833u64);
    assert_eq!(body["calculator"], "primecount");
    assert_eq!(above_status, StatusCode::BAD_REQUEST);
    assert!(
        above["message"].as_str().unwrap().contains("1000000000000"),
        "{above}"
    );
}

/// A request as API Gateway sends it, with `auth` as its `Authorization` header.
fn with_auth(method: &str, target: &str, auth: Option<&str>) -> Request {
    let mut request = EventShape::ApiGateway.request(method, target, None);
    if let Some(auth) = auth {
        request
            .headers_mut()
            .insert("authorization", auth.parse().unwrap());
    }
    request
}

/// A function whose deletions need the token `s3cret-token`, its table holding n = 11.
async fn holding_eleven_behind_a_token(emulator: &Emulator) -> LiveDeps {
    let deps = emulator
        .api_deps(REGION, MAX_N)
        .await
        .with_reset_token(Some("s3cret-token".into()));
    call(&deps, "GET", "/primes/11").await;
    deps
}

#[tokio::test]
async fn deletions_need_the_reset_token() {
    // GIVEN a function whose deletions need a token, and a table holding n = 11
    let emulator = Emulator::start().await;
    let deps = holding_eleven_behind_a_token(&emulator).await;
    let before = stored(&deps).await;

    for target in ["/cache", "/primes/11"] {
        // WHEN a deletion comes without the token, or with a wrong one
        let missing = handle(&deps, with_auth("DELETE", target, None))
            .await
            .unwrap();
        let wrong = handle(&deps, with_auth("DELETE", target, Some("Bearer guess")))
            .await
            .unwrap();
        let basic = handle(
            &deps,
            with_auth("DELETE", target, Some("Basic czNjcmV0LXRva2Vu")),
        )
        .await
        .unwrap();

        // THEN it is refused with a JSON 401 or 403, and nothing is deleted
        assert_eq!(missing.headers()["www-authenticate"], "Bearer");
        let (missing_status, missing_body) = decode(missing);
        assert_eq!(missing_status, StatusCode::UNAUTHORIZED);
        assert_eq!(missing_body["error"], "unauthorized");
        assert_eq!(decode(basic).0, StatusCode::UNAUTHORIZED);
        let (wrong_status, wrong_body) = decode(wrong);
        assert_eq!(wrong_status, StatusCode::FORBIDDEN);
        assert_eq!(wrong_body["error"], "forbidden");
        assert_eq!(stored(&deps).await, before);
    }

    // WHEN the token is right THEN the deletion happens
    let (status, body) = decode(
        handle(
            &deps,
            with_auth("DELETE", "/primes/11", Some("Bearer s3cret-token")),
        )
        .await
        .unwrap(),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["evicted"], true);
    assert!(stored(&deps).await.is_empty());
}

#[tokio::test]
async fn an_anonymous_cache_page_holds_at_most_a_thousand_records() {
    // GIVEN a function with a reset token, holding n = 11
    let emulator = Emulator::start().await;
    let deps = holding_eleven_behind_a_token(&emulator).await;
    let page = |target: &str, auth: Option<&str>| {
        let request = with_auth("GET", target, auth);
        let deps = &deps;
        async move { decode(handle(deps, request).await.unwrap()) }
    };

    // WHEN pages of 1,000 and of 1,001 are asked for without the token, and with it
    let (small, small_body) = page("/cache?limit=1000", None).await;
    let (large, large_body) = page("/cache?limit=1001", None).await;
    let (granted, granted_body) = page("/cache?limit=10000", Some("Bearer s3cret-token")).await;

    // THEN only the larger anonymous page is refused, with a JSON 401
    assert_eq!(small, StatusCode::OK, "{small_body}");
    assert_eq!(small_body["count"], 1);
    assert_eq!(large, StatusCode::UNAUTHORIZED, "{large_body}");
    assert_eq!(large_body["error"], "unauthorized");
    assert_eq!(granted, StatusCode::OK, "{granted_body}");
    assert_eq!(granted_body["count"], 1);
}
