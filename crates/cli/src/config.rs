//! The one configuration tree: defaults, then a TOML file, then `LEARNSTREAM_*` environment
//! variables (`LEARNSTREAM_KAFKA__BROKERS=…`: a double underscore separates the levels),
//! validated once at start-up.

use std::path::Path;

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use learnstream_analytics::AnalyticsConfig;
use learnstream_http::{AuthConfig, Credentials};
use learnstream_intake::{CoalesceConfig, ConsistencyConfig, HttpConfig};
use learnstream_kafka::KafkaConfig;
use learnstream_sink::SinkConfig;
use learnstream_store::ClickHouseConfig;
use serde::Deserialize;

/// Everything learnstream can be told.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The LRS's HTTP endpoint.
    pub http: HttpConfig,
    /// Credentials for the xAPI endpoints.
    pub auth: AuthConfig,
    /// How the intake groups concurrent requests into Kafka messages.
    pub intake: CoalesceConfig,
    /// How long read-your-writes requests wait for the sink, and how the intake watches it.
    pub consistency: ConsistencyConfig,
    /// The Kafka cluster and topics.
    pub kafka: KafkaConfig,
    /// The ClickHouse server and database.
    pub clickhouse: ClickHouseConfig,
    /// Batching and retries of the sink.
    pub sink: SinkConfig,
    /// Mastery, engagement and the mastery events.
    pub analytics: AnalyticsConfig,
    /// Logging.
    pub log: LogConfig,
}

/// Logging.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A `tracing` filter, e.g. `info` or `learnstream_sink=debug,info`. `RUST_LOG` wins if set.
    pub filter: String,
    /// `text` for people, `json` for log pipelines.
    pub format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            filter: "info".to_owned(),
            format: LogFormat::Text,
        }
    }
}

/// A [`Config`] that passed validation, with what validation derived from it.
#[derive(Debug, Clone)]
pub struct ValidatedConfig {
    pub config: Config,
    /// The credentials, checked; `None` for commands that serve no HTTP.
    pub credentials: Option<Credentials>,
}

impl Config {
    /// Reads the file (if given) and the environment over the defaults.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
        let mut figment = Figment::new();
        if let Some(path) = path {
            anyhow::ensure!(
                path.exists(),
                "config file {} does not exist",
                path.display()
            );
            figment = figment.merge(Toml::file_exact(path));
        }
        figment = figment.merge(
            Env::prefixed("LEARNSTREAM_")
                .filter(|key| is_config_variable(key.as_str()))
                .split("__"),
        );
        figment
            .extract()
            .map_err(|error| anyhow::anyhow!("configuration: {error}"))
    }

    /// The `LEARNSTREAM_*` environment variables that name no section of the configuration and
    /// so configure nothing: `LEARNSTREAM_CONFIG` (the file's path, which the command line reads)
    /// is not among them; anything else is worth a warning, since a typo in a section's name
    /// would otherwise go unnoticed.
    pub fn ignored_environment() -> Vec<String> {
        std::env::vars_os()
            .filter_map(|(name, _)| name.into_string().ok())
            .filter(|name| {
                name.strip_prefix("LEARNSTREAM_").is_some_and(|key| {
                    !is_config_variable(key) && !NOT_CONFIGURATION.contains(&key)
                })
            })
            .collect()
    }

    /// Checks every section; `needs_http` also demands valid credentials.
    pub fn validate(self, needs_http: bool) -> anyhow::Result<ValidatedConfig> {
        let checks = [
            self.http.validate(),
            self.kafka.validate(),
            self.clickhouse.validate(),
            self.sink.validate(),
            self.intake.validate(),
            self.consistency.validate(),
            self.analytics.validate(),
        ];
        for check in checks {
            check.map_err(|error| anyhow::anyhow!("configuration: {error}"))?;
        }
        for (index, origin) in self.http.cors_allowed_origins.iter().enumerate() {
            let valid = origin == "*"
                || ((origin.starts_with("https://") || origin.starts_with("http://"))
                    && !origin.ends_with('/')
                    && axum::http::HeaderValue::from_str(origin).is_ok());
            anyhow::ensure!(
                valid,
                "configuration: http.cors_allowed_origins[{index}]: {origin:?} must be * or an origin such as https://content.example.org"
            );
        }
        if self.http.max_body_bytes >= self.kafka.max_message_bytes {
            anyhow::bail!(
                "configuration: http.max_body_bytes ({}) must be below kafka.max_message_bytes ({}): one request travels as one message",
                self.http.max_body_bytes,
                self.kafka.max_message_bytes
            );
        }
        if self.intake.max_message_bytes >= self.kafka.max_message_bytes {
            anyhow::bail!(
                "configuration: intake.max_message_bytes ({}) must be below kafka.max_message_bytes ({})",
                self.intake.max_message_bytes,
                self.kafka.max_message_bytes
            );
        }
        let credentials = if needs_http {
            let credentials = Credentials::from_config(&self.auth, &self.http.public_url)
                .map_err(|error| anyhow::anyhow!("configuration: {error}"))?;
            Some(credentials)
        } else {
            None
        };
        Ok(ValidatedConfig {
            config: self,
            credentials,
        })
    }
}

/// The sections of [`Config`], as an environment variable names them.
const SECTIONS: [&str; 9] = [
    "http",
    "auth",
    "intake",
    "consistency",
    "kafka",
    "clickhouse",
    "sink",
    "analytics",
    "log",
];

/// `LEARNSTREAM_*` variables that are not configuration: the file's path (read by the command
/// line), and the local scripts' settings.
const NOT_CONFIGURATION: [&str; 5] = [
    "CONFIG",
    "DATA_DIR",
    "KAFKA_PORT",
    "CLICKHOUSE_PORT",
    "CLICKHOUSE_TCP_PORT",
];

/// Whether `LEARNSTREAM_{key}` sets a field: `SECTION__FIELD`, with a section of [`Config`].
fn is_config_variable(key: &str) -> bool {
    key.split_once("__").is_some_and(|(section, _)| {
        SECTIONS
            .iter()
            .any(|known| known.eq_ignore_ascii_case(section))
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(text.as_bytes()).unwrap();
        file
    }

    #[test]
    #[allow(
        clippy::result_large_err,
        reason = "figment::Jail's closure returns figment::Error"
    )]
    fn the_file_overrides_defaults_and_the_environment_overrides_the_file() {
        let config_file = file(
            "[kafka]\nbrokers = \"kafka-1:9092\"\npartitions = 12\n[[auth.credentials]]\nusername = \"v\"\npassword = \"p\"\n",
        );
        figment::Jail::expect_with(|jail| {
            jail.set_env("LEARNSTREAM_KAFKA__BROKERS", "kafka-2:9092");
            jail.set_env("LEARNSTREAM_SINK__MAX_BATCH_ROWS", "7");
            let config = Config::load(Some(config_file.path())).unwrap();
            assert_eq!(config.kafka.brokers, "kafka-2:9092");
            assert_eq!(config.kafka.partitions, 12);
            assert_eq!(config.sink.max_batch_rows, 7);
            assert_eq!(config.clickhouse.database, "learnstream");
            let validated = config.validate(true).unwrap();
            assert!(validated.credentials.is_some());
            Ok(())
        });
    }

    #[test]
    #[allow(
        clippy::result_large_err,
        reason = "figment::Jail's closure returns figment::Error"
    )]
    fn variables_that_name_no_section_configure_nothing_and_stop_nothing() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("LEARNSTREAM_CONFIG", "/etc/learnstream.toml");
            jail.set_env("LEARNSTREAM_DATA_DIR", "/tmp");
            jail.set_env("LEARNSTREAM_TYPO", "1");
            jail.set_env("LEARNSTREAM_KAFKA__BROKERS", "kafka-9:9092");
            let config = Config::load(None).unwrap();
            assert_eq!(config.kafka.brokers, "kafka-9:9092");
            let ignored = Config::ignored_environment();
            assert!(
                ignored.contains(&"LEARNSTREAM_TYPO".to_owned()),
                "{ignored:?}"
            );
            assert!(!ignored.iter().any(|name| name == "LEARNSTREAM_CONFIG"));
            assert!(!ignored.iter().any(|name| name == "LEARNSTREAM_DATA_DIR"));
            jail.set_env("LEARNSTREAM_KAFKA__BROKER", "typo:9092");
            let error = Config::load(None).unwrap_err().to_string();
            assert!(
                error.contains("broker"),
                "a typo within a section is named: {error}"
            );
            Ok(())
        });
    }

    #[test]
    fn the_local_configuration_is_valid_and_uses_static_membership() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/learnstream.local.toml");
        let config = Config::load(Some(&path)).unwrap();
        assert!(
            config.sink.instance_id.is_some(),
            "a restarted local sink must get its partitions back at once"
        );
        assert!(config.validate(true).is_ok());
    }

    #[test]
    fn unknown_fields_are_refused_by_name() {
        let config_file = file("[kafka]\nbroker = \"typo:9092\"\n");
        let error = Config::load(Some(config_file.path()))
            .unwrap_err()
            .to_string();
        assert!(error.contains("broker"), "{error}");
    }

    #[test]
    fn serving_without_credentials_is_refused() {
        let error = Config::default().validate(true).unwrap_err().to_string();
        assert_eq!(
            error,
            "configuration: auth.credentials: at least one credential is required"
        );
        assert!(Config::default().validate(false).is_ok());
    }

    #[test]
    fn a_body_limit_above_the_message_limit_is_refused() {
        let mut config = Config::default();
        config.http.max_body_bytes = config.kafka.max_message_bytes;
        let error = config.validate(false).unwrap_err().to_string();
        assert!(error.contains("http.max_body_bytes"), "{error}");
    }

    #[test]
    fn cors_origins_are_origins() {
        let mut config = Config::default();
        config.http.cors_allowed_origins = vec![
            "https://content.vendor.example".to_owned(),
            "content.vendor.example/".to_owned(),
        ];
        let error = config.clone().validate(false).unwrap_err().to_string();
        assert!(error.contains("http.cors_allowed_origins[1]"), "{error}");
        config.http.cors_allowed_origins.pop();
        assert!(config.validate(false).is_ok());
    }

    #[test]
    fn secrets_do_not_print() {
        let config_file = file(
            "[clickhouse]\npassword = \"hunter2\"\n[[auth.credentials]]\nusername = \"v\"\npassword = \"swordfish\"\n",
        );
        let config = Config::load(Some(config_file.path())).unwrap();
        let printed = format!("{config:?}");
        assert!(
            !printed.contains("hunter2") && !printed.contains("swordfish"),
            "{printed}"
        );
    }
}
