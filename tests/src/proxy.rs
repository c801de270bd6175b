//! A fault proxy on loopback, in front of one emulator: it passes bytes both ways, or
//! refuses connections (its port is closed), or takes requests and never answers, or
//! lets every request reach the emulator (so a write lands) and delays its answer past
//! the caller's timeout, or cuts that answer off halfway, or answers every request
//! itself with DynamoDB's throttling error. The fault can be changed while it runs:
//! connections taken before a change are not used for another request (one read on
//! them afterwards is not passed on, and the connection is closed), so that every
//! request from then on meets the new fault.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy does to the connections it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Bytes pass both ways.
    None,
    /// Connections are refused: the proxy's port is closed until the fault changes.
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
    fault: Arc<watch::Sender<(Fault, u64)>>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// A proxy on a free loopback port in front of `upstream` (`http://host:port`).
    pub async fn start(upstream: &str) -> Self {
        let upstream: SocketAddr = upstream
            .trim_start_matches("http://")
            .parse()
            .expect("an upstream host:port");
        let listener = bind_below_ephemeral().await;
        let address = listener.local_addr().expect("the proxy's address");
        let fault = Arc::new(watch::Sender::new((Fault::None, 0)));
        let task = tokio::spawn(accept(listener, upstream, Arc::clone(&fault)));
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

    /// Applies `fault` from now on: connections taken before are not used for another
    /// request.
    pub fn set(&self, fault: Fault) {
        self.fault.send_if_modified(|current| {
            let changed = current.0 != fault;
            if changed {
                *current = (fault, current.1 + 1);
            }
            changed
        });
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The fault now, and how many changes came before it.
type Shared = Arc<watch::Sender<(Fault, u64)>>;

/// Whether the fault changed since `generation`.
fn changed(fault: &Shared, generation: u64) -> bool {
    fault.borrow().1 != generation
}

/// Takes connections and serves each under the fault of the moment. While the fault is
/// `Refuse`, the port is closed (a connection to it is refused by the system), and it is
/// bound again when the fault changes.
async fn accept(mut listener: TcpListener, upstream: SocketAddr, fault: Shared) {
    let address = listener.local_addr().expect("the proxy's address");
    let mut changes = fault.subscribe();
    loop {
        if changes.borrow_and_update().0 == Fault::Refuse {
            drop(listener);
            while changes.borrow_and_update().0 == Fault::Refuse {
                if changes.changed().await.is_err() {
                    return;
                }
            }
            listener = rebind(address).await;
            continue;
        }
        tokio::select! {
            taken = listener.accept() => match taken {
                Ok((client, _)) => {
                    tokio::spawn(serve(client, upstream, Arc::clone(&fault)));
                }
                Err(_) => return,
            },
            change = changes.changed() => if change.is_err() { return },
        }
    }
}

/// A listener on a free loopback port of [`crate::RESTARTABLE_PORTS`]: while a proxy
/// refuses, its port is closed, and no outgoing connection can take it meanwhile.
async fn bind_below_ephemeral() -> TcpListener {
    let listener = crate::bind_restartable();
    listener
        .set_nonblocking(true)
        .expect("a non-blocking listener");
    TcpListener::from_std(listener).expect("a tokio listener")
}

/// Binds `address` again (the system may hold it for a moment after it was closed).
async fn rebind(address: SocketAddr) -> TcpListener {
    for _ in 0..250 {
        if let Ok(listener) = TcpListener::bind(address).await {
            return listener;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the fault proxy could not bind {address} again");
}

/// One client connection: refused or black-holed under the fault it was taken with;
/// otherwise passed on, each answer held as long as the fault says when it comes.
async fn serve(mut client: TcpStream, upstream: SocketAddr, fault: Shared) {
    let (taken_with, generation) = *fault.borrow();
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
/// passing it on, and closes the connection (the SDK's retry opens another). The whole
/// request is read first (its headers and its `content-length`), so that the client
/// meets the answer, not a connection closed under its request.
async fn throttle(mut client: TcpStream) {
    let answer = format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: application/x-amz-json-1.0\r\n\
         x-amzn-requestid: throttled\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{THROTTLED}",
        THROTTLED.len()
    );
    if read_request(&mut client).await {
        let _ = client.write_all(answer.as_bytes()).await;
    }
    let _ = client.shutdown().await;
}

/// Reads one HTTP/1.1 request from `client`: its headers, then as many bytes as its
/// `content-length` says. Whether a whole request came.
async fn read_request(client: &mut TcpStream) -> bool {
    let mut request = Vec::new();
    let mut buffer = [0u8; 16 * 1024];
    loop {
        if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            let headers = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
            let length: usize = headers
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .and_then(|value| value.trim().parse().ok())
                .unwrap_or(0);
            if request.len() >= end + 4 + length {
                return true;
            }
        }
        match client.read(&mut buffer).await {
            Ok(0) | Err(_) => return false,
            Ok(read) => request.extend_from_slice(&buffer[..read]),
        }
    }
}
