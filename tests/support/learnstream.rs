//! The `learnstream` command line, built inside the test package so that tests which must kill a
//! process (`kill -9`, SIGTERM) can start one: `env!("CARGO_BIN_EXE_learnstream-under-test")`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    learnstream_cli::run_command_line().await
}
