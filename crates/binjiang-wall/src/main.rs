//! `binjiang-wall`: the control room's wall display (see the library's documentation).

use binjiang_wall::cli::{self, DisplayPlan, Options};
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let opts = Options::parse();
    match cli::plan_display(&opts) {
        Ok(DisplayPlan::Ready) => {}
        Ok(DisplayPlan::RanUnderXvfb(code)) => return ExitCode::from(code.clamp(0, 255) as u8),
        Err(msg) => {
            eprintln!("binjiang-wall: {msg}");
            return ExitCode::from(2);
        }
    }
    match binjiang_wall::run(&opts) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("binjiang-wall: {e:#}");
            ExitCode::from(1)
        }
    }
}
