//! The API as one axum [`Router`]: the same [`handle`] answers Lambda events (through
//! `lambda_http`, in AWS and under `cargo lambda watch`) and plain HTTP requests (the
//! binary run on its own, as the request-path benchmark does).

use std::sync::Arc;

use axum::Router;
use axum::body::Body as AxumBody;
use axum::extract::{Request as AxumRequest, State};
use lambda_http::aws_lambda_events::query_map::QueryMap;
use lambda_http::http::Response;
use lambda_http::{Body, Request, RequestExt};
use primescaler_cluster::service::NodeStore;
use primescaler_core::PrimeCalculator;

use crate::error::ApiError;
use crate::{Deps, handle};

/// The most body bytes read before a request is refused: only `PUT /membership` takes a
/// body (a short list of nodes), so this bounds what a plain HTTP client can make the
/// function buffer.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Where the API listens without the Lambda runtime API: `API_PORT`, default 3001.
pub const API_PORT: primescaler_serve::LocalPort = primescaler_serve::LocalPort {
    variable: "API_PORT",
    default: 3001,
};

/// Every method and path goes to [`handle`], which routes on the raw path itself.
pub fn router<S, C>(deps: Arc<Deps<S, C>>) -> Router
where
    S: NodeStore + Send + Sync + 'static,
    C: PrimeCalculator + Send + Sync + 'static,
{
    Router::new().fallback(answer::<S, C>).with_state(deps)
}

async fn answer<S, C>(
    State(deps): State<Arc<Deps<S, C>>>,
    request: AxumRequest,
) -> Response<AxumBody>
where
    S: NodeStore + Send + Sync + 'static,
    C: PrimeCalculator + Send + Sync + 'static,
{
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return ApiError::unexpected_body()
            .into_response()
            .map(AxumBody::new);
    };
    let body = if bytes.is_empty() {
        Body::Empty
    } else {
        Body::Binary(bytes.to_vec())
    };
    let mut request = Request::from_parts(parts, body);
    // Lambda events carry their query already parsed; a plain HTTP request has it in the URI.
    if request.query_string_parameters_ref().is_none()
        && let Some(query) = request.uri().query()
    {
        let parsed: QueryMap = query.parse().unwrap_or_default();
        request = request.with_query_string_parameters(parsed);
    }
    let answered = handle(&deps, request).await;
    work_beside(&deps);
    match answered {
        Ok(response) => response.map(AxumBody::new),
        Err(error) => {
            // `handle` answers every failure itself; this arm is a safety net.
            tracing::error!(%error, "the handler failed");
            ApiError::internal().into_response().map(AxumBody::new)
        }
    }
}

/// The instance's own work, when due, each in a task of its own beside the response,
/// never before it: writing its buffered counters, reading the membership, and probing a node whose cool-down is
/// about to end. In Lambda a task runs while the response goes out; if the environment
/// is frozen first, it resumes at the next invocation (a call it was waiting on then
/// outlives its budget, and is not taken for the node's failure). An instance that is
/// shut down loses what it buffered since its last flush: at most about a second of its
/// activity counters (records, their count and the grid version are written with each
/// record, never buffered).
fn work_beside<S, C>(deps: &Arc<Deps<S, C>>)
where
    S: NodeStore + Send + Sync + 'static,
    C: PrimeCalculator + Send + Sync + 'static,
{
    if deps.service.take_counter_flush() {
        let deps = Arc::clone(deps);
        tokio::spawn(async move { deps.service.flush_counters().await });
    }
    if deps.service.take_membership_refresh() {
        let deps = Arc::clone(deps);
        tokio::spawn(async move { deps.service.refresh_membership().await });
    }
    if let Some(node) = deps.service.take_early_probe() {
        let deps = Arc::clone(deps);
        tokio::spawn(async move { deps.service.probe(node).await });
    }
}
