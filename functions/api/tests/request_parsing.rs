//! Request parsing and routing never panic, and every refusal is a 4xx: a seed corpus of
//! edge cases (`tests/corpus/requests.txt`), then bounded random inputs around it.

use lambda_http::http::Method;
use primescaler_api::{Route, parse_cursor, parse_limit};
use proptest::prelude::*;

const MAX_N: u64 = 1_000_000_000_000;
const NODES: usize = 3;

/// Parses one request as the handler does: the route, then the query values.
fn check(method: &str, target: &str) -> Result<(), TestCaseError> {
    let Ok(method) = Method::from_bytes(method.as_bytes()) else {
        return Ok(()); // not a method the HTTP layer would deliver
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if let Err(e) = Route::parse(&method, path, MAX_N) {
        prop_assert!(
            e.status.is_client_error(),
            "{method} {target}: {}",
            e.status
        );
        return Ok(());
    }
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let refused = match name {
            "limit" => parse_limit(Some(value)).err(),
            "cursor" => parse_cursor(value, NODES).err(),
            _ => None,
        };
        if let Some(e) = refused {
            prop_assert!(e.status.is_client_error(), "{target}: {}", e.status);
        }
    }
    Ok(())
}

#[test]
fn the_seed_corpus_routes_or_is_refused_with_a_4xx() {
    let corpus = include_str!("corpus/requests.txt");
    let mut cases = 0;
    for line in corpus
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let (method, target) = line.split_once(' ').expect("METHOD TARGET");
        check(method, target).unwrap();
        cases += 1;
    }
    assert!(cases >= 50, "the corpus has {cases} cases");
}

fn target() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        Just("primes".to_string()),
        Just("cache".to_string()),
        Just("stats".to_string()),
        Just("nodes".to_string()),
        Just("health".to_string()),
        "[0-9]{0,25}",
        "[0-9%a-fA-F+.\\-]{0,12}",
        "\\PC{0,8}",
    ];
    let query = prop_oneof![
        Just(String::new()),
        "(limit|cursor)=[0-9.\\-%]{0,24}",
        "(limit|cursor)=\\PC{0,12}(&(limit|cursor)=\\PC{0,12})?",
    ];
    (proptest::collection::vec(segment, 0..4), query).prop_map(|(segments, query)| {
        let path = format!("/{}", segments.join("/"));
        if query.is_empty() {
            path
        } else {
            format!("{path}?{query}")
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 20_000,
        max_shrink_time: 10_000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_requests_route_or_are_refused_with_a_4xx(
        method in prop_oneof![
            Just("GET".to_string()),
            Just("DELETE".to_string()),
            Just("POST".to_string()),
            "[A-Z]{1,8}",
        ],
        target in target(),
    ) {
        check(&method, &target)?;
    }
}
