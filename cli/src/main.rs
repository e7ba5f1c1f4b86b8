//! `copper-bulk`: send a file of changes to Copper's bulk endpoints, with
//! one outcome line per input record. See `copper-bulk --help`.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use copper_bulk::ops::{self, Operation};
use copper_bulk::{Config, Copper};
use copper_bulk_cli::input::{self, Format, InputRecord, Source};
use copper_bulk_cli::output::Summary;
use copper_bulk_cli::run::{self, Stop};
use copper_bulk_sandbox::{Sandbox, SandboxConfig};

/// Sends NDJSON or CSV records to Copper CRM's bulk endpoints and writes one
/// NDJSON line per input record saying what became of it.
///
/// Credentials come from COPPER_API_TOKEN (or --token-file) and
/// COPPER_USER_EMAIL (or --email); the base URL from --base-url or
/// COPPER_BASE_URL. With --sandbox, a local sandbox is started and no
/// credentials are needed.
///
/// Exit status: 0 when every record was applied; 1 when some were rejected,
/// invalid, unknown or not applied (the output is still complete); 2 for
/// usage or configuration errors (nothing was sent); 3 when the outcome
/// lines could not be written (records may have been applied: the message
/// says how many were); 4 when the input could not be read to its end
/// (every record read before has its line, the rest were not sent).
#[derive(Debug, Parser)]
#[command(name = "copper-bulk", version, max_term_width = 100)]
struct Cli {
    #[command(flatten)]
    options: Options,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct Options {
    /// Start an embedded sandbox and send to it instead of Copper.
    #[arg(long, global = true)]
    sandbox: bool,
    /// Where Copper's API is [env: COPPER_BASE_URL] [default: the public API].
    #[arg(long, global = true, value_name = "URL")]
    base_url: Option<String>,
    /// The e-mail of the token's owner [env: COPPER_USER_EMAIL].
    #[arg(long, global = true)]
    email: Option<String>,
    /// A file holding the access token (otherwise COPPER_API_TOKEN).
    #[arg(long, global = true, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Check the records and show the requests, without sending anything.
    #[arg(long, global = true)]
    dry_run: bool,
    /// Bulk requests per second (and 60 times as many per minute); 0 turns
    /// client-side rate limiting off. Copper refuses more than 3 a second.
    #[arg(long, global = true, value_name = "N", default_value_t = Config::COPPER_REQUESTS_PER_SECOND)]
    rate: u32,
    /// Records per request.
    #[arg(long, global = true, value_name = "N", default_value_t = Config::DEFAULT_BATCH_SIZE)]
    batch_size: usize,
    /// Requests in flight at once.
    #[arg(long, global = true, value_name = "N", default_value_t = Config::DEFAULT_CONCURRENCY)]
    concurrency: usize,
    /// No progress bar.
    #[arg(long, short, global = true)]
    quiet: bool,
    /// Log requests and retries on standard error (-v: retries, -vv: every request).
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Bulk operations on people.
    People {
        #[command(subcommand)]
        action: Action,
    },
    /// Bulk operations on leads.
    Leads {
        #[command(subcommand)]
        action: Action,
    },
    /// Bulk operations on companies.
    Companies {
        #[command(subcommand)]
        action: Action,
    },
    /// Bulk creates of opportunities (Copper has no bulk update of them).
    Opportunities {
        #[command(subcommand)]
        action: CreateOnly,
    },
    /// Bulk creates of activities (Copper has no bulk update of them).
    Activities {
        #[command(subcommand)]
        action: CreateOnly,
    },
    /// Run the sandbox server until interrupted, for pointing other code at.
    Sandbox(SandboxArgs),
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Update existing records: each names its record by `id` and carries
    /// only the fields to change (`null` clears a field).
    Update(Io),
    /// Create records.
    Create(Io),
}

#[derive(Debug, Subcommand)]
enum CreateOnly {
    /// Create records.
    Create(Io),
}

#[derive(Debug, Args)]
struct Io {
    /// The records: a file, or `-` for standard input.
    #[arg(long, short, value_name = "FILE")]
    input: String,
    /// How the records are written.
    #[arg(long, value_enum, default_value_t = Format::Ndjson)]
    format: Format,
    /// Where the outcome lines go (default: standard output).
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct SandboxArgs {
    /// The port on 127.0.0.1 to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Accept any number of requests per second.
    #[arg(long)]
    no_rate_limit: bool,
    /// How many people to seed, with ids 1 to N.
    #[arg(long, default_value_t = 100)]
    people: usize,
    /// The seed of the seeded people.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Milliseconds to wait before answering each request.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
}

/// A usage or configuration error: exit status 2.
struct Usage(String);

impl<E: std::fmt::Display> From<E> for Usage {
    fn from(error: E) -> Self {
        Usage(error.to_string())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.options.verbose > 0 {
        let level = match cli.options.verbose {
            1 => tracing_subscriber::filter::LevelFilter::WARN,
            2 => tracing_subscriber::filter::LevelFilter::INFO,
            _ => tracing_subscriber::filter::LevelFilter::DEBUG,
        };
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_max_level(level)
            .init();
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("copper-bulk: cannot start: {error}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(Usage(message)) => {
            eprintln!("copper-bulk: {message}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode, Usage> {
    match cli.command {
        Command::Sandbox(args) => serve_sandbox(args).await,
        Command::People { action } => match action {
            Action::Update(io) => bulk::<ops::PeopleUpdate>(&cli.options, &io).await,
            Action::Create(io) => bulk::<ops::PeopleCreate>(&cli.options, &io).await,
        },
        Command::Leads { action } => match action {
            Action::Update(io) => bulk::<ops::LeadsUpdate>(&cli.options, &io).await,
            Action::Create(io) => bulk::<ops::LeadsCreate>(&cli.options, &io).await,
        },
        Command::Companies { action } => match action {
            Action::Update(io) => bulk::<ops::CompaniesUpdate>(&cli.options, &io).await,
            Action::Create(io) => bulk::<ops::CompaniesCreate>(&cli.options, &io).await,
        },
        Command::Opportunities {
            action: CreateOnly::Create(io),
        } => bulk::<ops::OpportunitiesCreate>(&cli.options, &io).await,
        Command::Activities {
            action: CreateOnly::Create(io),
        } => bulk::<ops::ActivitiesCreate>(&cli.options, &io).await,
    }
}

/// Runs operation `O` over the input named by `io`.
async fn bulk<O>(options: &Options, io: &Io) -> Result<ExitCode, Usage>
where
    O: Operation,
    O::Record: InputRecord,
{
    if options.dry_run && options.batch_size == 0 {
        return Err(Usage("the batch size must be at least 1".into()));
    }
    // The input is opened once: a named pipe or standard input cannot be
    // read twice.
    let (reader, size) = Source::from_arg(&io.input).open()?;
    let mut summary = Summary::start(size, options.quiet);
    let started = input::read::<O::Record>(summary.track(reader), io.format)
        .and_then(|input| Ok((input, output(io.output.as_deref())?)));
    let (input, mut out) = match started {
        Ok(started) => started,
        Err(error) => {
            summary.clear();
            return Err(Usage(error));
        }
    };

    if options.dry_run {
        let batches =
            match run::dry_run::<O>(input, options.batch_size, &mut out, &mut summary).await {
                Ok(batches) => batches,
                Err(stop) => return Ok(stopped(stop, &summary, None)),
            };
        let invalid = summary.count("invalid");
        summary.clear();
        eprintln!(
            "copper-bulk: dry run: {} records, {invalid} invalid, {batches} requests of up to {} records; nothing was sent",
            summary.count("valid") + invalid,
            options.batch_size,
        );
        return Ok(if invalid == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }

    // The sandbox lives until the records are sent.
    let (config, _sandbox) = config(options).await?;
    let copper = Copper::new(config)?;
    let sent = run::send::<O>(&copper, input, &mut out, &mut summary).await;
    let applied = match O::KIND {
        ops::Kind::Update => "updated",
        ops::Kind::Create => "created",
    };
    if let Err(stop) = sent {
        return Ok(stopped(stop, &summary, Some(applied)));
    }
    eprintln!("copper-bulk: {}", summary.finish(applied));
    Ok(if summary.all_applied() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Where the outcome lines go: `path`, or standard output.
fn output(path: Option<&Path>) -> Result<Box<dyn Write>, String> {
    Ok(match path {
        Some(path) => Box::new(BufWriter::new(
            std::fs::File::create(path)
                .map_err(|e| format!("cannot create {}: {e}", path.display()))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    })
}

/// Reports a run that stopped before its end and gives its exit status: 3
/// when the output could not be written, 4 when the input could not be
/// read to its end. `applied` names applied records (`updated` or
/// `created`), or is `None` for a dry run, which sends nothing.
fn stopped(stop: Stop, summary: &Summary, applied: Option<&'static str>) -> ExitCode {
    match stop {
        Stop::Output(error) => {
            summary.clear();
            let so_far = match applied {
                None => "nothing was sent".to_owned(),
                // A request in flight when the run stopped may have landed.
                Some(_) => format!(
                    "{} records were applied before it, and the requests then in flight may have been applied too",
                    summary.applied()
                ),
            };
            eprintln!("copper-bulk: cannot write the output: {error}; {so_far}");
            ExitCode::from(3)
        }
        Stop::Input(error) => {
            match applied {
                Some(applied) => eprintln!("copper-bulk: {}", summary.finish(applied)),
                None => summary.clear(),
            }
            eprintln!(
                "copper-bulk: the input could not be read to its end: {error}; every record read before it has its line, the rest were not sent"
            );
            ExitCode::from(4)
        }
    }
}

/// The client settings from the options and the environment, and the
/// embedded sandbox when asked for.
async fn config(options: &Options) -> Result<(Config, Option<Sandbox>), Usage> {
    let (config, sandbox) = if options.sandbox {
        let limit = (options.rate > 0).then(|| (options.rate, Duration::from_secs(1)));
        let sandbox = Sandbox::start(
            SandboxConfig::new()
                .with_rate_limit(limit)
                .with_applied_log(false),
        )
        .await
        .map_err(|e| format!("cannot start the sandbox: {e}"))?;
        let config = Config::new(sandbox.config().token(), sandbox.config().user_email())?
            .with_base_url(sandbox.url())?;
        (config, Some(sandbox))
    } else {
        let token = match &options.token_file {
            Some(path) => std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read the token file {}: {e}", path.display()))?,
            None => std::env::var("COPPER_API_TOKEN").map_err(
                |_| "no access token: set COPPER_API_TOKEN or pass --token-file (or try --sandbox)",
            )?,
        };
        let email = match &options.email {
            Some(email) => email.clone(),
            None => std::env::var("COPPER_USER_EMAIL")
                .map_err(|_| "no user e-mail: set COPPER_USER_EMAIL or pass --email")?,
        };
        let mut config = Config::new(token.trim(), &email)?;
        if let Some(url) = options
            .base_url
            .clone()
            .or_else(|| std::env::var("COPPER_BASE_URL").ok())
        {
            config = config.with_base_url(&url)?;
        }
        (config, None)
    };
    let config = config.with_requests_per_second(options.rate);
    // The sandbox takes the rate it is given; Copper does not.
    if sandbox.is_none() && options.rate > Config::COPPER_REQUESTS_PER_SECOND {
        eprintln!(
            "copper-bulk: warning: --rate {} is above the {} bulk requests a second Copper accepts; it will refuse the excess with 429s, which are retried",
            options.rate,
            Config::COPPER_REQUESTS_PER_SECOND
        );
    }
    let config = config
        .with_batch_size(options.batch_size)?
        .with_concurrency(options.concurrency)?;
    Ok((config, sandbox))
}

async fn serve_sandbox(args: SandboxArgs) -> Result<ExitCode, Usage> {
    let limit = (!args.no_rate_limit).then(|| (3, Duration::from_secs(1)));
    let config = SandboxConfig::new()
        .with_rate_limit(limit)
        .with_seed(args.seed, args.people)
        .with_latency(Duration::from_millis(args.latency_ms))
        .with_applied_log(false);
    let sandbox = Sandbox::bind(config, ("127.0.0.1", args.port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", args.port))?;
    // The sandbox's own credentials guard nothing but the sandbox. Whoever
    // started it may stop reading its output; that must not stop it.
    let mut out = std::io::stdout();
    let _ = writeln!(out, "copper-bulk sandbox listening on {}", sandbox.url());
    let _ = writeln!(
        out,
        "try: COPPER_BASE_URL={} COPPER_API_TOKEN={} COPPER_USER_EMAIL={} copper-bulk people update --input FILE",
        sandbox.url(),
        sandbox.config().token(),
        sandbox.config().user_email()
    );
    let _ = out.flush();
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| format!("cannot wait for Ctrl-C: {e}"))?;
    Ok(ExitCode::SUCCESS)
}
