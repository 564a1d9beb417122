//! The `learnstream` binary's wiring: from a validated [`Config`] to running processes. What
//! flows in is configuration and a shutdown signal; what comes out is an HTTP listener (the LRS,
//! or for a lone sink only health and metrics) and a sink task, both stopping cleanly on
//! shutdown.
//!
//! [`run_command_line`] (`command.rs`) parses arguments, sets up logging and signals, and calls
//! [`start`]; the end-to-end tests call [`start`] the same way, or run the command line as a
//! process of their own.

mod command;
mod config;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use learnstream_analytics::{AnalyticsState, AnalyticsStore, MasteryPublisher};
use learnstream_intake::{
    AppState, AppStateParts, Coalescer, ConnectionLimits, KnownIds, Progress, StoreGate,
};
use learnstream_kafka::DurableProducer;
use learnstream_store::StatementStore;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use command::run_command_line;
pub use config::{Config, LogConfig, LogFormat, ValidatedConfig};

/// Which parts of learnstream a process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Roles {
    /// The LRS endpoints and the sink, in one process: the default on one machine.
    IntakeAndSink,
    /// The LRS endpoints only.
    Intake,
    /// The sink only, with `/health` and `/metrics` on the HTTP listener.
    Sink,
}

impl Roles {
    fn intake(self) -> bool {
        matches!(self, Roles::IntakeAndSink | Roles::Intake)
    }

    fn sink(self) -> bool {
        matches!(self, Roles::IntakeAndSink | Roles::Sink)
    }
}

/// A started process.
#[derive(Debug)]
pub struct Started {
    /// Where the HTTP listener is bound (useful when the configuration asked for port 0).
    pub http_address: SocketAddr,
    tasks: JoinSet<anyhow::Result<()>>,
}

impl Started {
    /// Waits until every part has stopped (after shutdown, or when one fails).
    pub async fn wait(mut self) -> anyhow::Result<()> {
        while let Some(joined) = self.tasks.join_next().await {
            joined.context("a learnstream task panicked")??;
        }
        Ok(())
    }
}

/// Prepares the services (migrations for the sink, topics for everyone) and starts the roles.
pub async fn start(
    validated: ValidatedConfig,
    roles: Roles,
    metrics: Option<PrometheusHandle>,
    shutdown: CancellationToken,
) -> anyhow::Result<Started> {
    let ValidatedConfig {
        config,
        credentials,
    } = validated;
    if roles.sink() {
        let report = learnstream_store::migrate(&config.clickhouse)
            .await
            .context("applying clickhouse migrations")?;
        tracing::info!(applied = ?report.applied, "clickhouse schema is current");
    }
    learnstream_kafka::ensure_topics(&config.kafka)
        .await
        .context("creating kafka topics")?;
    let store = StatementStore::new(&config.clickhouse);
    let analytics_store = AnalyticsStore::new(&config.clickhouse);
    let analytics_config = Arc::new(config.analytics.clone());

    let mastery_publisher = if roles.sink() && config.analytics.mastery_events {
        Some(MasteryPublisher::new(
            analytics_store.clone(),
            DurableProducer::new(&config.kafka).context("creating the mastery event producer")?,
            config.kafka.mastery_topic.clone(),
            Arc::clone(&analytics_config),
        ))
    } else {
        None
    };
    let mut on_stored: Option<learnstream_sink::OnStored> = None;
    let sink_readiness = learnstream_sink::SinkReadiness::default();
    let readiness: Option<learnstream_http::Readiness> = roles.sink().then(|| {
        let sink_readiness = sink_readiness.clone();
        learnstream_http::Readiness::new(move || sink_readiness.not_ready())
    });
    let router = if roles.intake() {
        let credentials = credentials.context("serving the LRS needs validated credentials")?;
        let progress = Progress::start(&config.kafka, &config.sink.group_id, &config.consistency)
            .context("starting the sink progress watcher")?;
        if roles.sink() {
            let progress = progress.clone();
            on_stored = Some(Arc::new(move |partition, next_offset| {
                progress.stored_below(partition, next_offset);
            }));
        }
        let known_ids = KnownIds::start(
            &config.kafka,
            &config.sink.group_id,
            store.clone(),
            config.http.known_ids_max_mib,
        )
        .context("starting the filter of known statement ids")?;
        let district = learnstream_analytics::router(AnalyticsState {
            store: analytics_store,
            statements: store.clone(),
            credentials: credentials.clone(),
            config: analytics_config,
            max_import_bytes: config.http.max_import_bytes,
            body_read_timeout: config.http.body_read_timeout(),
            cors_allowed_origins: config.http.cors_allowed_origins.clone(),
        });
        let lrs = learnstream_intake::router(AppState::new(AppStateParts {
            coalescer: Coalescer::start(
                DurableProducer::new(&config.kafka).context("creating kafka producer")?,
                config.kafka.statements_topic.clone(),
                &config.intake,
                config.kafka.max_message_bytes,
            ),
            progress,
            store: store.clone(),
            store_gate: StoreGate::start(&config.http, store.clone(), known_ids),
            credentials,
            max_body_bytes: config.http.max_body_bytes,
            body_read_timeout: config.http.body_read_timeout(),
            cors_allowed_origins: config.http.cors_allowed_origins.clone(),
            metrics,
            readiness,
        }));
        // The district API's document is the base: its title, security and tags frame the
        // LRS's routes too.
        learnstream_analytics::serve_document(
            district.merge(lrs),
            &config.http.cors_allowed_origins,
        )
    } else {
        learnstream_http::ops_router(metrics, readiness)
            .split_for_parts()
            .0
    };
    let listener = tokio::net::TcpListener::bind(config.http.listen)
        .await
        .with_context(|| format!("binding {}", config.http.listen))?;
    let http_address = listener.local_addr()?;
    tracing::info!(%http_address, ?roles, "listening");

    let limits = ConnectionLimits::from(&config.http);
    let mut tasks = JoinSet::new();
    let http_shutdown = shutdown.clone();
    tasks.spawn(async move {
        learnstream_intake::serve(listener, router, limits, http_shutdown)
            .await
            .context("http server")
    });
    if let Some(publisher) = mastery_publisher {
        let follower_shutdown = shutdown.clone();
        let kafka = config.kafka.clone();
        let sink_group = config.sink.group_id.clone();
        let analytics = config.analytics.clone();
        tasks.spawn(async move {
            learnstream_analytics::follow(
                &kafka,
                &sink_group,
                &analytics,
                publisher,
                follower_shutdown,
            )
            .await
            .context("mastery follower")
        });
    }
    if roles.sink() {
        let sink_shutdown = shutdown.clone();
        tasks.spawn(async move {
            let outcome = learnstream_sink::run(
                &config.kafka,
                &config.sink,
                store,
                on_stored,
                sink_readiness,
                sink_shutdown,
            )
            .await;
            outcome.context("sink")
        });
    }
    Ok(Started {
        http_address,
        tasks,
    })
}
