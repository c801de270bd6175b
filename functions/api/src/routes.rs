//! Routing on the method and raw path, and parsing of query values.

use lambda_http::http::{Method, StatusCode};
use primescaler_cluster::ClusterCursor;
use primescaler_cluster::what_if::check_node_names;
use primescaler_core::{RecordKey, parse_index};

use crate::error::ApiError;

/// The most records one `GET /cache` page may hold.
pub const MAX_PAGE_LIMIT: u32 = 10_000;
/// The page size of `GET /cache` when no `limit` is given, and the most an anonymous
/// caller may ask for (about 55 KB): a larger page needs the reset token, so that no
/// anonymous call costs a full grid's 550 KB.
pub const DEFAULT_PAGE_LIMIT: u32 = 1_000;

/// A request the API understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /primes/{n}`: the nth prime, cached or computed.
    GetPrime(u64),
    /// `DELETE /primes/{n}`: evict n.
    EvictPrime(u64),
    /// `GET /cache`: one page of the cache.
    ScanCache,
    /// `DELETE /cache`: clear the cache.
    ClearCache,
    /// `GET /stats`: cluster-wide counts, per node and in total.
    Stats,
    /// `GET /nodes`: the nodes, their health and counts.
    Nodes,
    /// `GET /health`: liveness.
    Health,
    /// `GET /placement?nodes=a,b,c`: what the grid would look like on those nodes.
    Placement,
    /// `GET /membership`: the nodes of the ring, and the move under way if any.
    Membership,
    /// `PUT /membership` with `{"nodes": [...]}`: start a move to those nodes.
    ChangeMembership,
}

impl Route {
    /// Matches `method` and `path`; a wrong path is a 404, a wrong method a 405, and a
    /// bad n a 400.
    pub fn parse(method: &Method, path: &str, max_n: u64) -> Result<Self, ApiError> {
        let segments: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
        match segments.as_slice() {
            ["primes"] | ["primes", ""] => {
                allow(method, "GET, DELETE", &[Method::GET, Method::DELETE])?;
                Err(parse_index("", max_n).unwrap_err().into())
            }
            ["primes", raw] => {
                allow(method, "GET, DELETE", &[Method::GET, Method::DELETE])?;
                let n = parse_index(raw, max_n)?;
                Ok(if method == Method::GET {
                    Self::GetPrime(n)
                } else {
                    Self::EvictPrime(n)
                })
            }
            ["cache"] => {
                allow(method, "GET, DELETE", &[Method::GET, Method::DELETE])?;
                Ok(if method == Method::GET {
                    Self::ScanCache
                } else {
                    Self::ClearCache
                })
            }
            ["stats"] => allow(method, "GET", &[Method::GET]).map(|()| Self::Stats),
            ["nodes"] => allow(method, "GET", &[Method::GET]).map(|()| Self::Nodes),
            ["health"] => allow(method, "GET", &[Method::GET]).map(|()| Self::Health),
            ["placement"] => allow(method, "GET", &[Method::GET]).map(|()| Self::Placement),
            ["membership"] => {
                allow(method, "GET, PUT", &[Method::GET, Method::PUT])?;
                Ok(if method == Method::GET {
                    Self::Membership
                } else {
                    Self::ChangeMembership
                })
            }
            _ => Err(ApiError::not_found(path)),
        }
    }
}

fn allow(method: &Method, names: &'static str, allowed: &[Method]) -> Result<(), ApiError> {
    if allowed.contains(method) {
        Ok(())
    } else {
        Err(ApiError::method_not_allowed(method.as_str(), names))
    }
}

/// Reads the `limit` of a cache page: `1..=MAX_PAGE_LIMIT`, default [`DEFAULT_PAGE_LIMIT`].
pub fn parse_limit(raw: Option<&str>) -> Result<u32, ApiError> {
    let Some(raw) = raw else {
        return Ok(DEFAULT_PAGE_LIMIT);
    };
    raw.parse::<u32>()
        .ok()
        .filter(|l| (1..=MAX_PAGE_LIMIT).contains(l) && raw.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_limit",
                format!("limit must be a whole number from 1 to {MAX_PAGE_LIMIT}"),
            )
        })
}

/// Reads the `nodes` of `GET /placement`: 1 to [`MAX_WHAT_IF_NODES`](primescaler_cluster::what_if::MAX_WHAT_IF_NODES) distinct region
/// names, comma-separated ([`check_node_names`], the rule the page's control uses too).
pub fn parse_node_names(raw: Option<&str>) -> Result<Vec<String>, ApiError> {
    let invalid = |why: String| ApiError::new(StatusCode::BAD_REQUEST, "invalid_nodes", why);
    let raw = raw.ok_or_else(|| invalid("nodes is required: ?nodes=us-east-1,eu-west-1".into()))?;
    let names: Vec<String> = raw.split(',').map(|name| name.trim().to_string()).collect();
    check_node_names(&names).map_err(|why| invalid(why.to_string()))?;
    Ok(names)
}

/// Formats a scan position as the opaque `next` cursor: `{node}` for the start of a
/// node, or `{node}.{shard}-{n}` for the key after which its next page starts.
pub fn format_cursor(cursor: ClusterCursor) -> String {
    match cursor.after {
        None => cursor.node.to_string(),
        Some(key) => format!("{}.{}-{}", cursor.node, key.shard, key.n),
    }
}

/// Reads a cursor made by [`format_cursor`] for a cluster of `nodes` nodes. It must
/// name a real node and a key a table can hold: a record's (its shard is n's shard), or
/// the counters' or a hint's, where a page can stop too.
pub fn parse_cursor(raw: &str, nodes: usize) -> Result<ClusterCursor, ApiError> {
    let invalid = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_cursor",
            "cursor must be the `next` value of a previous GET /cache page",
        )
    };
    let digits = |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
    let (node, key) = match raw.split_once('.') {
        Some((node, key)) => (node, Some(key)),
        None => (raw, None),
    };
    if !digits(node) {
        return Err(invalid());
    }
    let node: usize = node.parse().map_err(|_| invalid())?;
    if node >= nodes {
        return Err(invalid());
    }
    let after = match key {
        None => None,
        Some(key) => {
            let (shard, n) = key.split_once('-').ok_or_else(invalid)?;
            if !digits(shard) || !digits(n) {
                return Err(invalid());
            }
            let shard: u32 = shard.parse().map_err(|_| invalid())?;
            let n: u64 = n.parse().map_err(|_| invalid())?;
            let key = RecordKey { shard, n };
            if !key.is_stored_key() {
                return Err(invalid());
            }
            Some(key)
        }
    };
    Ok(ClusterCursor { node, after })
}

#[cfg(test)]
mod tests {
    use super::*;
    use primescaler_core::SHARD_COUNT;
    use proptest::prelude::*;

    const MAX: u64 = 10_000;

    fn status(method: Method, path: &str) -> StatusCode {
        Route::parse(&method, path, MAX).unwrap_err().status
    }

    #[test]
    fn each_route_matches() {
        let cases = [
            (Method::GET, "/primes/100", Route::GetPrime(100)),
            (Method::DELETE, "/primes/7", Route::EvictPrime(7)),
            (Method::GET, "/cache", Route::ScanCache),
            (Method::DELETE, "/cache", Route::ClearCache),
            (Method::GET, "/stats", Route::Stats),
            (Method::GET, "/health", Route::Health),
            (Method::GET, "/nodes", Route::Nodes),
            (Method::GET, "/placement", Route::Placement),
            (Method::GET, "/membership", Route::Membership),
            (Method::PUT, "/membership", Route::ChangeMembership),
        ];
        for (method, path, route) in cases {
            assert_eq!(
                Route::parse(&method, path, MAX),
                Ok(route),
                "{method} {path}"
            );
        }
    }

    #[test]
    fn bad_requests_get_the_right_status() {
        assert_eq!(status(Method::GET, "/primes/0"), StatusCode::BAD_REQUEST);
        assert_eq!(status(Method::GET, "/primes/"), StatusCode::BAD_REQUEST);
        assert_eq!(status(Method::GET, "/primes"), StatusCode::BAD_REQUEST);
        assert_eq!(
            status(Method::GET, "/primes/10001"),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status(Method::GET, "/primes/1%2F2"),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status(Method::GET, "/primes/5/extra"),
            StatusCode::NOT_FOUND
        );
        assert_eq!(status(Method::GET, "/cache/"), StatusCode::NOT_FOUND);
        assert_eq!(status(Method::GET, "/"), StatusCode::NOT_FOUND);
        assert_eq!(
            status(Method::POST, "/primes/5"),
            StatusCode::METHOD_NOT_ALLOWED
        );
        assert_eq!(
            status(Method::PUT, "/cache"),
            StatusCode::METHOD_NOT_ALLOWED
        );
        assert_eq!(
            status(Method::DELETE, "/stats"),
            StatusCode::METHOD_NOT_ALLOWED
        );
    }

    #[test]
    fn a_wrong_method_is_reported_before_a_bad_n() {
        let error = Route::parse(&Method::POST, "/primes/abc", MAX).unwrap_err();
        assert_eq!(error.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(error.allow, Some("GET, DELETE"));
    }

    #[test]
    fn node_lists_are_region_names_each_once_and_at_most_32() {
        assert_eq!(
            parse_node_names(Some("us-east-1,eu-west-1, us-gov-west-1")),
            Ok(vec![
                "us-east-1".to_string(),
                "eu-west-1".to_string(),
                "us-gov-west-1".to_string()
            ])
        );
        let many = |k: usize| {
            (0..k)
                .map(|i| format!("us-east-{i}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        assert!(parse_node_names(Some(&many(32))).is_ok());
        for bad in [
            None,
            Some(""),
            Some("us-east-1,"),
            Some("us-east-1,us-east-1"),
            Some("US-EAST-1"),
            Some("useast1"),
            Some("us-east"),
            Some("us-east-100"),
            Some("us--east-1"),
            Some("us-east-1;drop"),
            Some("a-b-c-d-e-1"),
            Some(many(33).as_str()),
        ] {
            let error = parse_node_names(bad).unwrap_err();
            assert_eq!(error.status, StatusCode::BAD_REQUEST, "{bad:?}");
            assert_eq!(error.code, "invalid_nodes", "{bad:?}");
        }
    }

    #[test]
    fn limits_are_bounded() {
        assert_eq!(parse_limit(None), Ok(DEFAULT_PAGE_LIMIT));
        assert_eq!(parse_limit(Some("1")), Ok(1));
        assert_eq!(parse_limit(Some("10000")), Ok(MAX_PAGE_LIMIT));
        for bad in ["0", "10001", "-1", "+5", "1.5", "", "abc"] {
            assert!(parse_limit(Some(bad)).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn cursors_must_name_a_real_node_and_key() {
        let key = RecordKey::for_index(1234);
        for cursor in [
            ClusterCursor {
                node: 2,
                after: Some(key),
            },
            ClusterCursor {
                node: 1,
                after: None,
            },
            ClusterCursor {
                node: 0,
                after: Some(RecordKey::COUNTERS),
            },
            ClusterCursor {
                node: 1,
                after: Some(RecordKey::hint(1234)),
            },
        ] {
            assert_eq!(parse_cursor(&format_cursor(cursor), 3), Ok(cursor));
        }
        let wrong_shard = format!("0.{}-1234", (key.shard + 1) % SHARD_COUNT);
        for bad in [
            "",
            "-",
            "3",
            "x",
            "0.",
            "0.5",
            "0.a-b",
            "0.1-0",
            "0.99999-1",
            "0.65536-2",
            "0.65537-0",
            "0.1--2",
            "-1",
            &wrong_shard,
        ] {
            assert!(parse_cursor(bad, 3).is_err(), "{bad:?} was accepted");
        }
    }

    proptest! {
        #[test]
        fn any_path_gets_a_route_or_a_4xx(path in "/[ -~]{0,60}", post in any::<bool>()) {
            let method = if post { Method::POST } else { Method::GET };
            match Route::parse(&method, &path, MAX) {
                Ok(_) => {}
                Err(e) => prop_assert!(e.status.is_client_error()),
            }
        }

        #[test]
        fn cursors_round_trip(n in 1u64..u64::MAX, node in 0usize..8) {
            let cursor = ClusterCursor { node, after: Some(RecordKey::for_index(n)) };
            prop_assert_eq!(parse_cursor(&format_cursor(cursor), 8), Ok(cursor));
        }

        #[test]
        fn any_cursor_text_parses_or_is_a_400(raw in "\\PC{0,40}") {
            if let Err(e) = parse_cursor(&raw, 3) {
                prop_assert_eq!(e.status, StatusCode::BAD_REQUEST);
            }
        }
    }
}
