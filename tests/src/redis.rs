//! A real Redis server on 127.0.0.1 for the tests of the shared rate
//! limiter: Debian's `redis-server`, started on a free port with nothing
//! saved to disk, and killed when dropped.
//!
//! A free port is only free when it is asked for: a test running alongside
//! may take it before the server binds it. So a server counts as started
//! only when the process answering on its port is its own (`INFO server`
//! names the process), and is started again on another port when not.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to answer after it was started.
const STARTUP: Duration = Duration::from_secs(10);
/// How many times a server is started before a test gives up on it.
const ATTEMPTS: usize = 5;

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
    /// seconds, five times over.
    pub fn start() -> RedisServer {
        RedisServer::start_with(&[])
    }

    /// [`RedisServer::start`] with more arguments for `redis-server`, such
    /// as `["--requirepass", "secret"]`.
    pub fn start_with(args: &[&str]) -> RedisServer {
        let mut failures = Vec::new();
        for _ in 0..ATTEMPTS {
            match RedisServer::start_at(free_port(), args) {
                Ok(server) => return server,
                Err(why) => failures.push(why),
            }
        }
        panic!("cannot start redis-server: {}", failures.join("; "))
    }

    /// Starts a server on `port`, and returns once it answers; fails,
    /// saying why, when the server exits at start (the port is taken) or
    /// another process answers on the port.
    ///
    /// # Panics
    ///
    /// When `redis-server` is not installed.
    pub fn start_at(port: u16, args: &[&str]) -> Result<RedisServer, String> {
        let mut server = RedisServer {
            port,
            args: args.iter().map(|arg| (*arg).to_owned()).collect(),
            child: None,
        };
        server.spawn()?;
        Ok(server)
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

    /// Stops the server (SIGSTOP) without closing anything: its connections
    /// stay open and nothing answers on them, as on a host that froze.
    /// Killing or dropping it ends it all the same.
    pub fn stop(&self) {
        let child = self.child.as_ref().expect("the server is not running");
        let status = Command::new("kill")
            .args(["-STOP", &child.id().to_string()])
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -STOP {}: {status}", child.id());
    }

    /// Starts the server again on the same port, empty, and returns once it
    /// answers; kills it first if it still runs.
    ///
    /// # Panics
    ///
    /// When it cannot start five times over: the port must stay the same,
    /// for the clients that knew it, so it waits for a port someone else
    /// took to be let go rather than moving.
    pub fn restart(&mut self) {
        self.kill();
        let mut failures = Vec::new();
        for _ in 0..ATTEMPTS {
            match self.spawn() {
                Ok(()) => return,
                Err(why) => failures.push(why),
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("cannot restart redis-server: {}", failures.join("; "))
    }

    fn spawn(&mut self) -> Result<(), String> {
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
        let pid = child.id();
        self.child = Some(child);
        let deadline = Instant::now() + STARTUP;
        let failure = loop {
            // Whoever answers is asked who it is: a server of another test
            // that took the port answers as well as this one would.
            if let Some(answering) = answering_pid(self.port, self.password()) {
                if answering == pid {
                    return Ok(());
                }
                break format!("port {port} is taken by another redis-server (pid {answering})");
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                break format!(
                    "redis-server on port {port} exited at start ({status}), the port taken"
                );
            }
            if Instant::now() >= deadline {
                break format!("redis-server on port {port} did not answer within {STARTUP:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        self.kill();
        Err(failure)
    }

    /// The password the server was started with (`--requirepass`), if any.
    fn password(&self) -> Option<&str> {
        let at = self.args.iter().position(|arg| arg == "--requirepass")?;
        self.args.get(at + 1).map(String::as_str)
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

/// The process id of the Redis server answering on `port`, from its answer
/// to `INFO server`; `None` while nothing answers, or nothing that takes
/// `password`.
fn answering_pid(port: u16, password: Option<&str>) -> Option<u32> {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
    let auth = password.map_or(String::new(), |password| format!("AUTH {password}\r\n"));
    // QUIT has the server close the connection once it has answered, so
    // the whole answer is read without knowing its length.
    stream
        .write_all(format!("{auth}INFO server\r\nQUIT\r\n").as_bytes())
        .ok()?;
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    reply
        .lines()
        .find_map(|line| line.strip_prefix("process_id:"))?
        .trim()
        .parse()
        .ok()
}
