//! `learnstream`: an xAPI Learning Record Store that streams statements through Kafka into
//! ClickHouse. See the README for the commands and the configuration.

/// Parsing a statement allocates a few dozen small strings; mimalloc serves them about a fifth
/// faster than glibc's allocator (bench/RESULTS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    learnstream_cli::run_command_line().await
}
