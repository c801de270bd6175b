//! A fault proxy on loopback, in front of one emulator: it passes bytes both ways, or
//! refuses connections, or takes requests and never answers, or lets every request
//! reach the emulator (so a write lands) and delays its answer past the caller's
//! timeout, or cuts that answer off halfway, or answers every request itself with
//! DynamoDB's throttling error. The fault can be changed while it runs: a change closes
//! the connections taken before it (a client's pooled connections included), so that
//! every request from then on meets the new fault.

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
    /// Requests pass at once (a write lands); half of the answer's first chunk comes
    /// back, then the connection is closed.
    CutAnswers,
    /// Requests are answered by the proxy, never passed on: HTTP 400 with DynamoDB's
    /// `ThrottlingException`.
    Throttle,
}

/// DynamoDB's answer to a throttled call.
const THROTTLED: &str = "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ThrottlingException\",\"message\":\"Rate of requests exceeds the allowed throughput.\"}";

/// A running proxy; it stops when dropped.
pub struct FaultProxy {
    address: SocketAddr,
    fault: Arc<Mutex<(Fault, u64)>>,
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
        let fault = Arc::new(Mutex::new((Fault::None, 0)));
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

    /// Applies `fault` from now on: connections taken before are closed (a request
    /// read on one afterwards is not passed on).
    pub fn set(&self, fault: Fault) {
        let mut current = self.fault.lock().expect("fault lock");
        if current.0 != fault {
            *current = (fault, current.1 + 1);
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The fault now, and how many changes came before it.
type Shared = Arc<Mutex<(Fault, u64)>>;

/// Whether the fault changed since `generation`.
fn changed(fault: &Shared, generation: u64) -> bool {
    fault.lock().expect("fault lock").1 != generation
}

/// One client connection: refused or black-holed under the fault it was taken with;
/// otherwise passed on, each answer held as long as the fault says when it comes.
async fn serve(mut client: TcpStream, upstream: SocketAddr, fault: Shared) {
    let (taken_with, generation) = *fault.lock().expect("fault lock");
    match taken_with {
        Fault::Refuse => return,
        Fault::BlackHole => {
            let mut sink = [0u8; 4096];
            while matches!(client.read(&mut sink).await, Ok(read) if read > 0) {}
            return;
        }
        Fault::Throttle => {
            throttle(client).await;
            return;
        }
        Fault::None | Fault::LateAnswers(_) | Fault::CutAnswers => {}
    }
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let requests = async {
        let mut buffer = [0u8; 16 * 1024];
        loop {
            let read = match client_read.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(read) => read,
            };
            // Taken under another fault: not passed on.
            if changed(&fault, generation) || server_write.write_all(&buffer[..read]).await.is_err()
            {
                break;
            }
        }
        let _ = server_write.shutdown().await;
    };
    let answers = async {
        let mut buffer = [0u8; 16 * 1024];
        loop {
            let read = match server_read.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(read) => read,
            };
            if let Fault::LateAnswers(delay) = taken_with {
                tokio::time::sleep(delay).await;
            }
            if changed(&fault, generation) {
                break;
            }
            if taken_with == Fault::CutAnswers {
                let _ = client_write.write_all(&buffer[..read / 2]).await;
                let _ = client_write.shutdown().await;
                break;
            }
            if client_write.write_all(&buffer[..read]).await.is_err() {
                break;
            }
        }
    };
    tokio::join!(requests, answers);
}

/// Answers the first request on `client` with DynamoDB's throttling error, without
/// passing it on, and closes the connection (the SDK's retry opens another).
async fn throttle(mut client: TcpStream) {
    let answer = format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: application/x-amz-json-1.0\r\n\
         x-amzn-requestid: throttled\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{THROTTLED}",
        THROTTLED.len()
    );
    let mut request = [0u8; 16 * 1024];
    if matches!(client.read(&mut request).await, Ok(read) if read > 0) {
        let _ = client.write_all(answer.as_bytes()).await;
    }
    let _ = client.shutdown().await;
}
