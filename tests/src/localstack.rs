//! LocalStack in a container, through testcontainers: the integration tests' fixture
//! when `PRIMESCALER_EMULATOR=localstack`, and the nodes of `make cloud` and
//! `make test-cloud` (the `cloud_nodes` binary), one container per region.
//!
//! The image is built on this machine (`infra/cloud/images.sh`; no image registry is
//! reachable) under the tag testcontainers' LocalStack module names, which it uses as it
//! finds it. The Docker engine is the project's own (`infra/cloud/docker.sh`, which sets
//! `DOCKER_HOST`). The edge port is published on 127.0.0.1 alone, on any engine. A
//! container is removed when its fixture is dropped.

use std::collections::HashMap;
use std::time::Duration;

use testcontainers_modules::localstack::LocalStack as LocalStackImage;
use testcontainers_modules::testcontainers::bollard::models::{HostConfig, PortBinding};
use testcontainers_modules::testcontainers::core::ContainerPort;
use testcontainers_modules::testcontainers::runners::AsyncRunner;
use testcontainers_modules::testcontainers::{ContainerAsync, ContainerRequest, ImageExt};

/// The LocalStack image: newer tags need an auth token. `infra/cloud/images.sh` builds it,
/// and `infra/dev.sh` runs the same.
pub const LOCALSTACK_IMAGE: &str = "localstack/localstack:4.5";
/// LocalStack's edge port inside its container.
pub const EDGE_PORT: u16 = 4566;
/// How long a container may take to print `Ready.` (three at once on 2 cores took 32 s
/// to answer, most of it after that line).
const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);

/// A running LocalStack container, removed on drop.
pub struct LocalStack {
    container: ContainerAsync<LocalStackImage>,
    endpoint: String,
}

/// Where a [`LocalStack`] is placed beyond its published port: a Docker network and a
/// name on it, by which other containers (the functions under `sam local`) reach it.
#[derive(Debug, Clone, Default)]
pub struct Placement {
    /// The network to join, which must exist.
    pub network: Option<String>,
    /// The container's name, unique on the engine.
    pub name: Option<String>,
}

impl LocalStack {
    /// Starts LocalStack with DynamoDB alone, on a port of 127.0.0.1 of Docker's choosing,
    /// and waits until it says it is ready (its DynamoDB answers some seconds later).
    ///
    /// # Panics
    /// When Docker cannot run it; the message says what to run.
    pub async fn start() -> Self {
        Self::start_at(&Placement::default()).await
    }

    /// As [`LocalStack::start`], placed as `placement` says.
    ///
    /// # Panics
    /// When Docker cannot run it.
    pub async fn start_at(placement: &Placement) -> Self {
        let container = request(placement).start().await.unwrap_or_else(|e| {
            panic!(
                "LocalStack ({LOCALSTACK_IMAGE}) did not start: {e}. It needs the project's \
                 Docker engine and image: run the tests through `make test-cloud`"
            )
        });
        let port = container
            .get_host_port_ipv4(ContainerPort::Tcp(EDGE_PORT))
            .await
            .expect("the published edge port");
        Self {
            container,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Its DynamoDB endpoint from this machine, `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The container's id.
    pub fn id(&self) -> &str {
        self.container.id()
    }
}

/// The container request: DynamoDB alone, with nothing fetched at start (the image sets
/// the same; a LocalStack image from elsewhere needs it said).
fn request(placement: &Placement) -> ContainerRequest<LocalStackImage> {
    let mut request = LocalStackImage::default()
        .with_env_var("SERVICES", "dynamodb")
        .with_env_var("SKIP_SSL_CERT_DOWNLOAD", "1")
        .with_env_var("DISABLE_EVENTS", "1")
        .with_host_config_modifier(publish_on_loopback)
        .with_startup_timeout(STARTUP_TIMEOUT);
    if let Some(network) = &placement.network {
        request = request.with_network(network.clone());
    }
    if let Some(name) = &placement.name {
        request = request.with_container_name(name.clone());
    }
    request
}

/// Publishes the edge port on a free port of 127.0.0.1 alone, in place of testcontainers'
/// "publish every exposed port" (every address of the machine, on an engine that was not
/// told otherwise).
fn publish_on_loopback(host: &mut HostConfig) {
    let loopback = PortBinding {
        host_ip: Some("127.0.0.1".into()),
        host_port: Some(String::new()),
    };
    host.publish_all_ports = Some(false);
    host.port_bindings = Some(HashMap::from([(
        format!("{EDGE_PORT}/tcp"),
        Some(vec![loopback]),
    )]));
}

#[cfg(test)]
mod tests {
    use super::*;
    use testcontainers_modules::testcontainers::Image;

    #[test]
    fn the_fixture_runs_the_image_the_scripts_build() {
        // GIVEN testcontainers' LocalStack image, and the scripts that build and run it
        let image = LocalStackImage::default();
        let named = format!("{}:{}", image.name(), image.tag());
        let images = include_str!("../../infra/cloud/images.sh");
        let dev = include_str!("../../infra/dev.sh");
        // WHEN their images are read
        // THEN they are one
        assert_eq!(named, LOCALSTACK_IMAGE);
        assert!(images.contains(&format!("LOCALSTACK_IMAGE=\"{LOCALSTACK_IMAGE}\"")));
        assert!(dev.contains(&format!("LOCALSTACK_IMAGE=\"{LOCALSTACK_IMAGE}\"")));
    }

    #[test]
    fn the_edge_port_is_published_on_loopback_alone() {
        // GIVEN the host settings testcontainers makes: every exposed port, every address
        let mut host = HostConfig {
            publish_all_ports: Some(true),
            port_bindings: Some(HashMap::new()),
            ..HostConfig::default()
        };
        // WHEN the fixture's modifier has its say
        publish_on_loopback(&mut host);
        // THEN the edge port alone is published, on 127.0.0.1, at a port of the engine's
        // choosing
        assert_eq!(host.publish_all_ports, Some(false));
        let bindings = host.port_bindings.expect("port bindings");
        assert_eq!(bindings.len(), 1);
        let binding = &bindings["4566/tcp"].as_ref().expect("a binding")[0];
        assert_eq!(binding.host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(binding.host_port.as_deref(), Some(""));
    }
}
