//! Routing on the method and raw path, and parsing of query values.

use lambda_http::http::{Method, StatusCode};
use primescaler_core::{RecordKey, SHARD_COUNT, ScanCursor, parse_index, shard_of};

use crate::error::ApiError;

/// The most records one `GET /cache` page may hold.
pub const MAX_PAGE_LIMIT: u32 = 10_000;
/// The page size of `GET /cache` when no `limit` is given.
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
    /// `GET /stats`: counts per node.
    Stats,
    /// `GET /health`: liveness.
    Health,
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
            ["health"] => allow(method, "GET", &[Method::GET]).map(|()| Self::Health),
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

/// Formats a scan position as the opaque `next` cursor: `{shard}-{n}`.
pub fn format_cursor(cursor: ScanCursor) -> String {
    format!("{}-{}", cursor.shard, cursor.n)
}

/// Reads a cursor made by [`format_cursor`]. It must name a real key: the shard must
/// be n's shard.
pub fn parse_cursor(raw: &str) -> Result<ScanCursor, ApiError> {
    let invalid = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_cursor",
            "cursor must be the `next` value of a previous GET /cache page",
        )
    };
    let (shard, n) = raw.split_once('-').ok_or_else(invalid)?;
    let digits = |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(shard) || !digits(n) {
        return Err(invalid());
    }
    let shard: u32 = shard.parse().map_err(|_| invalid())?;
    let n: u64 = n.parse().map_err(|_| invalid())?;
    if n == 0 || shard >= SHARD_COUNT || shard != shard_of(n) {
        return Err(invalid());
    }
    Ok(RecordKey { shard, n })
}

#[cfg(test)]
mod tests {
    use super::*;
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
    fn limits_are_bounded() {
        assert_eq!(parse_limit(None), Ok(DEFAULT_PAGE_LIMIT));
        assert_eq!(parse_limit(Some("1")), Ok(1));
        assert_eq!(parse_limit(Some("10000")), Ok(MAX_PAGE_LIMIT));
        for bad in ["0", "10001", "-1", "+5", "1.5", "", "abc"] {
            assert!(parse_limit(Some(bad)).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn cursors_must_name_a_real_key() {
        let key = RecordKey::for_index(1234);
        assert_eq!(parse_cursor(&format_cursor(key)), Ok(key));
        let wrong_shard = format!("{}-1234", (key.shard + 1) % SHARD_COUNT);
        for bad in ["", "-", "5", "a-b", "1-0", "99999-1", "1--2", &wrong_shard] {
            assert!(parse_cursor(bad).is_err(), "{bad:?} was accepted");
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
        fn cursors_round_trip(n in 1u64..u64::MAX) {
            let key = RecordKey::for_index(n);
            prop_assert_eq!(parse_cursor(&format_cursor(key)), Ok(key));
        }
    }
}
