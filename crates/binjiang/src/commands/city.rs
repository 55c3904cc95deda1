//! `binjiang city --bus nats://…`: every district's KPIs, live, as their twins publish them
//! (`serve --bus`): a table refreshed in the terminal, or JSON.

use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Arguments of `binjiang city`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The bus, `nats://host:4222[,…]`.
    #[arg(long)]
    pub bus: String,
    /// One JSON object per update (`{"districts": [...]}`) instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Print once, as soon as the stored KPIs are read (after at least --min-districts), and
    /// exit.
    #[arg(long)]
    pub once: bool,
    /// With --once: wait until this many districts have published.
    #[arg(long, default_value_t = 0)]
    pub min_districts: usize,
    /// With --once: give up after this many seconds (exit code 1).
    #[arg(long, default_value_t = 60.0)]
    pub timeout_s: f64,
}

/// Runs until Ctrl-C (or once).
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let tty = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let mut last_print: Option<Instant> = None;
    let mut printed = false;
    let show = |latest: &std::collections::BTreeMap<String, binjiang_bus::city::DistrictKpis>| {
        if args.json {
            let all: Vec<_> = latest.values().collect();
            println!("{}", serde_json::json!({ "districts": all }));
        } else {
            if tty && !args.once {
                print!("\x1b[2J\x1b[H");
            }
            print!("{}", binjiang_bus::city::table(latest));
        }
    };
    let follow = binjiang_bus::city::follow(&args.bus, |latest| {
        if args.once {
            if latest.len() >= args.min_districts.max(1) {
                show(latest);
                printed = true;
                return false;
            }
            return true;
        }
        // At most one refresh a second.
        if last_print.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
            show(latest);
            last_print = Some(Instant::now());
        }
        true
    });
    let limit = Duration::from_secs_f64(args.timeout_s.max(0.1));
    let ended = runtime.block_on(async {
        tokio::select! {
            r = follow => Some(r),
            _ = tokio::signal::ctrl_c() => None,
            _ = tokio::time::sleep(limit), if args.once => None,
        }
    });
    match ended {
        Some(Err(e)) => Err(e.into()),
        _ if args.once && !printed => {
            eprintln!(
                "binjiang: fewer than {} districts published KPIs within {} s",
                args.min_districts.max(1),
                args.timeout_s
            );
            Ok(ExitCode::from(super::INVALID))
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}
