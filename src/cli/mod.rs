//! Command-line parsing and dispatch. Turns flags into validated library settings, runs the
//! library, prints results (text, or one JSON object with `--json`). Exit codes: 0 success,
//! 1 failure, 2 usage error.

mod common;
mod demo;
mod eval;
mod simulate;
mod trace;
mod train;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Exact first-spike spiking networks: train, evaluate, simulate spike by spike.
#[derive(Parser)]
#[command(name = "firstspike", version, about)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Train a network with the analytic solver and save PREFIX.bin and PREFIX.json.
    Train(train::TrainArgs),
    /// Measure a model's accuracy with the analytic solver.
    Eval(eval::EvalArgs),
    /// Simulate a model spike by spike with the discrete-event engine.
    Simulate(simulate::SimulateArgs),
    /// Run both engines on every sample and compare every spike.
    Verify(simulate::VerifyArgs),
    /// Replay recorded traces against a model: counts, decisions, gradients.
    Replay(trace::ReplayArgs),
    /// Write a spike raster (CSV, JSON sidecar, SVG picture).
    Raster(trace::RasterArgs),
    /// Run the shipped model on the bundled MNIST digits (no download needed).
    Demo(demo::DemoArgs),
}

/// Parses argv, runs the command, maps errors to exit codes.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let res = match cli.cmd {
        Cmd::Train(a) => train::run(a),
        Cmd::Eval(a) => eval::run(a),
        Cmd::Demo(a) => demo::run(a),
        Cmd::Simulate(a) => simulate::run_simulate(a),
        Cmd::Verify(a) => simulate::run_verify(a),
        Cmd::Replay(a) => trace::run_replay(a),
        Cmd::Raster(a) => trace::run_raster(a),
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            if e.is_usage() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}
