//! `clickclack-webhooks`: the webhooks service as its own process.

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "clickclack-webhooks",
    about = "ClickClack webhooks service (gRPC): event subscriptions and their deliveries"
)]
struct Cli {
    #[command(flatten)]
    config: clickclack_webhooks::WebhooksConfig,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = clickclack_common::telemetry::init("clickclack-webhooks");
    let cli = Cli::parse();
    clickclack_common::service::run::<clickclack_webhooks::Webhooks>(
        cli.config,
        clickclack_common::shutdown::on_signal(),
    )
    .await?;
    Ok(())
}
