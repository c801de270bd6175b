//! A TCP relay that puts a region's distance between a client and a node.
//!
//! Every chunk read on one side is written on the other half a round trip later (plus
//! jitter), in order. The first chunk a client sends on a new connection waits two round
//! trips more: the client's connect to the relay is instant on loopback, while to a
//! region it costs TCP's handshake, then TLS 1.3's, before the request can go. A lost
//! chunk (with probability `loss`) costs a retransmission timeout, as TCP never loses
//! bytes but resends them late.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Round trips a new connection pays before its first request: TCP's handshake and
/// TLS 1.3's.
pub const HANDSHAKE_ROUND_TRIPS: u32 = 2;

/// Linux's shortest retransmission timeout: what a lost segment costs at least.
const MIN_RETRANSMISSION_TIMEOUT: Duration = Duration::from_millis(200);

/// The path between the client's region and a node's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Link {
    /// The round trip between the two regions.
    pub round_trip: Duration,
    /// The most a chunk is delayed beyond half the round trip, drawn evenly each time.
    pub jitter: Duration,
    /// The probability (0..1) that a chunk is lost once and resent.
    pub loss: f64,
}

impl Link {
    /// A path with `round_trip`, no jitter and no loss.
    pub fn new(round_trip: Duration) -> Self {
        Self {
            round_trip,
            jitter: Duration::ZERO,
            loss: 0.0,
        }
    }

    /// How long a chunk sent now takes to cross one way.
    fn one_way(&self) -> Duration {
        let jitter = self.jitter.mul_f64(fastrand::f64());
        let resent = if self.loss > 0.0 && fastrand::f64() < self.loss {
            MIN_RETRANSMISSION_TIMEOUT.max(self.round_trip)
        } else {
            Duration::ZERO
        };
        self.round_trip / 2 + jitter + resent
    }
}

/// A running relay; it stops taking connections when dropped.
pub struct Relay {
    address: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    /// A relay on `listen` (port 0 picks a free one) in front of `upstream`.
    pub async fn start(listen: SocketAddr, upstream: SocketAddr, link: Link) -> io::Result<Self> {
        let listener = TcpListener::bind(listen).await?;
        let address = listener.local_addr()?;
        let task = tokio::spawn(accept(listener, upstream, link));
        Ok(Self { address, task })
    }

    /// Where the relay listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The relay's endpoint, `http://host:port`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How often a relay whose node refused it tries the node again.
const DOWN_PROBE_EVERY: Duration = Duration::from_millis(100);

/// Takes connections and relays each to `upstream`. A node that refuses the relay is
/// down: the connection just taken is closed unanswered, and the relay's own port is
/// closed (a client's connect is refused, as by the node) until the node takes a
/// connection again.
async fn accept(mut listener: TcpListener, upstream: SocketAddr, link: Link) {
    let Ok(address) = listener.local_addr() else {
        return;
    };
    loop {
        let Ok((client, _)) = listener.accept().await else {
            // Out of descriptors, say: try again shortly rather than spin.
            tokio::time::sleep(DOWN_PROBE_EVERY).await;
            continue;
        };
        let opened = Instant::now();
        match connect(upstream).await {
            Ok(node) => {
                tokio::spawn(relay(client, node, link, opened));
            }
            Err(_) => {
                drop((client, listener));
                while connect(upstream).await.is_err() {
                    tokio::time::sleep(DOWN_PROBE_EVERY).await;
                }
                listener = rebind(address).await;
            }
        }
    }
}

/// Connects to the node, giving up after a second (a node on this machine answers a
/// connect at once, or refuses it).
async fn connect(upstream: SocketAddr) -> io::Result<TcpStream> {
    tokio::time::timeout(Duration::from_secs(1), TcpStream::connect(upstream))
        .await
        .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into()))
}

/// Binds `address` again (the system may hold it for a moment after it was closed).
async fn rebind(address: SocketAddr) -> TcpListener {
    loop {
        if let Ok(listener) = TcpListener::bind(address).await {
            return listener;
        }
        tokio::time::sleep(DOWN_PROBE_EVERY).await;
    }
}

/// One connection, both ways: the client's first chunk after the handshakes.
async fn relay(client: TcpStream, node: TcpStream, link: Link, opened: Instant) {
    let _ = client.set_nodelay(true);
    let _ = node.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (node_read, node_write) = node.into_split();
    // The first request arrives after the handshakes, and its own half round trip.
    let first_request = opened + link.round_trip * HANDSHAKE_ROUND_TRIPS + link.round_trip / 2;
    tokio::join!(
        pump(client_read, node_write, link, first_request),
        pump(node_read, client_write, link, opened),
    );
}

/// Passes what `from` reads to `to`, each chunk `link.one_way()` after it was read and
/// none before `not_before`, in order; closes `to` as long after `from` closed (an empty
/// chunk marks the close).
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, link: Link, not_before: Instant) {
    let (sender, mut receiver) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let reader = async move {
        let mut buffer = vec![0u8; 64 * 1024];
        let mut last = not_before;
        loop {
            let read = from.read(&mut buffer).await.unwrap_or(0);
            // In order: a chunk never overtakes the one before it.
            last = last.max(Instant::now() + link.one_way());
            if sender.send((last, buffer[..read].to_vec())).is_err() || read == 0 {
                break;
            }
        }
    };
    let writer = async move {
        while let Some((due, chunk)) = receiver.recv().await {
            tokio::time::sleep_until(due).await;
            if chunk.is_empty() || to.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = to.shutdown().await;
    };
    tokio::join!(reader, writer);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An upstream that echoes what it reads.
    async fn echo() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buffer = [0u8; 1024];
                    while let Ok(read) = stream.read(&mut buffer).await {
                        if read == 0 || stream.write_all(&buffer[..read]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        address
    }

    /// How long one exchange of a byte takes on `stream`.
    async fn exchange(stream: &mut TcpStream) -> Duration {
        let started = Instant::now();
        stream.write_all(b"x").await.unwrap();
        let mut byte = [0u8; 1];
        stream.read_exact(&mut byte).await.unwrap();
        started.elapsed()
    }

    #[tokio::test]
    async fn a_new_connection_pays_three_round_trips_and_an_open_one_pays_one() {
        // GIVEN a relay at a 100 ms round trip in front of an echo
        let round_trip = Duration::from_millis(100);
        let relay = Relay::start(
            "127.0.0.1:0".parse().unwrap(),
            echo().await,
            Link::new(round_trip),
        )
        .await
        .unwrap();
        // WHEN a client connects and exchanges a byte, twice
        let mut stream = TcpStream::connect(relay.address()).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let first = exchange(&mut stream).await;
        let second = exchange(&mut stream).await;
        // THEN the first pays the handshakes, and the next one round trip
        let slack = Duration::from_millis(60);
        assert!(
            first >= round_trip * 3 && first < round_trip * 3 + slack,
            "{first:?}"
        );
        assert!(
            second >= round_trip && second < round_trip + slack,
            "{second:?}"
        );
    }

    #[tokio::test]
    async fn chunks_keep_their_order_under_jitter() {
        let link = Link {
            round_trip: Duration::from_millis(20),
            jitter: Duration::from_millis(15),
            loss: 0.2,
        };
        let relay = Relay::start("127.0.0.1:0".parse().unwrap(), echo().await, link)
            .await
            .unwrap();
        let mut stream = TcpStream::connect(relay.address()).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let sent: Vec<u8> = (0..=255u8).collect();
        for chunk in sent.chunks(16) {
            stream.write_all(chunk).await.unwrap();
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let mut back = vec![0u8; sent.len()];
        stream.read_exact(&mut back).await.unwrap();
        assert_eq!(back, sent);
    }

    #[tokio::test]
    async fn a_node_that_is_down_is_refused_until_it_comes_back() {
        // GIVEN a relay in front of a node that is down
        let node = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let upstream = node.local_addr().unwrap();
        drop(node);
        let relay = Relay::start(
            "127.0.0.1:0".parse().unwrap(),
            upstream,
            Link::new(Duration::ZERO),
        )
        .await
        .unwrap();
        // WHEN a client connects: its connection is closed unanswered
        let mut stream = TcpStream::connect(relay.address()).await.unwrap();
        let _ = stream.write_all(b"x").await;
        let mut answer = Vec::new();
        let read = stream.read_to_end(&mut answer).await;
        assert!(read.is_err() || answer.is_empty(), "{answer:?}");
        // THEN the next ones are refused, as by the node itself
        tokio::time::sleep(Duration::from_millis(50)).await;
        let refused = TcpStream::connect(relay.address()).await.unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);
        // AND once the node is back, connections pass again
        let node = TcpListener::bind(upstream).await.unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = node.accept().await {
                let _ = stream.write_all(b"up").await;
            }
        });
        let mut stream = loop {
            match TcpStream::connect(relay.address()).await {
                Ok(stream) => break stream,
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        };
        let mut answer = [0u8; 2];
        stream.read_exact(&mut answer).await.unwrap();
        assert_eq!(&answer, b"up");
    }
}
