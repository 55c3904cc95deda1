//! `binjiang worker --bus nats://…`: takes what-if runs from the bus (NATS JetStream work
//! queue), returns their results, until Ctrl-C. Run it on any machine holding the scene
//! folders at the same paths.

use std::process::ExitCode;

/// Arguments of `binjiang worker`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The bus, `nats://host:4222[,…]`.
    #[arg(long)]
    pub bus: String,
    /// Seconds a taken run may stay unacknowledged before another worker gets it (set by
    /// the first worker to connect; runs take well under a second each).
    #[arg(long, default_value_t = 30)]
    pub ack_wait_s: u64,
}

/// Works until Ctrl-C.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    eprintln!(
        "binjiang: worker on {}; Ctrl-C stops",
        binjiang_bus::nats::redact(&args.bus)
    );
    let ack_wait = std::time::Duration::from_secs(args.ack_wait_s.max(1));
    let done = runtime.block_on(binjiang_bus::work(&args.bus, ack_wait, async {
        let _ = tokio::signal::ctrl_c().await;
    }))?;
    eprintln!("binjiang: worker stopped after {done} runs");
    Ok(ExitCode::SUCCESS)
}
