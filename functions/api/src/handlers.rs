//! The handlers: thin adapters from a routed request to the service and back to JSON.

use std::time::{Duration, Instant, UNIX_EPOCH};

use lambda_http::http::{StatusCode, header};
use lambda_http::{Body, Error, Request, RequestExt, Response};
use primescaler_cluster::service::NodeStore;
use primescaler_cluster::{BreakerState, NodeReport};
use primescaler_core::{Lookup, NodeCounters, PrimeCalculator, Source};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use crate::Deps;
use crate::error::ApiError;
use crate::metrics::RequestMetrics;
use crate::routes::{
    DEFAULT_PAGE_LIMIT, Route, format_cursor, parse_cursor, parse_limit, parse_node_names,
};

/// Serves one request. Every failure becomes a JSON error response; the `Err` arm is
/// never used, so the runtime never reports a failed invocation for a bad request.
pub async fn handle<S, C>(deps: &Deps<S, C>, request: Request) -> Result<Response<Body>, Error>
where
    S: NodeStore,
    C: PrimeCalculator + Sync,
{
    let started = Instant::now();
    let cold_start = deps.instance.begin_invocation();
    if cold_start {
        deps.service.count_cold_start();
    }
    let response = match serve(deps, &request, cold_start, started).await {
        Ok(body) => json_response(StatusCode::OK, &body),
        Err(error) => {
            if error.status.is_client_error() {
                tracing::info!(
                    method = %request.method(),
                    path = %request.uri().path(),
                    status = error.status.as_u16(),
                    code = error.code,
                    "request refused"
                );
            }
            error.into_response()
        }
    };
    Ok(response)
}

async fn serve<S, C>(
    deps: &Deps<S, C>,
    request: &Request,
    cold_start: bool,
    started: Instant,
) -> Result<Value, ApiError>
where
    S: NodeStore,
    C: PrimeCalculator + Sync,
{
    let route = Route::parse(request.method(), request.uri().path(), deps.max_n)?;
    if route != Route::ChangeMembership {
        refuse_body(request.body())?;
    }
    if matches!(
        route,
        Route::EvictPrime(_) | Route::ClearCache | Route::ChangeMembership
    ) {
        authorize(request, deps.reset_token.as_deref())?;
    }
    let service = &deps.service;
    match route {
        Route::GetPrime(n) => {
            let deadline = request_deadline(request, deps.deadline, started);
            let lookup = service.get_or_compute_by(n, deadline.into()).await?;
            let latency_ms = started.elapsed().as_secs_f64() * 1e3;
            tracing::info!(
                request_id = request.lambda_context_ref().map(|c| c.request_id.as_str()),
                n,
                node = lookup.node.as_deref().unwrap_or("none"),
                source = lookup.source.as_str(),
                calculator = %lookup.record.calculator,
                fallback_reason = lookup.fallback_reason.as_deref(),
                failovers = lookup.failovers,
                duration_ms = latency_ms,
                "served"
            );
            if let Some(function) = &deps.metrics_function {
                let emf = RequestMetrics {
                    function,
                    node: lookup.node.as_deref().unwrap_or("none"),
                    n,
                    hit: lookup.source == Source::Cache,
                    fallback: lookup.fallback_reason.is_some(),
                    failovers: lookup.failovers,
                    latency_ms,
                    timestamp_ms: primescaler_core::record::now_ms(),
                };
                println!("{}", emf.to_emf());
            }
            Ok(prime_body(&lookup, deps.instance.id(), cold_start))
        }
        Route::EvictPrime(n) => {
            let holder = service.evict(n).await?;
            Ok(json!({ "n": n, "evicted": holder.is_some(), "node": holder }))
        }
        Route::ScanCache => {
            let query = request.query_string_parameters();
            let limit = parse_limit(single(&query, "limit")?)?;
            if limit > DEFAULT_PAGE_LIMIT {
                authorize(request, deps.reset_token.as_deref())?;
            }
            let cursor = single(&query, "cursor")?
                .map(|raw| parse_cursor(raw, service.nodes().len()))
                .transpose()?;
            let page = service.scan(cursor, limit).await?;
            let items: Vec<Value> = page
                .records
                .iter()
                .map(|(r, node)| json!({ "n": r.key.n, "prime": r.prime, "node": node }))
                .collect();
            Ok(json!({
                "items": items,
                "count": items.len(),
                "next": page.next.map(format_cursor),
                "unreachable": page.unreachable,
            }))
        }
        Route::ClearCache => {
            let report = service.clear().await?;
            tracing::info!(removed = report.removed, unreachable = ?report.unreachable, "cache cleared");
            Ok(json!({
                "removed": report.removed,
                "nodes": report.cleared,
                "unreachable": report.unreachable,
                "busy": report.busy,
            }))
        }
        Route::Stats | Route::Nodes => {
            let reports = service.node_reports().await;
            let mut total = NodeCounters::default();
            let mut items = 0;
            for report in &reports {
                total.add(&report.counters.unwrap_or_default());
                items += report.items.unwrap_or(0);
            }
            let nodes: Vec<Value> = reports.iter().map(node_json).collect();
            let mut body = json!({
                "nodes": nodes,
                "strategy": service.strategy().as_str(),
                "local": service.local_name(),
                "instance": {
                    "id": deps.instance.id(),
                    "fallbacks": service.calculator().fallback_count(),
                    "computations": service.calculator().computation_count(),
                },
            });
            if route == Route::Stats {
                body["items"] = items.into();
                body["totals"] = counters_json(&total);
            }
            Ok(body)
        }
        Route::Placement => {
            let query = request.query_string_parameters();
            let proposed = parse_node_names(single(&query, "nodes")?)?;
            let layout = service.layout();
            let current: Vec<&str> = layout
                .membership()
                .nodes
                .iter()
                .map(String::as_str)
                .collect();
            let what_if = primescaler_cluster::what_if::what_if(&current, &proposed);
            Ok(json!({
                "nodes": proposed,
                "current": current,
                "cells": what_if.cells,
                "moved": what_if.moved,
                "moved_mod_n": what_if.moved_mod_n,
            }))
        }
        Route::Membership => Ok(crate::membership::current(deps).await),
        Route::ChangeMembership => crate::membership::change(deps, request.body()).await,
        Route::Health => Ok(json!({
            "status": "ok",
            "node": service.local_name(),
            "max_n": deps.max_n,
            "instance": deps.instance.id(),
            "cold_start": cold_start,
        })),
    }
}

fn counters_json(counters: &NodeCounters) -> Value {
    json!({
        "requests": counters.requests,
        "hits": counters.hits,
        "misses": counters.misses,
        "fallbacks": counters.fallbacks,
        "failovers": counters.failovers,
        "cold_starts": counters.cold_starts,
    })
}

fn node_json(report: &NodeReport) -> Value {
    let mut node = json!({
        "node": report.name,
        "up": report.up,
        "breaker": match report.breaker {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        },
        "items": report.items,
        "trips": report.trips.0,
        "last_failure": report.trips.1.as_ref().map(|trip| json!({
            "reason": trip.reason,
            "seconds_ago": trip.at.elapsed().as_secs_f64(),
        })),
    });
    let counters = counters_json(&report.counters.unwrap_or_default());
    if let (Some(node), Some(counters)) = (node.as_object_mut(), counters.as_object()) {
        node.extend(counters.clone());
    }
    node
}

/// How much of the invocation's time the response needs after the request's work: past
/// Lambda's own deadline less this, the answer could not go out.
const RESPONSE_MARGIN: Duration = Duration::from_millis(500);

/// The moment this request's work must end: `budget` after it started, or earlier, when
/// the invocation's own deadline (in Lambda) comes first. A deadline that is not in the
/// future is no real one (`cargo lambda watch` sends a fixed 600,000 ms, not a time)
/// and is ignored.
fn request_deadline(request: &Request, budget: Duration, started: Instant) -> Instant {
    let ours = started + budget;
    let now_ms = std::time::SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let Some(lambda_ms) = request
        .lambda_context_ref()
        .map(|context| context.deadline)
        .filter(|&ms| ms > now_ms)
    else {
        return ours;
    };
    let left = Duration::from_millis(lambda_ms - now_ms).saturating_sub(RESPONSE_MARGIN);
    ours.min(Instant::now() + left)
}

/// Deletions, and cache pages larger than [`DEFAULT_PAGE_LIMIT`], need
/// `Authorization: Bearer <token>` when a token is configured: none is a 401, a wrong one
/// a 403. The comparison takes the same time whatever the guess.
fn authorize(request: &Request, token: Option<&str>) -> Result<(), ApiError> {
    let Some(token) = token else {
        return Ok(());
    };
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    match given {
        None => Err(ApiError::unauthorized()),
        Some(given) if bool::from(given.as_bytes().ct_eq(token.as_bytes())) => Ok(()),
        Some(_) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the reset token is not valid",
        )),
    }
}

/// The API takes no request bodies; one that comes with a body is refused untouched.
fn refuse_body(body: &Body) -> Result<(), ApiError> {
    let len = match body {
        Body::Empty => 0,
        Body::Text(text) => text.len(),
        Body::Binary(bytes) => bytes.len(),
        _ => 0,
    };
    if len == 0 {
        return Ok(());
    }
    Err(ApiError::unexpected_body())
}

/// The one value of a query parameter; repeating it is an error.
fn single<'q>(
    query: &'q lambda_http::aws_lambda_events::query_map::QueryMap,
    name: &'static str,
) -> Result<Option<&'q str>, ApiError> {
    match query.all(name) {
        Some(values) if values.len() > 1 => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "repeated_parameter",
            format!("give {name} at most once"),
        )),
        _ => Ok(query.first(name)),
    }
}

fn prime_body(lookup: &Lookup, instance: &str, cold_start: bool) -> Value {
    let record = &lookup.record;
    let computed_at = UNIX_EPOCH + Duration::from_millis(record.computed_at_ms);
    let mut body = json!({
        "n": record.key.n,
        "prime": record.prime,
        "source": lookup.source.as_str(),
        "stored": lookup.node.is_some(),
        "node": lookup.node,
        "shard": record.key.shard,
        "calculator": record.calculator,
        "compute_micros": record.compute_micros,
        "computed_at": humantime::format_rfc3339_millis(computed_at).to_string(),
        "instance": instance,
        "cold_start": cold_start,
        "failovers": lookup.failovers,
    });
    if let Some(reason) = &lookup.fallback_reason {
        body["fallback_reason"] = reason.as_str().into();
    }
    body
}

fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::from(body.to_string()))
        .expect("static headers are valid")
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::{Context, RequestExt};

    fn invoked_with_deadline(deadline_ms: u64) -> Request {
        let mut context = Context::default();
        context.deadline = deadline_ms;
        Request::default().with_lambda_context(context)
    }

    fn now_ms() -> u64 {
        std::time::SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64
    }

    #[test]
    fn the_invocations_deadline_shortens_the_requests_when_it_comes_first() {
        let started = Instant::now();
        let budget = Duration::from_secs(12);
        // Lambda says 2 s are left: the work ends half a second before.
        let deadline = request_deadline(&invoked_with_deadline(now_ms() + 2_000), budget, started);
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(left <= Duration::from_millis(1_500), "{left:?}");
        assert!(left >= Duration::from_millis(1_000), "{left:?}");
        // Lambda says 60 s are left: the request's own budget comes first.
        let deadline = request_deadline(&invoked_with_deadline(now_ms() + 60_000), budget, started);
        assert_eq!(deadline, started + budget);
    }

    #[test]
    fn a_deadline_that_is_no_time_to_come_is_ignored() {
        let started = Instant::now();
        let budget = Duration::from_secs(12);
        // `cargo lambda watch` sends 600,000: a duration, not a time.
        for deadline_ms in [0, 600_000, now_ms() - 1] {
            let deadline = request_deadline(&invoked_with_deadline(deadline_ms), budget, started);
            assert_eq!(deadline, started + budget, "{deadline_ms}");
        }
        // No Lambda context at all (plain HTTP).
        assert_eq!(
            request_deadline(&Request::default(), budget, started),
            started + budget
        );
    }
}
