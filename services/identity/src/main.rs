//! `clickclack-identity`: the identity service as its own process.

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "clickclack-identity",
    about = "ClickClack identity service (gRPC)"
)]
struct Cli {
    #[command(flatten)]
    config: clickclack_identity::IdentityConfig,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = clickclack_common::telemetry::init("clickclack-identity");
    let cli = Cli::parse();
    clickclack_common::service::run::<clickclack_identity::Identity>(
        cli.config,
        clickclack_common::shutdown::on_signal(),
    )
    .await?;
    Ok(())
}
