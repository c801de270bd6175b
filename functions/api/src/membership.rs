//! `GET /membership` and `PUT /membership`: the nodes of the ring, and changing them.
//!
//! A change needs the reset token (when one is configured), as deletions do: it moves
//! records between regions. Its body is `{"nodes": ["us-east-1", ...]}`, each a node
//! this deployment has a client for; the move then runs in the upkeep.

use lambda_http::Body;
use lambda_http::http::StatusCode;
use primescaler_cluster::service::{MembershipChangeError, NodeStore};
use primescaler_cluster::what_if::check_node_names;
use primescaler_core::{Membership, PrimeCalculator, SHARD_COUNT};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Deps;
use crate::error::ApiError;

/// The body of `PUT /membership`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeBody {
    nodes: Vec<String>,
}

/// The membership as this instance holds it, fresh from the nodes.
pub async fn current<S, C>(deps: &Deps<S, C>) -> Value
where
    S: NodeStore,
    C: PrimeCalculator + Sync,
{
    deps.service.refresh_membership().await;
    membership_json(deps.service.layout().membership(), &deps.service.names())
}

/// Starts the change `body` asks for.
pub async fn change<S, C>(deps: &Deps<S, C>, body: &Body) -> Result<Value, ApiError>
where
    S: NodeStore,
    C: PrimeCalculator + Sync,
{
    let invalid = |why: String| ApiError::new(StatusCode::BAD_REQUEST, "invalid_nodes", why);
    let bytes: &[u8] = match body {
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    };
    let asked: ChangeBody = serde_json::from_slice(bytes)
        .map_err(|e| invalid(format!("the body is {{\"nodes\": [region, ...]}}: {e}")))?;
    check_node_names(&asked.nodes).map_err(|why| invalid(why.to_string()))?;
    let changed = deps
        .service
        .change_membership(asked.nodes)
        .await
        .map_err(|error| {
            let (status, code) = match error {
                MembershipChangeError::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid_nodes"),
                MembershipChangeError::Moving(_) => (StatusCode::CONFLICT, "moving"),
                MembershipChangeError::Unchanged => (StatusCode::CONFLICT, "unchanged"),
                MembershipChangeError::NotWritten(_) => {
                    (StatusCode::SERVICE_UNAVAILABLE, "not_written")
                }
            };
            ApiError::new(status, code, error.to_string())
        })?;
    Ok(membership_json(&changed, &deps.service.names()))
}

/// The JSON of `membership`; `configured` are the nodes a change may name.
fn membership_json(membership: &Membership, configured: &[String]) -> Value {
    json!({
        "epoch": membership.epoch,
        "nodes": membership.nodes,
        "previous": membership.previous,
        "moving": membership.moving(),
        "moved": membership.moved,
        "next_shard": membership.next_shard,
        "remaining_shards": SHARD_COUNT - membership.next_shard,
        "changed_at_ms": membership.changed_at_ms,
        "configured": configured,
    })
}
