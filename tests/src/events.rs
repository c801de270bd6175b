//! Recorded API Gateway HTTP API v2 events, replayed with another method, path or body.

use lambda_http::Request;
use serde_json::Value;

use crate::workspace_root;

/// The shapes of event the API function receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventShape {
    /// API Gateway in AWS (`tests/events/apigw_v2_get_prime.json`).
    ApiGateway,
    /// `sam local start-api` (`tests/events/sam_local_get_prime.json`).
    SamLocal,
    /// `cargo lambda watch` (`tests/events/watch_get_prime.json`): no path parameters.
    CargoLambdaWatch,
}

impl EventShape {
    /// Every shape, for tests that must hold for each.
    pub const ALL: [EventShape; 3] = [Self::ApiGateway, Self::SamLocal, Self::CargoLambdaWatch];

    fn file(self) -> &'static str {
        match self {
            Self::ApiGateway => "apigw_v2_get_prime.json",
            Self::SamLocal => "sam_local_get_prime.json",
            Self::CargoLambdaWatch => "watch_get_prime.json",
        }
    }

    /// The recorded event, unchanged.
    pub fn recorded(self) -> Value {
        let path = workspace_root().join("tests/events").join(self.file());
        let text = std::fs::read_to_string(&path).expect("read a recorded event");
        serde_json::from_str(&text).expect("a recorded event is JSON")
    }

    /// The recorded event as `method target` (`target` is a path with an optional
    /// `?query`), with `body`, decoded as the function's runtime decodes it.
    pub fn request(self, method: &str, target: &str, body: Option<&str>) -> Request {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let mut event = self.recorded();
        event["rawPath"] = path.into();
        event["rawQueryString"] = query.into();
        event["requestContext"]["http"]["method"] = method.into();
        event["requestContext"]["http"]["path"] = path.into();
        let pairs: serde_json::Map<String, Value> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (k.to_string(), Value::from(v))
            })
            .collect();
        event["queryStringParameters"] = Value::Object(pairs);
        if let Some(object) = event.as_object_mut() {
            // Path parameters belong to the recorded route; the handler must not need them.
            object.remove("pathParameters");
        }
        event["body"] = body.map_or(Value::Null, Value::from);
        lambda_http::request::from_str(&event.to_string()).expect("the event decodes")
    }
}
