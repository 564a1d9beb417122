//! The `learnstream` command line, shared by the binary and the end-to-end tests' copy of it
//! (tests that kill a process need a process of their own).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

use crate::{Config, LogConfig, LogFormat, Roles};

#[derive(Debug, Parser)]
#[command(
    name = "learnstream",
    version,
    about = "xAPI LRS: statements through Kafka into ClickHouse"
)]
struct Cli {
    /// TOML configuration file; `LEARNSTREAM_*` environment variables override it.
    #[arg(long, short, global = true, env = "LEARNSTREAM_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the LRS endpoints and the sink in one process (migrates first).
    Serve,
    /// Run only the LRS endpoints.
    Intake,
    /// Run only the sink: Kafka into ClickHouse (migrates first).
    Sink,
    /// Apply the ClickHouse migrations and exit.
    Migrate,
    /// Import a district's CSV files into ClickHouse (migrates first). Each import replaces
    /// the tenant's previous one.
    Import {
        #[command(subcommand)]
        what: Import,
    },
}

#[derive(Debug, Subcommand)]
enum Import {
    /// The alignment table: `activity_id,competency_id[,framework][,weight]`.
    Alignments {
        /// The tenant (as in `auth.credentials`) the alignments belong to.
        #[arg(long)]
        tenant: String,
        file: PathBuf,
    },
    /// A OneRoster 1.1 roster: `users.csv`, `classes.csv` and `enrollments.csv` in a directory.
    Roster {
        /// The tenant (as in `auth.credentials`) the roster belongs to.
        #[arg(long)]
        tenant: String,
        directory: PathBuf,
    },
}

/// The `learnstream` command line: parses arguments, sets up logging, metrics and signals, and
/// runs the chosen command until it finishes or a signal stops it.
pub async fn run_command_line() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::load(cli.config.as_deref())?;
    init_logging(&config.log)?;
    for name in Config::ignored_environment() {
        tracing::warn!(variable = %name, "environment variable names no configuration section (LEARNSTREAM_<SECTION>__<FIELD>); ignored");
    }
    let roles = match cli.command {
        Command::Serve => Roles::IntakeAndSink,
        Command::Intake => Roles::Intake,
        Command::Sink => Roles::Sink,
        Command::Migrate => {
            let validated = config.validate(false)?;
            let report = learnstream_store::migrate(&validated.config.clickhouse).await?;
            tracing::info!(
                applied = ?report.applied,
                already_applied = ?report.already_applied,
                "migrations done"
            );
            return Ok(());
        }
        Command::Import { what } => {
            let validated = config.validate(false)?;
            learnstream_store::migrate(&validated.config.clickhouse).await?;
            return import(&validated.config, what).await;
        }
    };
    let validated = config.validate(roles != Roles::Sink)?;
    let metrics = install_metrics()?;
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    let started = crate::start(validated, roles, Some(metrics), shutdown).await?;
    started.wait().await
}

async fn import(config: &Config, what: Import) -> anyhow::Result<()> {
    let store = learnstream_analytics::AnalyticsStore::new(&config.clickhouse);
    let read = |path: &std::path::Path, file: &'static str| -> anyhow::Result<String> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        Ok(learnstream_analytics::import::utf8_text(file, &bytes)?.to_owned())
    };
    match what {
        Import::Alignments { tenant, file } => {
            let alignments =
                learnstream_analytics::import::alignments(&read(&file, "alignments.csv")?)?;
            store.replace_alignments(&tenant, &alignments).await?;
            tracing::info!(tenant, alignments = alignments.len(), "alignments imported");
        }
        Import::Roster { tenant, directory } => {
            // All three files are read and checked before anything is stored.
            let users = learnstream_analytics::import::users(
                &read(&directory.join("users.csv"), "users.csv")?,
                &config.analytics.roster_account_home_page,
            )?;
            let classes = learnstream_analytics::import::classes(&read(
                &directory.join("classes.csv"),
                "classes.csv",
            )?)?;
            let enrollments = learnstream_analytics::import::enrollments(&read(
                &directory.join("enrollments.csv"),
                "enrollments.csv",
            )?)?;
            store.replace_users(&tenant, &users).await?;
            store.replace_classes(&tenant, &classes).await?;
            store.replace_enrollments(&tenant, &enrollments).await?;
            tracing::info!(
                tenant,
                users = users.len(),
                classes = classes.len(),
                enrollments = enrollments.len(),
                "roster imported"
            );
        }
    }
    Ok(())
}

fn init_logging(config: &LogConfig) -> anyhow::Result<()> {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.filter))
        .with_context(|| format!("log.filter: {:?} is not a valid filter", config.filter))?;
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match config.format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    Ok(())
}

/// The buckets of every `_seconds` histogram, from a millisecond to a minute: Prometheus
/// histograms (not summaries), so that latencies aggregate across processes and any quantile can
/// be computed over them.
const SECONDS_BUCKETS: [f64; 15] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

fn install_metrics() -> anyhow::Result<PrometheusHandle> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), &SECONDS_BUCKETS)
        .context("setting the buckets of the _seconds histograms")?
        .install_recorder()
        .context("installing the metrics recorder")?;
    learnstream_http::describe_metrics();
    learnstream_intake::describe_metrics();
    learnstream_sink::describe_metrics();
    learnstream_analytics::describe_metrics();
    // The process's own: CPU seconds, resident memory, open file descriptors, threads, start
    // time (`process_*`, as other Prometheus exporters name them), read every upkeep.
    let process = metrics_process::Collector::default();
    process.describe();
    process.collect();
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_secs(5));
        loop {
            interval.tick().await;
            process.collect();
            upkeep.run_upkeep();
        }
    });
    Ok(handle)
}

/// Cancels `shutdown` on SIGINT or SIGTERM: the HTTP server drains, the sink stores its batch.
async fn stop_on_signal(shutdown: CancellationToken) {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
    shutdown.cancel();
}
