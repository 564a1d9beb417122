//! The one configuration tree: defaults, then a TOML file, then `LEARNSTREAM_*` environment
//! variables (`LEARNSTREAM_KAFKA__BROKERS=…`: a double underscore separates the levels),
//! validated once at start-up.

use std::path::Path;

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use learnstream_analytics::AnalyticsConfig;
use learnstream_intake::{AuthConfig, CoalesceConfig, ConsistencyConfig, Credentials, HttpConfig};
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
        figment = figment.merge(Env::prefixed("LEARNSTREAM_").split("__"));
        figment
            .extract()
            .map_err(|error| anyhow::anyhow!("configuration: {error}"))
    }

    /// Checks every section; `needs_http` also demands valid credentials.
    pub fn validate(self, needs_http: bool) -> anyhow::Result<ValidatedConfig> {
        let checks = [
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
