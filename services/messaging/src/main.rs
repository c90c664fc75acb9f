//! `clickclack-messaging`: the messaging service as its own process.

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "clickclack-messaging",
    about = "ClickClack messaging service (gRPC)"
)]
struct Cli {
    #[command(flatten)]
    config: clickclack_messaging::MessagingConfig,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = clickclack_common::telemetry::init("clickclack-messaging");
    let cli = Cli::parse();
    clickclack_common::service::run::<clickclack_messaging::Messaging>(
        cli.config,
        clickclack_common::shutdown::on_signal(),
    )
    .await?;
    Ok(())
}
