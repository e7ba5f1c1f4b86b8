//! Turning SIGINT and SIGTERM into a graceful stop: the first asks the run
//! to stop (the requests in flight finish, every other record gets its line
//! as not sent), a second Ctrl-C ends the process at once.

use std::sync::{Arc, OnceLock};

use copper_bulk::Stopper;
use tokio::signal::unix::{Signal, SignalKind, signal};

/// Which signal stopped the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Received {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM.
    Terminate,
}

impl Received {
    /// The exit status of a process stopped by this signal, as shells
    /// report it: 128 plus the signal's number.
    pub fn exit_status(self) -> u8 {
        match self {
            Received::Interrupt => 130,
            Received::Terminate => 143,
        }
    }
}

/// Listens for SIGINT and SIGTERM from its creation on: from then, neither
/// kills the process at once.
pub struct Signals {
    interrupt: Signal,
    terminate: Signal,
    received: Arc<OnceLock<Received>>,
}

impl Signals {
    /// Starts listening. Call it within a tokio runtime.
    pub fn listen() -> std::io::Result<Self> {
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
            received: Arc::default(),
        })
    }

    /// The first signal received, once one was.
    pub fn received(&self) -> Arc<OnceLock<Received>> {
        self.received.clone()
    }

    /// Stops the run with `stopper` on the first signal, saying so on
    /// standard error with `stopping`; on a second SIGINT or SIGTERM, ends
    /// the process at once, leaving the journal to the next run.
    pub fn stop(mut self, stopper: Stopper, stopping: String) {
        tokio::spawn(async move {
            let first = self.next().await;
            let _ = self.received.set(first);
            eprintln!("copper-bulk: {stopping}");
            stopper.stop();
            let second = self.next().await;
            eprintln!("copper-bulk: stopped at once; the requests in flight may have been applied");
            std::process::exit(i32::from(second.exit_status()));
        });
    }

    async fn next(&mut self) -> Received {
        tokio::select! {
            _ = self.interrupt.recv() => Received::Interrupt,
            _ = self.terminate.recv() => Received::Terminate,
        }
    }
}
