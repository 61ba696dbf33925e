//! An lb-arp or lb-ndp driver running on its own thread inside a host's namespace, as the
//! Layer 2 labs start one per node.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use lb_l2::driver::{self, DriverConfig, Handle, Sockets};
use lb_l2::responder::{Config, EventOf};

use crate::net::enter_netns;

/// A driver ([`lb_l2::driver`] with responder `R`) on its own thread, in its own current-thread
/// runtime, inside a network namespace; its events are forwarded to [`L2Host::wait_event`].
/// Dropping it shuts the driver down and joins the thread.
pub struct L2Host<P: Sockets> {
    /// The running driver.
    pub handle: Handle<P>,
    events: mpsc::Receiver<EventOf<P>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl<P: Sockets> L2Host<P> {
    /// Starts the driver in the namespace at `netns_path` (`/run/netns/NAME`); panics if it
    /// does not come up within 10 s.
    pub fn start(netns_path: String, config: DriverConfig<Config<P>>) -> L2Host<P> {
        let (ready_tx, ready_rx) = mpsc::channel();
        let (event_tx, events) = mpsc::channel();
        let (stop, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            enter_netns(&netns_path);
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap_or_else(|e| panic!("runtime: {e}"));
            rt.block_on(async move {
                let handle = driver::spawn::<P>(config)
                    .await
                    .unwrap_or_else(|e| panic!("driver starts: {e}"));
                let mut rx = handle.events();
                let _ = ready_tx.send(handle.clone());
                loop {
                    tokio::select! {
                        e = rx.recv() => match e {
                            Ok(e) => { let _ = event_tx.send(e); }
                            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                            Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                        },
                        _ = &mut stop_rx => break,
                    }
                }
                handle.shutdown().await;
            });
        });
        let handle = ready_rx
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("driver ready: {e}"));
        L2Host {
            handle,
            events,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The first event `want` accepts within `timeout` (others are consumed), if any.
    pub fn wait_event(
        &self,
        timeout: Duration,
        mut want: impl FnMut(&EventOf<P>) -> bool,
    ) -> Option<EventOf<P>> {
        let end = Instant::now() + timeout;
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            match self.events.recv_timeout(left) {
                Ok(e) if want(&e) => return Some(e),
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
        None
    }
}

impl<P: Sockets> Drop for L2Host<P> {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
