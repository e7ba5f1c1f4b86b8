//! `copper-bulk`: send a file of changes to Copper's bulk endpoints, with
//! one outcome line per input record. See `copper-bulk --help`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use copper_bulk::limiter::redis::{Account, RedisLimiter};
use copper_bulk::ops::{self, Operation, Upsert};
use copper_bulk::{Config, Copper, Match};
use copper_bulk_cli::input::{self, Format, Input, InputRecord, Skip, Source};
use copper_bulk_cli::journal::{Header, InputId, JournalFile, journal_path, resuming_path};
use copper_bulk_cli::limiter::Watched;
use copper_bulk_cli::output::{Output, Summary};
use copper_bulk_cli::resume::{self, Next};
use copper_bulk_cli::run::{self, Resume, Stop};
use copper_bulk_cli::signals::{Received, Signals};
use copper_bulk_sandbox::{Sandbox, SandboxConfig};

/// Sends NDJSON or CSV records to Copper CRM's bulk endpoints and writes one
/// NDJSON line per input record saying what became of it.
///
/// Credentials are an API key, from COPPER_API_TOKEN (or --token-file) and
/// COPPER_USER_EMAIL (or --email), or an OAuth 2.0 access token, from
/// COPPER_OAUTH_TOKEN (or --oauth-token-file); giving both kinds is a usage
/// error. The base URL comes from --base-url or COPPER_BASE_URL. With
/// --sandbox, a local sandbox is started and no credentials are needed.
///
/// With --output FILE and an input file, the tool keeps a journal beside
/// the output (FILE.journal). If the run is interrupted in any way (Ctrl-C,
/// SIGTERM, kill -9, a power cut), running the same command again with
/// --resume finishes the job: records settled are not sent again, and
/// records whose request may have reached Copper are looked up first
/// (creates) or sent again (updates, which set the same values twice).
/// Without --resume, an output that has a journal is never overwritten.
///
/// Copper's limits belong to the account, not to a process. Processes that
/// send for one account at once (a nightly sync beside an import started by
/// hand) share them with --limiter redis://HOST:PORT/DB: each request then
/// waits for a permit decided in Redis, on Redis's clock, for every process
/// of the account, and a 429 pauses them all. A Redis server that cannot be
/// reached at the start is a usage error; one lost during the run holds
/// every request back for --limiter-grace seconds, then the run stops, the
/// records not sent as not_applied (never sent without the shared limit).
///
/// Exit status: 0 when every record was applied; 1 when some were rejected,
/// invalid, not found, ambiguous, unknown or not applied (the output is
/// still complete); 2 for usage or configuration errors (nothing was sent),
/// including --resume against an input that changed and a --limiter server
/// that cannot be reached; 3 when the outcome lines or the journal
/// could not be written (records may have been applied: the message says
/// how many were); 4 when the input could not be read to its end (every
/// record read before has its line, the rest were not sent); 130 after
/// Ctrl-C (SIGINT) and 143 after SIGTERM: the requests in flight were
/// finished, every record has its line, the rest as not_applied. A second
/// Ctrl-C ends the tool at once, with status 130.
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
    /// The e-mail of the API key's owner [env: COPPER_USER_EMAIL].
    #[arg(long, global = true)]
    email: Option<String>,
    /// A file holding the API key (otherwise COPPER_API_TOKEN).
    #[arg(long, global = true, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// A file holding an OAuth 2.0 access token, instead of an API key
    /// (otherwise COPPER_OAUTH_TOKEN).
    #[arg(long, global = true, value_name = "FILE")]
    oauth_token_file: Option<PathBuf>,
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
    /// Seconds a request may take before it is given up on; a create
    /// whose request may have reached Copper is looked up no sooner than
    /// this long after it was sent.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = Config::DEFAULT_REQUEST_TIMEOUT.as_secs())]
    timeout: u64,
    /// Log requests and retries on standard error (-v: retries, -vv: every request).
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Share the account's rate limit with every process that names the
    /// same Redis server, redis://[:PASSWORD@]HOST:PORT/DB, and the same
    /// account [env: COPPER_BULK_LIMITER].
    #[arg(long, global = true, value_name = "URL")]
    limiter: Option<String>,
    /// Whose limit --limiter shares: the user's e-mail by default; an
    /// OAuth user names the account (any name, the same in every process
    /// of it) [env: COPPER_BULK_LIMITER_ACCOUNT].
    #[arg(long, global = true, value_name = "NAME")]
    limiter_account: Option<String>,
    /// Seconds requests wait for a lost --limiter server to come back
    /// before the run stops, every record not sent as not_applied.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = RedisLimiter::DEFAULT_OUTAGE_GRACE.as_secs())]
    limiter_grace: u64,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Bulk operations on people, matched by e-mail address with --match email.
    People {
        #[command(subcommand)]
        action: Matchable<ByEmail>,
    },
    /// Bulk operations on leads, matched by e-mail address with --match email.
    Leads {
        #[command(subcommand)]
        action: Matchable<ByEmail>,
    },
    /// Bulk operations on companies, matched by e-mail domain with --match
    /// email_domain.
    Companies {
        #[command(subcommand)]
        action: Matchable<ByDomain>,
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

/// The actions on an entity whose records can be matched by key `K`
/// (people, leads, companies).
#[derive(Debug, Subcommand)]
enum Matchable<K: Key> {
    /// Update existing records: each names its record by `id` and carries
    /// only the fields to change (`null` clears a field). With --match,
    /// records carry no id: each updates the record that holds its key,
    /// and one no record holds is `not_found`.
    Update(MatchableIo<K>),
    /// Create records.
    Create(Io),
    /// Update the record that holds each record's key, or create one when
    /// none does. Records are records to create (no id). A record without
    /// the key, or with a key an earlier record has, is `invalid`; one
    /// whose key several records hold is `ambiguous`, and nothing is sent
    /// for it.
    Upsert(UpsertIo<K>),
}

/// A key records can be matched by, as `--match` takes it: each entity's
/// command accepts only its own.
trait Key: clap::ValueEnum + Clone + Send + Sync + 'static {
    /// The key, as the library names it.
    fn by(&self) -> Match;
}

/// The keys of people and leads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum ByEmail {
    /// The e-mail addresses, without regard to case.
    Email,
}

impl Key for ByEmail {
    fn by(&self) -> Match {
        Match::Email
    }
}

/// The keys of companies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum ByDomain {
    /// The e-mail domain, without regard to case: Copper's unique key for
    /// companies.
    #[value(name = "email_domain")]
    EmailDomain,
}

impl Key for ByDomain {
    fn by(&self) -> Match {
        Match::EmailDomain
    }
}

#[derive(Debug, Args)]
struct MatchableIo<K: Key> {
    #[command(flatten)]
    io: Io,
    /// Find each record's Copper record by this key instead of by `id`.
    #[arg(long = "match", value_enum, value_name = "KEY")]
    by: Option<K>,
}

#[derive(Debug, Args)]
struct UpsertIo<K: Key> {
    #[command(flatten)]
    io: Io,
    /// What finds each record's Copper record.
    #[arg(long = "match", value_enum, value_name = "KEY")]
    by: K,
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
    /// Where the outcome lines go (default: standard output). A file gets
    /// a journal beside it, FILE.journal, for --resume.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Finish the job an earlier run of the same command left (the same
    /// input and --output FILE): send only what it did not settle. With no
    /// FILE yet, start from the beginning.
    #[arg(long)]
    resume: bool,
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
    /// Transit jitter: each request counts as arrived a random 0 to N
    /// milliseconds after it was received, before the rate limits see it,
    /// drawn from --seed.
    #[arg(long, value_name = "N", default_value_t = 0)]
    jitter_ms: u64,
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
        Command::People { action } => matchable::<ops::PeopleCreate, _>(&cli.options, action).await,
        Command::Leads { action } => matchable::<ops::LeadsCreate, _>(&cli.options, action).await,
        Command::Companies { action } => {
            matchable::<ops::CompaniesCreate, _>(&cli.options, action).await
        }
        Command::Opportunities {
            action: CreateOnly::Create(io),
        } => bulk::<ops::OpportunitiesCreate>(&cli.options, &io).await,
        Command::Activities {
            action: CreateOnly::Create(io),
        } => bulk::<ops::ActivitiesCreate>(&cli.options, &io).await,
    }
}

/// Runs an action on the entity of create operation `C`: its update or
/// its create, or either matched by key.
async fn matchable<C, K>(options: &Options, action: Matchable<K>) -> Result<ExitCode, Usage>
where
    C: Upsert,
    C::Record: InputRecord,
    <C::Update as Operation>::Record: InputRecord,
    K: Key,
{
    match action {
        Matchable::Update(MatchableIo { io, by: None }) => bulk::<C::Update>(options, &io).await,
        Matchable::Update(MatchableIo { io, by: Some(by) }) => {
            matched::<C>(options, &io, run::Matched::Update, by.by()).await
        }
        Matchable::Create(io) => bulk::<C>(options, &io).await,
        Matchable::Upsert(UpsertIo { io, by }) => {
            matched::<C>(options, &io, run::Matched::Upsert, by.by()).await
        }
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
    let source = Source::from_arg(&io.input);
    let job = Job::check(O::OPERATION, options, io, &source)?;
    // Credentials are settled before anything is written: a usage error
    // must leave no output or journal behind. The sandbox lives until the
    // records are sent.
    let client = if options.dry_run {
        given_credentials(options)?;
        None
    } else {
        Some(config(options).await?)
    };
    // The input is opened once: a named pipe or standard input cannot be
    // read twice.
    let (reader, size) = source.open()?;
    let mut summary = Summary::start(size, options.quiet);
    let reader = summary.track(reader);
    let started = start::<O::Record>(&job, reader, io.format, true);
    let (input, (mut out, resume, journal)) = match started {
        Ok(started) => started,
        Err(error) => {
            summary.clear();
            return Err(Usage(error));
        }
    };

    if options.dry_run {
        let batches =
            match run::dry_run::<O>(input, options.batch_size, out.writer(), &mut summary).await {
                Ok(batches) => batches,
                Err(stop) => return Ok(stopped(stop, &summary, None)),
            };
        if let Err(error) = out.finish() {
            return Ok(stopped(Stop::Output(error), &summary, None));
        }
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

    let (config, _sandbox, limiter) = client.expect("only a dry run has no client");
    let copper = Copper::new(config)?;
    let journal = journal
        .map(|path| JournalFile::<O>::append(&path))
        .transpose()?;
    let signals = Signals::listen().map_err(|e| format!("cannot listen for signals: {e}"))?;
    let received = signals.received();
    let stopping = "stopping: the requests in flight are finishing, then every record not sent gets its line as not_applied (Ctrl-C again to quit at once)".to_owned();
    let sent = run::send::<O>(
        &copper,
        input,
        resume,
        journal,
        out.writer(),
        &mut summary,
        |stopper| signals.stop(stopper, stopping),
    )
    .await;
    let sent = sent.and_then(|()| out.finish().map_err(Stop::Output));
    let applied = match O::KIND {
        ops::Kind::Update => "updated",
        ops::Kind::Create => "created",
    };
    if let Err(stop) = sent {
        return Ok(stopped(stop, &summary, Some(applied)));
    }
    eprintln!("copper-bulk: {}", summary.finish(applied));
    report_lost(limiter.as_deref(), &summary, next(&job));
    Ok(exit_status(received.get().copied(), &summary, next(&job)))
}

/// Says why the run stopped sending when the shared rate limiter was lost,
/// and what to do about the records it did not send.
fn report_lost(limiter: Option<&Watched>, summary: &Summary, next: &str) {
    if let Some(limiter) = limiter
        && let Some(lost) = limiter.lost()
    {
        eprintln!(
            "copper-bulk: the run stopped sending: {lost}; {} records applied, {} not sent; once {} answers again, {next}",
            summary.applied(),
            summary.count("not_applied"),
            limiter.display_url(),
        );
    }
}

/// The exit status of a run that wrote every line: the signal's when one
/// stopped it (saying so, and `next`, what to do about the rest), 0 when
/// every record was applied, 1 otherwise.
fn exit_status(signal: Option<Received>, summary: &Summary, next: &str) -> ExitCode {
    if let Some(signal) = signal {
        eprintln!(
            "copper-bulk: stopped by {}: {} records applied, {} not sent; {next}",
            match signal {
                Received::Interrupt => "Ctrl-C",
                Received::Terminate => "SIGTERM",
            },
            summary.applied(),
            summary.count("not_applied"),
        );
        return ExitCode::from(signal.exit_status());
    }
    if summary.all_applied() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Runs records of create operation `C` matched by key `by` over the
/// input named by `io`.
async fn matched<C>(
    options: &Options,
    io: &Io,
    matched: run::Matched,
    by: Match,
) -> Result<ExitCode, Usage>
where
    C: Upsert,
    C::Record: InputRecord,
{
    if options.dry_run {
        return Err(Usage("--dry-run is not available with --match yet".into()));
    }
    let source = Source::from_arg(&io.input);
    let job = Job::check(&matched.operation::<C>(by), options, io, &source)?;
    // Before anything is written, as for a run by id.
    let (config, _sandbox, limiter) = config(options).await?;
    let (reader, size) = source.open()?;
    let mut summary = Summary::start(size, options.quiet);
    let reader = summary.track(reader);
    // A resumed run reads every record, the ones settled before too: their
    // keys decide whether a later record is a duplicate.
    let started = start::<C::Record>(&job, reader, io.format, false);
    let (input, (mut out, resume, journal)) = match started {
        Ok(started) => started,
        Err(error) => {
            summary.clear();
            return Err(Usage(error));
        }
    };
    let copper = Copper::new(config)?;
    let journal = journal
        .map(|path| JournalFile::<C>::append(&path))
        .transpose()?;
    let signals = Signals::listen().map_err(|e| format!("cannot listen for signals: {e}"))?;
    let received = signals.received();
    let stopping = "stopping: the lookups and requests in flight are finishing, then every record not sent gets its line as not_applied (Ctrl-C again to quit at once)".to_owned();
    let sent = run::send_matched::<C>(
        &copper,
        input,
        matched,
        by,
        resume,
        journal,
        out.writer(),
        &mut summary,
        |stopper| signals.stop(stopper, stopping),
    )
    .await;
    let sent = sent.and_then(|()| out.finish().map_err(Stop::Output));
    if let Err(stop) = sent {
        return Ok(stopped(stop, &summary, Some("updated or created")));
    }
    eprintln!("copper-bulk: {}", summary.finish_matched());
    report_lost(limiter.as_deref(), &summary, next(&job));
    Ok(exit_status(received.get().copied(), &summary, next(&job)))
}

/// What to do about the records a stopped run did not send.
fn next(job: &Job) -> &'static str {
    if job.journaled {
        "run the same command with --resume to send the rest"
    } else {
        "the records not sent have their lines as not_applied"
    }
}

/// Opens the input and the output of `job`: when it resumes, the records
/// settled before are not even parsed (with `skip`), and a resumed job of
/// a million records is at its first request in seconds; otherwise the
/// output and its journal are created once the input proved readable (a
/// CSV header is checked first).
#[allow(clippy::type_complexity)]
fn start<R: InputRecord>(
    job: &Job,
    reader: Box<dyn std::io::Read + Send>,
    format: Format,
    skip: bool,
) -> Result<(Input<R>, (Output, Option<Resume>, Option<PathBuf>)), String> {
    if job.resume && !skip {
        return job.start().and_then(|started| {
            let input = input::read::<R>(reader, format)?;
            Ok((input, started))
        });
    }
    if job.resume {
        job.start().and_then(|started| {
            let skip = started.1.as_ref().map(|resume| {
                let mut plan = resume.plan.clone();
                Box::new(move |index| plan.next(index) == Next::Skip) as Skip
            });
            let input = input::read_skipping::<R>(reader, format, skip)?;
            Ok((input, started))
        })
    } else {
        input::read::<R>(reader, format).and_then(|input| Ok((input, job.start()?)))
    }
}

/// Where a run's lines go, and what it takes up from earlier runs.
struct Job {
    /// The output file, if any.
    output: Option<PathBuf>,
    /// The journal's header, when the run keeps one.
    header: Option<Header>,
    /// Whether the run resumes an earlier one.
    resume: bool,
    /// Whether the run keeps a journal.
    journaled: bool,
}

impl Job {
    /// Checks what the options ask of the files before anything is read:
    /// `--resume` needs an output file and an input file, and an output
    /// with a journal is taken up only with `--resume`.
    fn check(operation: &str, options: &Options, io: &Io, source: &Source) -> Result<Self, Usage> {
        let output = io.output.clone();
        let regular = |path: &Path| std::fs::metadata(path).map(|m| m.is_file());
        let journal = output.as_deref().map(journal_path);
        let has_journal = journal.as_deref().is_some_and(Path::exists);
        if io.resume {
            if options.dry_run {
                return Err(Usage(
                    "--resume sends records; it cannot be combined with --dry-run".into(),
                ));
            }
            if output.is_none() {
                return Err(Usage(
                    "--resume needs --output FILE: the earlier run's outcomes are read from it"
                        .into(),
                ));
            }
        } else if has_journal {
            let output = output
                .as_deref()
                .expect("a journal is beside an output")
                .display();
            return Err(Usage(format!(
                "{output} has a journal ({output}.journal): an earlier run of this job may not have finished; run the same command with --resume to finish it, or remove both files to start over"
            )));
        }
        let input_file = match source {
            Source::File(path) if regular(path).unwrap_or(false) => Some(path),
            _ => None,
        };
        let output_file = output
            .as_deref()
            .filter(|path| regular(path).unwrap_or(true));
        let journaled = !options.dry_run && input_file.is_some() && output_file.is_some();
        if io.resume && !journaled {
            return Err(Usage(
                "--resume needs the input in a file (not standard input or a pipe) and --output in a file: it checks that the input is the one the earlier run read".into(),
            ));
        }
        let header = match input_file {
            Some(path) if journaled => Some(Header::new(operation, InputId::of(path)?)),
            _ => None,
        };
        Ok(Job {
            output,
            header,
            resume: io.resume,
            journaled,
        })
    }

    /// Opens the output and, for a run that keeps a journal, folds what
    /// earlier runs left (resuming) or starts the journal. Returns the
    /// output, what to take up, and the journal to append to.
    fn start(&self) -> Result<(Output, Option<Resume>, Option<PathBuf>), String> {
        let (Some(output), Some(header)) = (self.output.as_deref(), &self.header) else {
            let out = match self.output.as_deref() {
                Some(path) => Output::create(path, None)?,
                None => Output::stdout(),
            };
            return Ok((out, None, None));
        };
        let journal = journal_path(output);
        if self.resume && journal.exists() {
            let earlier = Header::read(&journal)?;
            if earlier.operation != header.operation {
                return Err(format!(
                    "{} is the journal of {}, not of {}: resume it with the command that started it",
                    journal.display(),
                    earlier.operation,
                    header.operation
                ));
            }
            if earlier.input != header.input {
                return Err(format!(
                    "the input is not the one the run that wrote {} read (it was {} bytes long, it is {} now, or its content differs): resuming would match the outcomes to the wrong records; pass the same input, or remove {} and its journal to start over",
                    output.display(),
                    earlier.input.size,
                    header.input.size,
                    output.display()
                ));
            }
            let plan = resume::consolidate(output, header)?;
            eprintln!(
                "copper-bulk: resuming: {} records settled by earlier runs are kept, {} are sent again or looked up first",
                plan.len() - plan.pending(),
                plan.pending()
            );
            let earlier = std::fs::File::open(output)
                .map_err(|e| format!("cannot open {}: {e}", output.display()))?;
            let out = Output::create(&resuming_path(output), Some(output))?;
            let resume = Resume {
                plan,
                earlier: std::io::BufReader::new(earlier),
            };
            return Ok((out, Some(resume), Some(journal)));
        }
        if self.resume && output.exists() {
            return Err(format!(
                "{} has no journal beside it: nothing says which of its records were sent, so --resume cannot take it up; remove it to start over",
                output.display()
            ));
        }
        // The journal comes first: an output without one is never taken up.
        header.write_new(&journal, &[])?;
        let out = Output::create(output, None)?;
        Ok((out, None, Some(journal)))
    }
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
        Stop::Journal(error) => {
            summary.clear();
            eprintln!(
                "copper-bulk: cannot write the journal: {error}; the run stopped sending: {} records were applied, and the requests then in flight may have been applied too; every record has its line",
                summary.applied()
            );
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

/// The client settings from the options and the environment, the
/// embedded sandbox when asked for, and the limiter shared through Redis
/// when asked for (connected: a server that cannot be reached is a usage
/// error, before anything is written or sent).
async fn config(
    options: &Options,
) -> Result<(Config, Option<Sandbox>, Option<Arc<Watched>>), Usage> {
    let (config, sandbox) = if options.sandbox {
        let limit = (options.rate > 0).then(|| (options.rate, Duration::from_secs(1)));
        let sandbox = Sandbox::start(
            SandboxConfig::new()
                .with_rate_limit(limit)
                .with_applied_log(false),
        )
        .await
        .map_err(|e| format!("cannot start the sandbox: {e}"))?;
        // The sandbox is reached the way the credentials given would reach
        // Copper (with the sandbox's own secret), so that an OAuth user's
        // trial run takes the same path as the real one.
        let sandbox_config = sandbox.config();
        let config = match given_credentials(options)? {
            Some(given) if given.is_oauth() => {
                Config::oauth(sandbox_config.oauth_token().unwrap_or_default())?
            }
            _ => Config::new(sandbox_config.token(), sandbox_config.user_email())?,
        }
        .with_base_url(sandbox.url())?;
        (config, Some(sandbox))
    } else {
        let mut config = given_credentials(options)?.ok_or(
            "no credentials: set COPPER_API_TOKEN and COPPER_USER_EMAIL (or pass --token-file and --email), or COPPER_OAUTH_TOKEN (or pass --oauth-token-file); or try --sandbox",
        )?;
        if let Some(url) = options
            .base_url
            .clone()
            .or_else(|| std::env::var("COPPER_BASE_URL").ok())
        {
            config = config.with_base_url(&url)?;
        }
        (config, None)
    };
    let config = config.with_requests_per_second(options.rate).with_timeouts(
        Config::DEFAULT_CONNECT_TIMEOUT.min(Duration::from_secs(options.timeout.max(1))),
        Duration::from_secs(options.timeout.max(1)),
    );
    // The sandbox takes the rate it is given; Copper does not.
    if sandbox.is_none() && options.rate > Config::COPPER_REQUESTS_PER_SECOND {
        eprintln!(
            "copper-bulk: warning: --rate {} is above the {} bulk requests a second Copper accepts; it will refuse the excess with 429s, which are retried",
            options.rate,
            Config::COPPER_REQUESTS_PER_SECOND
        );
    }
    let mut config = config
        .with_batch_size(options.batch_size)?
        .with_concurrency(options.concurrency)?;
    let limiter = match shared_limiter(options, &config).await? {
        Some(limiter) => {
            config = config.with_limiter(limiter.clone());
            Some(limiter)
        }
        None => None,
    };
    Ok((config, sandbox, limiter))
}

/// The value of `flag`, or else of the environment variable `var`
/// ([`env_var`]).
fn flag_or_env(flag: Option<&String>, var: &str) -> Result<Option<String>, Usage> {
    match flag {
        Some(value) => Ok(Some(value.clone())),
        None => env_var(var),
    }
}

/// The limiter shared through the Redis server of `--limiter`, connected,
/// for the account of `config` (its user's e-mail at its base URL, or the
/// name `--limiter-account` gives); `None` without `--limiter`.
async fn shared_limiter(options: &Options, config: &Config) -> Result<Option<Arc<Watched>>, Usage> {
    let Some(url) = flag_or_env(options.limiter.as_ref(), "COPPER_BULK_LIMITER")? else {
        return Ok(None);
    };
    let named = flag_or_env(
        options.limiter_account.as_ref(),
        "COPPER_BULK_LIMITER_ACCOUNT",
    )?;
    let user = match (named, config.user_email()) {
        (Some(name), _) => name,
        (None, Some(email)) => email.to_owned(),
        (None, None) => {
            return Err(Usage(
                "--limiter with an OAuth access token needs --limiter-account (or COPPER_BULK_LIMITER_ACCOUNT): the token does not say whose account it is, and every process sharing the limit must name the same account".into(),
            ));
        }
    };
    let account = Account::new(config.base_url().as_str(), &user);
    let grace = Duration::from_secs(options.limiter_grace);
    Watched::connect(&url, account, config.rate_limits(), grace)
        .await
        .map(Some)
        .map_err(Usage)
}

/// A secret from a file (`flag` names the option) or else from the
/// environment variable `var`, with the name of where it came from; `None`
/// when neither is given. A variable set to nothing but spaces counts as
/// not given, as shells and CI templates often leave one; an empty file is
/// an error, since the user named it. The file's content and the
/// variable's value are never repeated in an error.
fn secret(
    path: Option<&PathBuf>,
    flag: &'static str,
    var: &'static str,
) -> Result<Option<(String, &'static str)>, Usage> {
    if let Some(path) = path {
        return std::fs::read_to_string(path)
            .map(|text| Some((text, flag)))
            .map_err(|e| format!("cannot read the {flag} {}: {e}", path.display()).into());
    }
    Ok(env_var(var)?.map(|value| (value, var)))
}

/// The environment variable `var`, a variable of nothing but spaces
/// counting as not set, as shells and CI templates often leave one.
fn env_var(var: &str) -> Result<Option<String>, Usage> {
    match std::env::var(var) {
        Ok(value) if value.trim().is_empty() => Ok(None),
        Ok(value) => Ok(Some(value)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(format!("{var} is not valid UTF-8").into()),
    }
}

/// The client settings for the credentials given, checked, or `None` when
/// neither an OAuth access token nor an API key is given: an OAuth access
/// token, or an API key and its owner's e-mail, never parts of both.
fn given_credentials(options: &Options) -> Result<Option<Config>, Usage> {
    let oauth = secret(
        options.oauth_token_file.as_ref(),
        "--oauth-token-file",
        "COPPER_OAUTH_TOKEN",
    )?;
    let key = secret(
        options.token_file.as_ref(),
        "--token-file",
        "COPPER_API_TOKEN",
    )?;
    let email = match &options.email {
        Some(email) => Some((email.clone(), "--email")),
        None => secret(None, "--email", "COPPER_USER_EMAIL")?,
    };
    if let Some((token, oauth_from)) = oauth {
        let mixed = key.as_ref().or(email.as_ref()).map(|(_, from)| *from);
        if let Some(api_key_part) = mixed {
            return Err(format!(
                "both an OAuth access token ({oauth_from}) and an API key's credentials ({api_key_part}) were given: give one kind only"
            )
            .into());
        }
        return Config::oauth(&token)
            .map(Some)
            .map_err(|e| format!("{e} (from {oauth_from})").into());
    }
    let Some((token, key_from)) = key else {
        return Ok(None);
    };
    let (email, email_from) =
        email.ok_or("no user e-mail: set COPPER_USER_EMAIL or pass --email")?;
    Config::new(&token, &email).map(Some).map_err(|e| {
        format!("{e} (the API key from {key_from}, the e-mail from {email_from})").into()
    })
}

async fn serve_sandbox(args: SandboxArgs) -> Result<ExitCode, Usage> {
    let limit = (!args.no_rate_limit).then(|| (3, Duration::from_secs(1)));
    let config = SandboxConfig::new()
        .with_rate_limit(limit)
        .with_seed(args.seed, args.people)
        .with_latency(Duration::from_millis(args.latency_ms))
        .with_jitter(Duration::from_millis(args.jitter_ms))
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
    if let Some(token) = sandbox.config().oauth_token() {
        let _ = writeln!(
            out,
            "or, with OAuth: COPPER_BASE_URL={} COPPER_OAUTH_TOKEN={token} copper-bulk people update --input FILE",
            sandbox.url(),
        );
    }
    let _ = out.flush();
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| format!("cannot wait for Ctrl-C: {e}"))?;
    Ok(ExitCode::SUCCESS)
}
