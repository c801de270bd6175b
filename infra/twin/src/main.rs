//! `twin`: one relay per node, each at the round trip between the functions' region and
//! the node's (`make dev PROFILE=aws` runs it; see docs/twin.md).
//!
//! | variable | meaning |
//! |---|---|
//! | `TWIN_FROM` | the region the functions run in (`LOCAL_NODE`) |
//! | `TWIN_ROUTES` | `region=listen>upstream,…`: where each node's relay listens, and its emulator |
//! | `TWIN_JITTER_MS` | the most a chunk is delayed beyond half the round trip (default: 2% of the round trip) |
//! | `TWIN_LOSS` | the probability that a chunk is lost and resent (default 0) |

use std::net::SocketAddr;
use std::time::Duration;

use primescaler_twin::{Link, Relay, round_trip};

/// One node's relay, as `TWIN_ROUTES` names it.
struct Route {
    region: String,
    listen: SocketAddr,
    upstream: SocketAddr,
}

fn parse_route(entry: &str) -> Result<Route, String> {
    let (region, addresses) = entry
        .split_once('=')
        .ok_or_else(|| format!("a route is region=listen>upstream, not {entry:?}"))?;
    let (listen, upstream) = addresses
        .split_once('>')
        .ok_or_else(|| format!("a route is region=listen>upstream, not {entry:?}"))?;
    let address = |text: &str| {
        text.trim()
            .parse::<SocketAddr>()
            .map_err(|e| format!("{text:?} in {entry:?}: {e}"))
    };
    Ok(Route {
        region: region.trim().to_string(),
        listen: address(listen)?,
        upstream: address(upstream)?,
    })
}

fn setting(name: &str) -> Result<Option<String>, String> {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => Ok(Some(value)),
        Ok(_) | Err(std::env::VarError::NotPresent) => Ok(None),
        Err(e) => Err(format!("{name}: {e}")),
    }
}

/// `TWIN_JITTER_MS` (`None`: 2% of each round trip) and `TWIN_LOSS`, the same for every
/// node.
fn jitter_and_loss() -> Result<(Option<Duration>, f64), String> {
    let jitter = match setting("TWIN_JITTER_MS")? {
        Some(ms) => Some(Duration::from_millis(
            ms.parse().map_err(|e| format!("TWIN_JITTER_MS: {e}"))?,
        )),
        None => None,
    };
    let loss = match setting("TWIN_LOSS")? {
        Some(p) => p.parse::<f64>().map_err(|e| format!("TWIN_LOSS: {e}"))?,
        None => 0.0,
    };
    if !(0.0..1.0).contains(&loss) {
        return Err(format!("TWIN_LOSS is a probability below 1, not {loss}"));
    }
    Ok((jitter, loss))
}

fn link_to(from: &str, region: &str, jitter: Option<Duration>, loss: f64) -> Result<Link, String> {
    let round_trip = round_trip(from, region).ok_or_else(|| {
        format!(
            "no published round trip between {from} and {region} (regions: {})",
            primescaler_twin::distance::REGIONS.join(", ")
        )
    })?;
    Ok(Link {
        round_trip,
        jitter: jitter.unwrap_or(round_trip / 50),
        loss,
    })
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let from = setting("TWIN_FROM")?.ok_or("TWIN_FROM (the functions' region) must be set")?;
    let routes = setting("TWIN_ROUTES")?.ok_or("TWIN_ROUTES must be set")?;
    let (jitter, loss) = jitter_and_loss()?;
    let mut relays = Vec::new();
    for entry in routes.split(',').filter(|e| !e.trim().is_empty()) {
        let route = parse_route(entry)?;
        let link = link_to(&from, &route.region, jitter, loss)?;
        let relay = Relay::start(route.listen, route.upstream, link)
            .await
            .map_err(|e| format!("{}: cannot listen on {}: {e}", route.region, route.listen))?;
        println!(
            "twin: {from} -> {} at {:.1} ms (jitter up to {:.1} ms, loss {}): {} -> {}",
            route.region,
            link.round_trip.as_secs_f64() * 1000.0,
            link.jitter.as_secs_f64() * 1000.0,
            link.loss,
            relay.address(),
            route.upstream
        );
        relays.push(relay);
    }
    // Runs until it is stopped (make dev ends its process group).
    std::future::pending().await
}
