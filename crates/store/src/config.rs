use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// How to reach ClickHouse.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClickHouseConfig {
    /// HTTP endpoint of the server, e.g. `http://127.0.0.1:8123`.
    pub url: String,
    /// Database that holds learnstream's tables; `learnstream migrate` creates it.
    pub database: String,
    /// User name.
    pub user: String,
    /// Password; never printed.
    pub password: SecretString,
}

impl Default for ClickHouseConfig {
    fn default() -> Self {
        ClickHouseConfig {
            url: "http://127.0.0.1:8123".to_owned(),
            database: "learnstream".to_owned(),
            user: "default".to_owned(),
            password: SecretString::default(),
        }
    }
}

impl ClickHouseConfig {
    /// A client bound to the configured database.
    pub fn client(&self) -> clickhouse::Client {
        self.server_client().with_database(&self.database)
    }

    /// A client bound to no database, for creating the database itself.
    pub(crate) fn server_client(&self) -> clickhouse::Client {
        // Validation needs RowBinaryWithNamesAndTypes, which ClickHouse 18.16 lacks.
        clickhouse::Client::default()
            .with_url(&self.url)
            .with_user(&self.user)
            .with_password(self.password.expose_secret())
            .with_validation(false)
    }

    /// Checks what start-up can check without a connection.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            return Err(format!(
                "clickhouse.url: must be an http:// or https:// URL, got {:?}",
                self.url
            ));
        }
        let valid_name = !self.database.is_empty()
            && self
                .database
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_');
        if !valid_name {
            return Err("clickhouse.database: must be letters, digits and underscores".to_owned());
        }
        Ok(())
    }
}
