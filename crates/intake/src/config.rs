use std::net::SocketAddr;

use serde::Deserialize;

/// The HTTP side of the LRS.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Address the LRS listens on.
    pub listen: SocketAddr,
    /// Base URL clients reach the LRS at; the home page of the authority the LRS puts on
    /// statements.
    pub public_url: String,
    /// Largest request body accepted, in bytes; larger requests get 413. Must stay below
    /// `kafka.max_message_bytes`, since one request becomes one Kafka message.
    pub max_body_bytes: usize,
    /// Largest CSV a district import (`PUT /district/…`) accepts, in bytes; larger ones get 413.
    pub max_import_bytes: usize,
    /// How long a client has to send a request's headers, and how long an idle keep-alive
    /// connection stays open; the connection is closed after it.
    pub header_read_timeout_ms: u64,
    /// How long a client has to send a request's whole body once its headers are in; it gets
    /// 408 and the connection is closed after it.
    pub body_read_timeout_ms: u64,
    /// Most connections open at once; a connection beyond it is closed on arrival.
    pub max_connections: usize,
    /// Most rounds of writes' checks (client-set ids, voiding targets) in flight at once; the
    /// requests that arrive meanwhile are checked together in the next round, one query per
    /// tenant.
    pub max_concurrent_checks: usize,
    /// Most ClickHouse queries of reads (by id, pages, attachments) in flight at once.
    pub max_concurrent_reads: usize,
    /// How long a request waits for one of those slots; it gets 503 with `Retry-After` after
    /// it. Keep both bounds, with the sink's and the district API's queries, below ClickHouse's
    /// `max_concurrent_queries` (100 by default).
    pub store_wait_ms: u64,
    /// Most memory, in MiB, of the filter of the statements the LRS holds, which spares the
    /// check of a new client-set id its ClickHouse query (about 2.4 bytes per stored
    /// statement; past this it answers less precisely, which costs queries, never
    /// correctness). 0 turns it off: every check asks ClickHouse.
    pub known_ids_max_mib: u64,
    /// Origins whose pages may call the LRS from a browser (CORS), e.g.
    /// `https://content.vendor.example`; `*` allows any. xAPI content often runs in a browser
    /// on the vendor's own domain.
    pub cors_allowed_origins: Vec<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: "http://127.0.0.1:8080".to_owned(),
            max_body_bytes: 8 * 1024 * 1024,
            max_import_bytes: 64 * 1024 * 1024,
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 30_000,
            max_connections: 4_096,
            max_concurrent_checks: 2,
            max_concurrent_reads: 16,
            store_wait_ms: 2_000,
            known_ids_max_mib: 512,
            cors_allowed_origins: vec!["*".to_owned()],
        }
    }
}

impl HttpConfig {
    /// Checks what start-up can check.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_body_bytes == 0 || self.max_import_bytes == 0 {
            return Err(
                "http.max_body_bytes and http.max_import_bytes: must be above 0".to_owned(),
            );
        }
        if self.header_read_timeout_ms == 0 || self.body_read_timeout_ms == 0 {
            return Err(
                "http.header_read_timeout_ms and http.body_read_timeout_ms: must be above 0"
                    .to_owned(),
            );
        }
        if self.max_connections == 0 {
            return Err("http.max_connections: must be above 0".to_owned());
        }
        if self.max_concurrent_checks == 0 || self.max_concurrent_reads == 0 {
            return Err(
                "http.max_concurrent_checks and http.max_concurrent_reads: must be above 0"
                    .to_owned(),
            );
        }
        Ok(())
    }

    pub fn body_read_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.body_read_timeout_ms)
    }
}
