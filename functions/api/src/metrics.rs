//! CloudWatch Embedded Metric Format: one JSON line per served prime, which CloudWatch
//! Logs turns into metrics (namespace `PrimeScaler`, dimension `Function`).

use serde_json::{Value, json};

/// The namespace of PrimeScaler's metrics.
pub const NAMESPACE: &str = "PrimeScaler";

/// What one `GET /primes/{n}` did, as metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestMetrics<'a> {
    /// The function's name (the metrics' dimension).
    pub function: &'a str,
    /// The node that answered.
    pub node: &'a str,
    /// The index asked for.
    pub n: u64,
    /// Whether the answer came from the cache.
    pub hit: bool,
    /// Whether the fallback calculator answered.
    pub fallback: bool,
    /// Nodes passed over because they were down.
    pub failovers: u32,
    /// The handler's time, in milliseconds.
    pub latency_ms: f64,
    /// When, in milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
}

impl RequestMetrics<'_> {
    /// The EMF document: metric values at the top level, declared under `_aws`.
    pub fn to_emf(&self) -> Value {
        let count = |name: &str| json!({ "Name": name, "Unit": "Count" });
        json!({
            "_aws": {
                "Timestamp": self.timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [["Function"]],
                    "Metrics": [
                        count("Hits"),
                        count("Misses"),
                        count("Computes"),
                        count("Fallbacks"),
                        count("Failovers"),
                        { "Name": "LatencyMs", "Unit": "Milliseconds" },
                    ],
                }],
            },
            "Function": self.function,
            "Node": self.node,
            "n": self.n,
            "Hits": u8::from(self.hit),
            "Misses": u8::from(!self.hit),
            "Computes": u8::from(!self.hit),
            "Fallbacks": u8::from(self.fallback),
            "Failovers": self.failovers,
            "LatencyMs": self.latency_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_declared_metric_has_a_value() {
        let emf = RequestMetrics {
            function: "primescaler-api",
            node: "eu-west-1",
            n: 100,
            hit: false,
            fallback: true,
            failovers: 1,
            latency_ms: 2.5,
            timestamp_ms: 1_795_947_342_512,
        }
        .to_emf();
        let declared = &emf["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(declared["Namespace"], NAMESPACE);
        assert_eq!(declared["Dimensions"][0][0], "Function");
        assert_eq!(emf["Function"], "primescaler-api");
        for metric in declared["Metrics"].as_array().unwrap() {
            let name = metric["Name"].as_str().unwrap();
            assert!(emf[name].is_number(), "{name} has no value");
        }
        assert_eq!(
            (
                &emf["Hits"],
                &emf["Misses"],
                &emf["Fallbacks"],
                &emf["Failovers"]
            ),
            (&json!(0), &json!(1), &json!(1), &json!(1))
        );
        assert_eq!(emf["_aws"]["Timestamp"], 1_795_947_342_512u64);
    }
}
