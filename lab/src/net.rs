//! Running code inside a host's namespace: threads, a TCP server and client.

use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Moves the calling thread into the network namespace at `netns_path`; panics if it cannot.
pub fn enter_netns(netns_path: &str) {
    lb_l2::driver::enter_netns(netns_path).unwrap_or_else(|e| panic!("setns {netns_path}: {e}"));
}

/// Runs `f` on a new thread inside the namespace at `netns_path` (sockets it opens stay there).
pub fn in_netns<T: Send + 'static>(
    netns_path: String,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    std::thread::spawn(move || {
        enter_netns(&netns_path);
        f()
    })
}

/// Runs the future `f` makes to its end on a current-thread tokio runtime, on a new thread
/// inside the namespace at `netns_path`.
pub fn block_on_in_netns<F: Future<Output: Send + 'static>>(
    netns_path: String,
    f: impl FnOnce() -> F + Send + 'static,
) -> std::thread::JoinHandle<F::Output> {
    in_netns(netns_path, move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(f())
    })
}

/// How many threads of this process have a name starting with `prefix`.
pub fn threads_named(prefix: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|d| {
            d.filter_map(|t| t.ok())
                .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
                .filter(|name| name.starts_with(prefix))
                .count()
        })
        .unwrap_or(0)
}

/// A TCP server in the namespace at `netns_path` that answers every connection with `reply`, on
/// port 8080 of every address (`[::]` if `v6`, else `0.0.0.0`; a VIP arrives through the local
/// route), for `secs` seconds, so that the socket (and with it the namespace) goes away.
/// Connections are answered as soon as they are accepted (a blocking accept that wakes at least
/// every 100 ms to check the time). Returns once it listens.
pub fn tcp_server(netns_path: String, v6: bool, reply: &'static str, secs: u64) {
    let (tx, rx) = std::sync::mpsc::channel();
    in_netns(netns_path, move || {
        use std::io::Write;
        let addr = if v6 { "[::]:8080" } else { "0.0.0.0:8080" };
        let listener = std::net::TcpListener::bind(addr).expect("bind 8080");
        // accept(2) honours SO_RCVTIMEO on a listening socket.
        socket2::SockRef::from(&listener)
            .set_read_timeout(Some(Duration::from_millis(100)))
            .expect("accept timeout");
        tx.send(()).expect("ready");
        let end = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < end {
            if let Ok((mut conn, _)) = listener.accept() {
                let _ = conn.write_all(reply.as_bytes());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(5))
        .expect("server ready");
}

/// Connects from the namespace at `netns_path` to `ip:8080` and returns what the server says.
pub fn tcp_get(netns_path: String, ip: IpAddr) -> Option<String> {
    in_netns(netns_path, move || {
        use std::io::Read;
        let mut s =
            std::net::TcpStream::connect_timeout(&(ip, 8080).into(), Duration::from_secs(2))
                .ok()?;
        s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        Some(out)
    })
    .join()
    .ok()
    .flatten()
}
