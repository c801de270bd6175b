//! LocalStack in a container, started with the Docker CLI as `make dev` starts it
//! (`infra/dev.sh`): its edge port is published on a free port of 127.0.0.1, and the
//! container is removed when the fixture is dropped. It needs a Docker daemon with a
//! bridge network.
//!
//! The Docker CLI, rather than the testcontainers crate: that crate and its Docker API
//! client (bollard, with gRPC and TLS) were 39 crates and about 47 s of compile time on
//! 2 cores in every `make test`, for the one emulator `make test` does not run.

use std::process::Command;

use crate::command::stdout_of;

/// The LocalStack image: newer tags need an auth token. `infra/dev.sh` runs the same.
pub const LOCALSTACK_IMAGE: &str = "localstack/localstack:4.5";
/// LocalStack's edge port inside its container.
const EDGE_PORT: &str = "4566/tcp";

/// A running LocalStack container, removed on drop.
pub struct LocalStack {
    id: String,
    endpoint: String,
}

impl LocalStack {
    /// Starts LocalStack with DynamoDB alone (pulling the image first if it is missing),
    /// without waiting for it to answer.
    ///
    /// # Panics
    /// When Docker cannot run it.
    pub async fn start() -> Self {
        tokio::task::spawn_blocking(Self::start_blocking)
            .await
            .expect("the docker commands' task")
    }

    fn start_blocking() -> Self {
        let id = docker(&[
            "run",
            "--detach",
            "--rm",
            "--publish",
            &format!("127.0.0.1::{EDGE_PORT}"),
            "--env",
            "SERVICES=dynamodb",
            LOCALSTACK_IMAGE,
        ]);
        // Removed on drop from here on, whatever fails next.
        let mut container = Self {
            id,
            endpoint: String::new(),
        };
        let published = docker(&["port", &container.id, EDGE_PORT]);
        container.endpoint = endpoint_of(&published).unwrap_or_else(|| {
            panic!("`docker port` named no loopback port for {EDGE_PORT}: {published:?}")
        });
        container
    }

    /// Its DynamoDB endpoint, `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

impl Drop for LocalStack {
    fn drop(&mut self) {
        // Best effort: a container left behind is removed by `docker rm -f` by hand.
        let _ = Command::new("docker")
            .args(["rm", "--force", &self.id])
            .output();
    }
}

/// Runs `docker args`, and answers what it printed, trimmed.
fn docker(args: &[&str]) -> String {
    stdout_of(Command::new("docker").args(args), "LocalStack needs Docker")
        .trim()
        .to_string()
}

/// The endpoint on 127.0.0.1 that `docker port` printed (a line per address the port is
/// published on, such as `127.0.0.1:49153`).
fn endpoint_of(published: &str) -> Option<String> {
    published.lines().find_map(|line| {
        let port: u16 = line.trim().strip_prefix("127.0.0.1:")?.parse().ok()?;
        Some(format!("http://127.0.0.1:{port}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loopback_endpoint_is_read_from_docker_port() {
        // GIVEN what `docker port` prints for a port published on 127.0.0.1
        // WHEN it is read
        // THEN the endpoint is that port on 127.0.0.1
        assert_eq!(
            endpoint_of("127.0.0.1:49153\n").as_deref(),
            Some("http://127.0.0.1:49153")
        );
    }

    #[test]
    fn make_dev_runs_the_same_image() {
        // GIVEN infra/dev.sh, which starts LocalStack for `make dev EMULATOR=localstack`
        let dev = include_str!("../../infra/dev.sh");
        // WHEN its image is read
        // THEN it is the tests' image
        assert!(
            dev.contains(&format!("LOCALSTACK_IMAGE=\"{LOCALSTACK_IMAGE}\"")),
            "infra/dev.sh runs another LocalStack image than {LOCALSTACK_IMAGE}"
        );
    }

    #[test]
    fn only_a_loopback_port_is_taken() {
        // GIVEN a port published on every address, or nothing printed
        // WHEN it is read
        // THEN no endpoint is taken from it
        assert_eq!(endpoint_of("0.0.0.0:49153\n[::]:49153"), None);
        assert_eq!(endpoint_of(""), None);
    }
}
