//! `clickclack-realtime`: the realtime service as its own process.

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "clickclack-realtime",
    about = "ClickClack realtime service (gRPC)"
)]
struct Cli {
    #[command(flatten)]
    config: clickclack_realtime::RealtimeConfig,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = clickclack_common::telemetry::init("clickclack-realtime");
    let cli = Cli::parse();
    clickclack_common::service::run::<clickclack_realtime::Realtime>(
        cli.config,
        clickclack_common::shutdown::on_signal(),
    )
    .await?;
    Ok(())
}
