//! `binjiang`: the command line of the Binjiang riverfront digital twin.
//!
//! Exit codes (one typed [`Failure`] decides them; `docs/cli.md` and `--help` say the same):
//! 0 success, 1 the input is invalid (every problem is listed), 2 usage error or a path that
//! cannot be read, 3 a failure while running (a service, the bus, a disk, the network).

/// Returns a usage error (exit 2): `bail_usage!("--speed {v} must be positive")`.
macro_rules! bail_usage {
    ($($t:tt)*) => {
        return Err($crate::failure::usage(format!($($t)*)))
    };
}

mod commands;
mod failure;

pub use failure::Failure;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Binjiang — a geospatial digital twin for running a riverfront district.
#[derive(Parser)]
#[command(
    name = "binjiang",
    version,
    about = "Binjiang: the digital twin of a riverfront district. Check and describe scenes, simulate and compare what-if scenarios, import OpenStreetMap, and run the live twin (SensorThings, reports, GPS) alone or on a NATS bus.",
    after_help = "Exit codes: 0 success; 1 invalid input (every problem is listed, with its file and line or feature); 2 usage error or a path that cannot be read; 3 a failure while running (the service, the bus, a disk or the network)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a scene folder; list every problem as `<file>: feature "<id>": <what>`.
    Validate {
        /// The scene folder (holding scene.ron).
        scene: PathBuf,
    },
    /// Run the joint-dispatch simulation on a scene and print its metrics.
    Simulate(commands::simulate::Args),
    /// Import real geodata into a scene.
    #[command(subcommand)]
    Import(commands::import::Source),
    /// Write a valid synthetic scene of any size (a grid city on a river), for scaling benchmarks.
    Synth(commands::synth::Args),
    /// Run the live twin: SensorThings, reports and GPS in over HTTP, dispatch decided live,
    /// everything acknowledged on disk first.
    Serve(commands::serve::Args),
    /// Manage the live service's access tokens.
    #[command(subcommand)]
    Token(commands::token::Command),
    /// Drive a live service from a simulated or recorded day over its real APIs.
    Replay(commands::replay::Args),
    /// Compare scenarios (overlays in `<scene>/scenarios/`) on paired seeds; write a report.
    Whatif(commands::whatif::Args),
    /// Learn each incident type's rate, weekly rhythm, places and durations from a history;
    /// score it on held-out weeks; write the model.
    Learn(commands::learn::Args),
    /// Expected incidents per grid cell over the next hours, from a learned model.
    Forecast(commands::forecast::Args),
    /// Where an agency's units should stand to reach the most demand within the target,
    /// written as a what-if scenario (and verified on paired seeds).
    Plan(commands::plan::Args),
    /// Take what-if runs from a NATS JetStream bus and return their results.
    Worker(commands::worker::Args),
    /// Every district's KPIs, live, from the bus (as their twins publish them).
    City(commands::city::Args),
    /// Print a scene's figures: grid, roads, buildings, assets, units.
    Info {
        /// The scene folder (holding scene.ron).
        scene: PathBuf,
        /// Print exactly one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_max_level(tracing::Level::INFO)
        .init();
    let outcome = match cli.command {
        Command::Validate { scene } => commands::validate::run(&scene),
        Command::Info { scene, json } => commands::info::run(&scene, json),
        Command::Simulate(args) => commands::simulate::run(&args),
        Command::Synth(args) => commands::synth::run(&args),
        Command::Import(source) => commands::import::run(&source),
        Command::Serve(args) => commands::serve::run(&args),
        Command::City(args) => commands::city::run(&args),
        Command::Token(command) => commands::token::run(&command),
        Command::Replay(args) => commands::replay::run(&args),
        Command::Whatif(args) => commands::whatif::run(&args),
        Command::Worker(args) => commands::worker::run(&args),
        Command::Learn(args) => commands::learn::run(&args),
        Command::Forecast(args) => commands::forecast::run(&args),
        Command::Plan(args) => commands::plan::run(&args),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            let failure = Failure::classify(e);
            eprintln!("binjiang: {failure}");
            ExitCode::from(failure.code())
        }
    }
}
