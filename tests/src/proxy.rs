//! A fault proxy on loopback, in front of one emulator: it passes bytes both ways, or
//! refuses connections, or takes requests and never answers, or lets every request
//! reach the emulator (so a write lands) and delays its answer past the caller's
//! timeout. The fault can be changed while it runs.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does to the connections it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Bytes pass both ways.
    None,
    /// Connections are closed as soon as they are taken.
    Refuse,
    /// Requests are read and never passed on or answered.
    BlackHole,
    /// Requests pass at once (a write lands); each answer is held this long first.
    LateAnswers(Duration),
}

/// A running proxy; it stops when dropped.
pub struct FaultProxy {
    address: SocketAddr,
    fault: Arc<Mutex<Fault>>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// A proxy on a free loopback port in front of `upstream` (`http://host:port`).
    pub async fn start(upstream: &str) -> Self {
        let upstream: SocketAddr = upstream
            .trim_start_matches("http://")
            .parse()
            .expect("an upstream host:port");
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind a loopback port");
        let address = listener.local_addr().expect("the proxy's address");
        let fault = Arc::new(Mutex::new(Fault::None));
        let shared = Arc::clone(&fault);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(serve(client, upstream, Arc::clone(&shared)));
            }
        });
        Self {
            address,
            fault,
            task,
        }
    }

    /// The proxy's endpoint, `http://127.0.0.1:port`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Applies `fault` to the connections taken from now on.
    pub fn set(&self, fault: Fault) {
        *self.fault.lock().expect("fault lock") = fault;
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The delay `fault` puts on answers.
fn answer_delay(fault: &Mutex<Fault>) -> Duration {
    match *fault.lock().expect("fault lock") {
        Fault::LateAnswers(delay) => delay,
        _ => Duration::ZERO,
    }
}

/// One client connection: refused or black-holed under the fault it was taken with;
/// otherwise passed on, each answer held as long as the fault says when it comes.
async fn serve(mut client: TcpStream, upstream: SocketAddr, fault: Arc<Mutex<Fault>>) {
    let taken_with = *fault.lock().expect("fault lock");
    match taken_with {
        Fault::Refuse => return,
        Fault::BlackHole => {
            let mut sink = [0u8; 4096];
            while matches!(client.read(&mut sink).await, Ok(read) if read > 0) {}
            return;
        }
        Fault::None | Fault::LateAnswers(_) => {}
    }
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let requests = async {
        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
        let _ = server_write.shutdown().await;
    };
    let answers = async {
        let mut buffer = [0u8; 16 * 1024];
        loop {
            let read = match server_read.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(read) => read,
            };
            tokio::time::sleep(answer_delay(&fault)).await;
            if client_write.write_all(&buffer[..read]).await.is_err() {
                break;
            }
        }
    };
    tokio::join!(requests, answers);
}
