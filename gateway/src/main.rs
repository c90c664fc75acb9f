//! `clickclack-gateway`: the HTTP gateway as its own process.

use clap::Parser;

#[derive(Parser)]
#[command(name = "clickclack-gateway", about = "ClickClack HTTP gateway")]
struct Cli {
    #[command(flatten)]
    config: clickclack_gateway::GatewayConfig,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = clickclack_common::telemetry::init("clickclack-gateway");
    let cli = Cli::parse();
    clickclack_gateway::run(cli.config, clickclack_common::shutdown::on_signal()).await?;
    Ok(())
}
