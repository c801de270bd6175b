//! Lambda's freeze and timeout on the deployed twin. A function instance started by the
//! twin's cargo runner (`infra/twin-run.sh`, as `make dev PROFILE=aws` starts each one)
//! polls the runtime API through `twin-runtime`, which freezes the instance between
//! invocations and answers for it at the function's timeout. Upstream of it here is a
//! stand-in for the runtime API `cargo lambda watch` serves: a queue of events, and the
//! results that come back.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use primescaler_tests::workspace_root;
use primescaler_twin::{Freezer, FreezerState};
use tokio::sync::{Mutex, mpsc};

/// What an instance sent back for an invocation.
#[derive(Debug)]
struct Outcome {
    id: String,
    /// `response` or `error`.
    kind: String,
    body: String,
}

/// The runtime API upstream: events go in, results come out.
struct Upstream {
    port: u16,
    events: mpsc::UnboundedSender<(String, String)>,
    results: mpsc::UnboundedReceiver<Outcome>,
}

#[derive(Clone)]
struct Queues {
    events: Arc<Mutex<mpsc::UnboundedReceiver<(String, String)>>>,
    results: mpsc::UnboundedSender<Outcome>,
}

async fn next(State(queues): State<Queues>) -> impl IntoResponse {
    let (id, body) = queues.events.lock().await.recv().await.expect("events");
    (
        [
            ("lambda-runtime-aws-request-id", id),
            // What `cargo lambda watch` sends: a fixed number, not a time.
            ("lambda-runtime-deadline-ms", "600000".to_string()),
            (
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:000000000000:function:twin".to_string(),
            ),
            ("lambda-runtime-trace-id", "Root=1-0-0".to_string()),
        ],
        body,
    )
}

async fn result(
    State(queues): State<Queues>,
    UrlPath((id, kind)): UrlPath<(String, String)>,
    body: String,
) -> StatusCode {
    let _ = queues.results.send(Outcome { id, kind, body });
    StatusCode::ACCEPTED
}

impl Upstream {
    async fn start() -> Self {
        let (events, events_out) = mpsc::unbounded_channel();
        let (results_in, results) = mpsc::unbounded_channel();
        let queues = Queues {
            events: Arc::new(Mutex::new(events_out)),
            results: results_in,
        };
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/{kind}", post(result))
            .with_state(queues);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            port,
            events,
            results,
        }
    }

    fn invoke(&self, id: &str, event: &str) {
        self.events.send((id.into(), event.into())).unwrap();
    }

    /// The next result, which must come within 10 s and be a `kind` for invocation `id`.
    async fn expect(&mut self, id: &str, kind: &str) -> Outcome {
        let outcome = self
            .outcome(Duration::from_secs(10))
            .await
            .expect("an answer");
        assert_eq!((outcome.id.as_str(), outcome.kind.as_str()), (id, kind));
        outcome
    }

    async fn outcome(&mut self, within: Duration) -> Option<Outcome> {
        tokio::time::timeout(within, self.results.recv())
            .await
            .ok()
            .flatten()
    }
}

/// A function instance started as the twin starts one, in cgroups of its own.
struct Instance {
    child: Child,
    group: String,
    freezer_dir: PathBuf,
    ticks: PathBuf,
}

fn built(binary: &str) -> PathBuf {
    let path = workspace_root().join("target/debug").join(binary);
    assert!(
        path.exists(),
        "{} is not built: `make test` builds it (or `cargo build --bins`)",
        path.display()
    );
    path
}

impl Instance {
    /// `program` under the twin's limits (`TWIN_LIMITS=1`: cgroups, the freeze and
    /// `timeout_s`), as `make dev PROFILE=aws` starts one.
    fn start(program: &Path, upstream: &Upstream, timeout_s: f64) -> Self {
        Self::start_with(program, upstream, Some(timeout_s))
    }

    /// `program` as `make dev` starts one: through its relay, with no limits.
    fn start_local(program: &Path, upstream: &Upstream) -> Self {
        Self::start_with(program, upstream, None)
    }

    fn start_with(program: &Path, upstream: &Upstream, twin_timeout_s: Option<f64>) -> Self {
        assert!(
            twin_timeout_s.is_none() || Path::new("/sys/fs/cgroup/freezer").is_dir(),
            "the twin's freeze needs the cgroup v1 freezer at /sys/fs/cgroup/freezer"
        );
        let group = format!(
            "primescaler-test-{}-{}",
            std::process::id(),
            fastrand::u32(..)
        );
        let ticks = std::env::temp_dir().join(format!("{group}.ticks"));
        let child = Command::new(workspace_root().join("infra/twin-run.sh"))
            .arg(program)
            .env("TWIN_RUNTIME", built("twin-runtime"))
            .env(
                "TWIN_LIMITS",
                if twin_timeout_s.is_some() { "1" } else { "0" },
            )
            .env("TWIN_CGROUP", &group)
            .env("TWIN_TIMEOUT_S", twin_timeout_s.unwrap_or(15.0).to_string())
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://127.0.0.1:{}", upstream.port),
            )
            .env("TICKS", &ticks)
            .env("AWS_LAMBDA_FUNCTION_NAME", "twin")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/twin")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "twin")
            .process_group(0)
            .stdout(Stdio::null())
            .spawn()
            .expect("start infra/twin-run.sh");
        let name = program.file_name().unwrap().to_string_lossy();
        let freezer_dir = PathBuf::from(format!(
            "/sys/fs/cgroup/freezer/{group}/{name}-{}",
            child.id()
        ));
        Self {
            child,
            group,
            freezer_dir,
            ticks,
        }
    }

    /// The bash instance (`tests/twin/instance.sh`), whose events are seconds of work.
    fn script(upstream: &Upstream, timeout_s: f64) -> Self {
        Self::start(
            &workspace_root().join("tests/twin/instance.sh"),
            upstream,
            timeout_s,
        )
    }

    /// The instance's freezer, once the runner has made it.
    async fn freezer(&self) -> Freezer {
        let started = Instant::now();
        loop {
            if let Ok(freezer) = Freezer::at(&self.freezer_dir) {
                return freezer;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "no freezer group"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until the instance is frozen; false if it is not within 10 s.
    async fn frozen(&self) -> bool {
        let freezer = self.freezer().await;
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if freezer.state().ok() == Some(FreezerState::Frozen) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    /// Sends SIGKILL to the runner's process group, the instance and its background
    /// task, as `cargo lambda watch` ends its instances when the code changes; whether
    /// `kill` succeeded.
    fn kill_group(&self) -> bool {
        Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status()
            .is_ok_and(|status| status.success())
    }

    /// How many ticks its background task has written so far.
    fn ticks(&self) -> usize {
        std::fs::read_to_string(&self.ticks).map_or(0, |t| t.lines().count())
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // A frozen process takes no signal: thaw it, then end its group (its relay, in a
        // session of its own, ends once the instance has).
        let thaw = || {
            let _ = std::fs::write(self.freezer_dir.join("freezer.state"), "THAWED");
        };
        thaw();
        self.kill_group();
        thaw();
        let _ = self.child.wait();
        for controller in ["cpu", "memory", "freezer"] {
            let dir = PathBuf::from(format!("/sys/fs/cgroup/{controller}/{}", self.group));
            for _ in 0..50 {
                let inner = std::fs::read_dir(&dir).into_iter().flatten().flatten();
                for entry in inner.filter(|e| e.path().is_dir()) {
                    let _ = std::fs::remove_dir(entry.path());
                }
                if !dir.exists() || std::fs::remove_dir(&dir).is_ok() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = std::fs::remove_file(&self.ticks);
        let _ = std::fs::remove_file(self.ticks.with_extension("ticks.headers"));
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[tokio::test]
async fn an_instance_waiting_for_its_next_invocation_is_frozen_background_work_and_all() {
    // GIVEN an instance with a task that ticks every 20 ms, under the twin's runner
    let mut upstream = Upstream::start().await;
    let instance = Instance::script(&upstream, 15.0);

    // WHEN it has asked for its first invocation
    assert!(
        instance.frozen().await,
        "the waiting instance is not frozen"
    );
    // THEN its background task stands still
    let before = instance.ticks();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(instance.ticks(), before, "a frozen instance's task ran");

    // WHEN an invocation comes that works for 0.4 s
    let sent_ms = now_ms();
    upstream.invoke("first", "0.4");
    let outcome = upstream.expect("first", "response").await;
    // THEN it ran, with the function's deadline (now + 15 s), and is frozen again after
    let deadline: u64 = outcome.body.trim().parse().expect("a deadline in ms");
    let given = deadline.saturating_sub(sent_ms);
    assert!(
        (14_000..=16_000).contains(&given),
        "deadline {given} ms after the event"
    );
    assert!(
        instance.ticks() >= before + 5,
        "the thawed task did not run"
    );
    assert!(instance.frozen().await, "not frozen after its invocation");
    let after = instance.ticks();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(instance.ticks(), after, "a frozen instance's task ran");
}

#[tokio::test]
async fn an_invocation_past_the_function_timeout_gets_lambdas_timeout_error() {
    // GIVEN an instance whose function times out after 1 s
    let mut upstream = Upstream::start().await;
    let instance = Instance::script(&upstream, 1.0);
    assert!(instance.frozen().await);

    // WHEN an invocation works for 2.5 s
    let sent = Instant::now();
    upstream.invoke("slow", "2.5");
    // THEN it is answered with the timeout error at 1 s
    let outcome = upstream.expect("slow", "error").await;
    let took = sent.elapsed();
    assert!(
        outcome.body.contains("Sandbox.Timedout"),
        "{}",
        outcome.body
    );
    assert!(
        outcome.body.contains("Task timed out after 1.00 seconds"),
        "{}",
        outcome.body
    );
    assert!(
        took >= Duration::from_millis(950) && took < Duration::from_millis(2_000),
        "the timeout came after {took:?}"
    );
    // AND its late answer goes nowhere, and the next invocation is answered
    upstream.invoke("next", "0");
    upstream.expect("next", "response").await;
    assert!(upstream.outcome(Duration::from_millis(500)).await.is_none());
}

#[tokio::test]
async fn a_rust_function_is_served_through_the_relay() {
    // GIVEN a lambda_http function (the cold-start baseline, `hello`) under the runner
    let mut upstream = Upstream::start().await;
    let instance = Instance::start(&built("hello"), &upstream, 15.0);
    assert!(
        instance.frozen().await,
        "the waiting function is not frozen"
    );

    // WHEN an HTTP API event comes
    let event =
        std::fs::read_to_string(workspace_root().join("tests/events/apigw_v2_get_prime.json"))
            .expect("a recorded event");
    upstream.invoke("http", &event);

    // THEN it answers through the relay, and is frozen again
    let outcome = upstream.expect("http", "response").await;
    let answer: serde_json::Value = serde_json::from_str(&outcome.body).unwrap();
    assert_eq!(answer["statusCode"], 200);
    assert_eq!(answer["body"], "hello");
    assert!(instance.frozen().await);
}

#[tokio::test]
async fn an_instance_stopped_while_frozen_is_thawed_and_ends() {
    // GIVEN a frozen instance
    let upstream = Upstream::start().await;
    let mut instance = Instance::script(&upstream, 15.0);
    assert!(instance.frozen().await);

    // WHEN its process group is killed, as `cargo lambda watch` ends its instances when
    // the code changes (a frozen process takes no signal until it is thawed)
    assert!(instance.kill_group(), "kill");

    // THEN it ends (within 5 s: the relay looks every 50 ms)
    let started = Instant::now();
    while instance.child.try_wait().expect("wait").is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "a stopped instance stays frozen"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn an_invocation_whose_instance_ends_is_answered_with_lambdas_exit_error() {
    // GIVEN an instance at work on a 5 s invocation
    let mut upstream = Upstream::start().await;
    let instance = Instance::script(&upstream, 15.0);
    assert!(instance.frozen().await);

    // WHEN its process group is killed during the invocation (a restart on a code change,
    // a crash)
    // THEN the invocation is answered with Lambda's error for an instance that ended
    // (nothing else would ever answer it)
    killed_at_work_is_answered_for(&mut upstream, &instance).await;
}

/// Kills `instance` 0.5 s into a 5 s invocation, and checks that the invocation is then
/// answered with Lambda's error for an instance that ended: its relay's doing.
async fn killed_at_work_is_answered_for(upstream: &mut Upstream, instance: &Instance) {
    upstream.invoke("cut", "5");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(instance.kill_group(), "kill");
    let outcome = upstream.expect("cut", "error").await;
    assert!(
        outcome.body.contains("Runtime.ExitError"),
        "{}",
        outcome.body
    );
}

#[tokio::test]
async fn under_make_dev_an_instance_polls_through_its_relay_with_no_limits() {
    // GIVEN the bash instance started as `make dev` starts one (no twin limits)
    let mut upstream = Upstream::start().await;
    let instance =
        Instance::start_local(&workspace_root().join("tests/twin/instance.sh"), &upstream);

    // WHEN an invocation comes
    upstream.invoke("local", "0");
    // THEN it is answered with the deadline upstream gave (no timeout of the relay's),
    // and no freezer group was made
    let outcome = upstream.expect("local", "response").await;
    assert_eq!(outcome.body.trim(), "600000");
    assert!(
        !instance.freezer_dir.exists(),
        "a local instance got a freezer group"
    );

    // WHEN it is killed during its next invocation
    // THEN its relay answers for it: it polled through one
    killed_at_work_is_answered_for(&mut upstream, &instance).await;
}
