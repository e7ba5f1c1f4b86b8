//! A real Redis server on 127.0.0.1 for the tests of the shared rate
//! limiter: Debian's `redis-server`, started on a free port with nothing
//! saved to disk, and killed when dropped.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to answer after it was started.
const STARTUP: Duration = Duration::from_secs(10);

/// A `redis-server` process of its own, listening on 127.0.0.1.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    args: Vec<String>,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a server on a free port, and returns once it answers.
    ///
    /// # Panics
    ///
    /// When `redis-server` is not installed, or does not answer within 10
    /// seconds.
    pub fn start() -> RedisServer {
        RedisServer::start_with(&[])
    }

    /// [`RedisServer::start`] with more arguments for `redis-server`, such
    /// as `["--requirepass", "secret"]`.
    pub fn start_with(args: &[&str]) -> RedisServer {
        let mut server = RedisServer {
            port: free_port(),
            args: args.iter().map(|arg| (*arg).to_owned()).collect(),
            child: None,
        };
        server.spawn();
        server
    }

    /// The URL of database 0, without a password.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server at once (SIGKILL), as a crash or a lost host
    /// would: everything it held is lost.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // It may have exited already; either way it is gone.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, empty, and returns once it
    /// answers; kills it first if it still runs.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    fn spawn(&mut self) {
        let port = self.port.to_string();
        let child = Command::new("redis-server")
            .args(["--port", &port, "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "cannot start redis-server ({error}): the shared rate limiter's tests need \
                     it on PATH; install Debian's `redis-server` package \
                     (apt-get install redis-server)"
                )
            });
        self.child = Some(child);
        let deadline = Instant::now() + STARTUP;
        while !answers(self.port) {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("redis-server on port {port} exited at start: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "redis-server on port {port} did not answer within {STARTUP:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A port nothing listens on now, as the system picks one.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("binding 127.0.0.1:0")
        .port()
}

/// Whether a server on `port` answers a PING: with `+PONG`, or with an
/// error asking for a password, which says it is up all the same.
fn answers(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut reply = [0; 1];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read(&mut reply).is_ok_and(|read| read == 1)
        && matches!(&reply, b"+" | b"-")
}
