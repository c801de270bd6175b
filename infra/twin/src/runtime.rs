//! Lambda's runtime API as an instance meets it deployed: frozen between invocations and
//! cut off at the function's timeout.
//!
//! `cargo lambda watch` serves the runtime API its function instances poll, but it never
//! freezes an instance and never ends an invocation that runs long. A [`RuntimeRelay`]
//! stands between one instance and that API and adds both:
//!
//! - **The freeze.** When the instance asks for its next invocation
//!   (`GET …/runtime/invocation/next`), its group is frozen; when the invocation comes, it
//!   is thawed and handed the event. Lambda does the same, so anything the instance left
//!   running past its response stops until the next request, however long that is.
//! - **The deadline** (given a timeout: the twin's). The event's
//!   `Lambda-Runtime-Deadline-Ms` is set to now plus the function's timeout, as Lambda sets
//!   it (`cargo lambda watch` sends a fixed number).
//! - **The end of an instance.** An invocation whose instance ends before its result
//!   (killed, or crashed) is answered upstream with Lambda's error for that; `cargo lambda
//!   watch` would keep its caller waiting for good.
//! - **The timeout** (given one). An invocation with no result at its deadline is
//!   answered upstream with Lambda's timeout error. Lambda would then start the instance
//!   again; here its late result is dropped and it runs on, as `cargo lambda watch`
//!   cannot replace an instance that ends.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::freezer::Freezer;

/// Writes a line to stderr, and never panics as `eprintln!` does when stderr is gone:
/// a relay that ended on a log line could leave its instance frozen.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), "twin-runtime: {}", format_args!($($arg)*));
    }};
}

/// The largest request the relay takes: Lambda's 6 MB payload limit, with room to spare.
const MAX_BODY: usize = 8 * 1024 * 1024;

/// How long a report of an error may take upstream: a relay whose instance has ended
/// must not linger on an upstream that never answers.
const REPORT_TIMEOUT: Duration = Duration::from_secs(5);

const REQUEST_ID: &str = "lambda-runtime-aws-request-id";
const DEADLINE: &str = "lambda-runtime-deadline-ms";

/// What a runtime API call is to the relay.
#[derive(Debug, PartialEq, Eq)]
enum Call {
    /// The instance is done and waits for its next invocation.
    Next,
    /// The instance's result (a response or an error) for invocation `id`.
    Result { id: String },
    /// Anything else (an init error, an extension's call): passed on as it is.
    Other,
}

impl Call {
    fn of(method: &Method, path: &str) -> Self {
        let Some((_, rest)) = path.split_once("/runtime/invocation/") else {
            return Call::Other;
        };
        match (method, rest.split_once('/')) {
            (&Method::GET, None) if rest == "next" => Call::Next,
            (&Method::POST, Some((id, "response" | "error"))) if !id.is_empty() => {
                Call::Result { id: id.to_string() }
            }
            _ => Call::Other,
        }
    }
}

/// An invocation handed to the instance, and where its error would go.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Invocation {
    id: String,
    /// The runtime API's path up to the invocation's id (`…/runtime/invocation/`).
    base: String,
}

/// The invocation under way, and those that timed out (their late results are dropped).
#[derive(Debug, Default)]
struct Invocations {
    current: Option<Invocation>,
    timed_out: HashSet<String>,
}

/// The relay between one function instance and the runtime API upstream.
#[derive(Debug)]
pub struct RuntimeRelay {
    upstream: String,
    client: reqwest::Client,
    freezer: Option<Freezer>,
    timeout: Option<Duration>,
    invocations: Mutex<Invocations>,
    /// Set once the instance is ending: it is thawed and never frozen again.
    released: AtomicBool,
}

impl RuntimeRelay {
    /// A relay to the runtime API at `upstream` (`host:port`), freezing `freezer`'s group
    /// between invocations (none: never frozen), each invocation given `timeout` (none:
    /// the deadline upstream gives it, never cut off).
    pub fn new(upstream: &str, freezer: Option<Freezer>, timeout: Option<Duration>) -> Arc<Self> {
        Arc::new(Self {
            upstream: upstream.to_string(),
            client: reqwest::Client::new(),
            freezer,
            timeout,
            invocations: Mutex::default(),
            released: AtomicBool::new(false),
        })
    }

    /// The relay's routes: every path, as the runtime API upstream serves them.
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new().fallback(relay).with_state(Arc::clone(self))
    }

    /// Lets the instance run from now on: it is being stopped, and a frozen process takes
    /// no signal, not even SIGKILL, until it is thawed.
    pub fn release(&self) {
        self.released.store(true, Ordering::SeqCst);
        self.thaw();
    }

    fn thaw(&self) {
        if let Some(freezer) = &self.freezer
            && let Err(e) = freezer.thaw()
        {
            say!("cannot thaw the instance: {e}");
        }
    }

    fn freeze(&self) {
        let Some(freezer) = &self.freezer else {
            return;
        };
        if self.released.load(Ordering::SeqCst) {
            return;
        }
        if let Err(e) = freezer.freeze() {
            say!("cannot freeze the instance: {e}");
        }
        // A release between the check and the freeze must still win.
        if self.released.load(Ordering::SeqCst) {
            self.thaw();
        }
    }

    fn invocations(&self) -> std::sync::MutexGuard<'_, Invocations> {
        self.invocations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits, frozen (given a freezer), for the next invocation; given a timeout, gives it
    /// the function's deadline and starts its timer.
    async fn next(self: &Arc<Self>, request: Request<Bytes>) -> Response {
        let base = request.uri().path().trim_end_matches("next").to_string();
        self.freeze();
        let thaw = ThawOnDrop(self);
        let mut answer = self.forward(request).await;
        drop(thaw);
        let Some(id) = answer
            .headers()
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
        else {
            return answer;
        };
        let invocation = Invocation { id, base };
        self.invocations().current = Some(invocation.clone());
        let Some(timeout) = self.timeout else {
            return answer;
        };
        let deadline = SystemTime::now() + timeout;
        let deadline_ms = deadline.duration_since(UNIX_EPOCH).unwrap_or_default();
        answer
            .headers_mut()
            .insert(DEADLINE, HeaderValue::from(deadline_ms.as_millis() as u64));
        let relay = Arc::clone(self);
        tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            relay.time_out(invocation, timeout).await;
        });
        answer
    }

    /// Answers `invocation` with Lambda's timeout error, if it is still under way.
    async fn time_out(&self, invocation: Invocation, timeout: Duration) {
        {
            let mut invocations = self.invocations();
            if invocations.current.as_ref() != Some(&invocation) {
                return;
            }
            invocations.current = None;
            invocations.timed_out.insert(invocation.id.clone());
        }
        let seconds = timeout.as_secs_f64();
        say!(
            "invocation {} timed out after {seconds:.2} s",
            invocation.id
        );
        let message = format!("Task timed out after {seconds:.2} seconds");
        self.fail(&invocation, "Sandbox.Timedout", &message).await;
    }

    /// Answers the invocation under way, if any, with Lambda's error for an instance that
    /// ended during it: its instance has ended, and nothing else would ever answer it
    /// (`cargo lambda watch` would keep its caller waiting for good).
    pub async fn abandon(&self) {
        let Some(invocation) = self.invocations().current.take() else {
            return;
        };
        say!("the instance ended during invocation {}", invocation.id);
        let message = "Runtime exited before it answered the invocation";
        self.fail(&invocation, "Runtime.ExitError", message).await;
    }

    /// Posts Lambda's error `kind` for `invocation` upstream.
    async fn fail(&self, invocation: &Invocation, kind: &str, message: &str) {
        let Invocation { id, base } = invocation;
        let body = serde_json::json!({ "errorType": kind, "errorMessage": message });
        let sent = self
            .client
            .post(format!("http://{}{base}{id}/error", self.upstream))
            .timeout(REPORT_TIMEOUT)
            .header("lambda-runtime-function-error-type", kind)
            .json(&body)
            .send()
            .await;
        if let Err(e) = sent {
            say!("cannot report {kind} for {id}: {e}");
        }
    }

    /// Passes a result on, unless its invocation has timed out already.
    async fn result(&self, id: &str, request: Request<Bytes>) -> Response {
        {
            let mut invocations = self.invocations();
            if invocations.timed_out.remove(id) {
                say!("the result of {id} came after its timeout: dropped");
                return StatusCode::ACCEPTED.into_response();
            }
            if invocations.current.as_ref().is_some_and(|c| c.id == id) {
                invocations.current = None;
            }
        }
        self.forward(request).await
    }

    /// Sends `request` upstream as it is, and its answer back.
    async fn forward(&self, request: Request<Bytes>) -> Response {
        let (parts, body) = request.into_parts();
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let mut headers = parts.headers;
        headers.remove(header::HOST);
        let sent = self
            .client
            .request(parts.method, format!("http://{}{path}", self.upstream))
            .headers(headers)
            .body(body)
            .send()
            .await;
        let answer = match sent {
            Ok(answer) => answer,
            Err(e) => return upstream_failed(e),
        };
        let status = answer.status();
        let headers = passed_on(answer.headers());
        match answer.bytes().await {
            Ok(body) => (status, headers, body).into_response(),
            Err(e) => upstream_failed(e),
        }
    }
}

/// Thaws the instance when the wait for its next invocation ends, however it ends.
struct ThawOnDrop<'a>(&'a RuntimeRelay);

impl Drop for ThawOnDrop<'_> {
    fn drop(&mut self) {
        self.0.thaw();
    }
}

/// An answer's headers less those that describe the connection or the body's framing,
/// which the relay's own answer sets.
fn passed_on(headers: &HeaderMap) -> HeaderMap {
    let mut kept = headers.clone();
    for name in [
        header::CONNECTION,
        header::TRANSFER_ENCODING,
        header::CONTENT_LENGTH,
    ] {
        kept.remove(name);
    }
    kept
}

fn upstream_failed(e: reqwest::Error) -> Response {
    say!("the runtime API upstream failed: {e}");
    (
        StatusCode::BAD_GATEWAY,
        format!("runtime API upstream: {e}\n"),
    )
        .into_response()
}

async fn relay(State(relay): State<Arc<RuntimeRelay>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(body) => body,
        Err(e) => return (StatusCode::PAYLOAD_TOO_LARGE, e.to_string()).into_response(),
    };
    let call = Call::of(&parts.method, parts.uri.path());
    let request = Request::from_parts(parts, body);
    match call {
        Call::Next => relay.next(request).await,
        Call::Result { id } => relay.result(&id, request).await,
        Call::Other => relay.forward(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_calls_that_frame_an_invocation_are_told_apart() {
        let next = "/2018-06-01/runtime/invocation/next";
        assert_eq!(Call::of(&Method::GET, next), Call::Next);
        assert_eq!(Call::of(&Method::GET, &format!("/.rt{next}")), Call::Next);
        for kind in ["response", "error"] {
            let path = format!("/2018-06-01/runtime/invocation/abc-1/{kind}");
            let id = "abc-1".to_string();
            assert_eq!(Call::of(&Method::POST, &path), Call::Result { id });
        }
        assert_eq!(
            Call::of(&Method::POST, "/2018-06-01/runtime/init/error"),
            Call::Other
        );
        assert_eq!(Call::of(&Method::POST, next), Call::Other);
        assert_eq!(
            Call::of(
                &Method::GET,
                "/2018-06-01/runtime/invocation/abc-1/response"
            ),
            Call::Other
        );
    }

    #[test]
    fn framing_headers_are_not_passed_on() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(5));
        headers.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        headers.insert(REQUEST_ID, HeaderValue::from_static("abc-1"));
        let kept = passed_on(&headers);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[REQUEST_ID], "abc-1");
    }
}
