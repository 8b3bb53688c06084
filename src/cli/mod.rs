//! Command-line parsing and dispatch. Turns flags into validated library settings, runs the
//! library, prints results (text, or one JSON object with `--json`). Exit codes: 0 success,
//! 1 failure, 2 usage error, 130 training stopped by Ctrl-C (after writing a checkpoint). Errors
//! are printed with the hint `hint` adds (the flag, variable or file that fixes them).

/// `println!` for the commands' output. A write to a closed stdout (e.g. `| head`) unwinds
/// with the typed payload [`BrokenPipe`], which [`run`] recognises by its type (no panic
/// message is printed or matched); any other write error is a panic, reported as a bug.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` for the commands' output (see `outln!`).
#[allow(unused_macros)]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::write_stdout(format_args!($($arg)*))
    };
}

mod baseline;
mod common;
mod compare;
mod curve;
mod demo;
mod eval;
mod export;
mod hint;
mod import;
mod robustness;
mod simulate;
mod trace;
mod train;

use clap::{Parser, Subcommand};
use firstspike::Error;
use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

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
    Train(Box<train::TrainArgs>),
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
    /// Draw the accuracy curve of a training log (SVG).
    Curve(curve::CurveArgs),
    /// Run the shipped model on the bundled MNIST digits (no download needed).
    Demo(demo::DemoArgs),
    /// The rate-coded baseline: train a ReLU network and convert it to spiking neurons.
    Baseline(baseline::BaselineArgs),
    /// Compare a first-spike model with the rate-coded baseline: accuracy, spikes, events.
    Compare(compare::CompareArgs),
    /// Export a model as a NIR graph or JSON, or spikes as NIR EventData.
    Export(export::ExportArgs),
    /// Import a feedforward NIR graph as a model (PREFIX.bin and PREFIX.json).
    Import(import::ImportArgs),
    /// Accuracy under input jitter, spike deletion, low-bit or noisy weights, and deadlines.
    Robustness(robustness::RobustnessArgs),
}

/// Parses argv, runs the command, maps errors to exit codes: 0 success, 1 failure, 2 usage
/// error, 130 stopped by Ctrl-C after writing a checkpoint. A panic (a bug) becomes a one-line
/// error and exit code 1, a broken pipe on stdout (e.g. `| head`) a quiet exit 0.
pub fn run() -> ExitCode {
    // A dry parse for the documentation test (tests/docs.rs): with FIRSTSPIKE_PARSE_ONLY set,
    // the command line is parsed (a usage error exits 2, as always) and nothing runs.
    if std::env::var_os(PARSE_ONLY).is_some() {
        let _ = Cli::parse();
        return ExitCode::SUCCESS;
    }
    std::panic::set_hook(Box::new(panic_hook));
    if let Ok(v) = std::env::var(firstspike::ISA_VAR) {
        if let Err(m) = firstspike::Isa::parse(&v) {
            let _ = writeln!(std::io::stderr(), "error: {m}");
            return ExitCode::from(2);
        }
    }
    let res = std::panic::catch_unwind(|| {
        let cli = Cli::parse();
        match cli.cmd {
            Cmd::Train(a) => ("train", train::run(*a)),
            Cmd::Eval(a) => ("eval", eval::run(a)),
            Cmd::Demo(a) => ("demo", demo::run(a)),
            Cmd::Curve(a) => ("curve", curve::run(a)),
            Cmd::Simulate(a) => ("simulate", simulate::run_simulate(a)),
            Cmd::Verify(a) => ("verify", simulate::run_verify(a)),
            Cmd::Replay(a) => ("replay", trace::run_replay(a)),
            Cmd::Raster(a) => ("raster", trace::run_raster(a)),
            Cmd::Baseline(a) => ("baseline", baseline::run_baseline(a)),
            Cmd::Compare(a) => ("compare", compare::run(a)),
            Cmd::Export(a) => ("export", export::run(a)),
            Cmd::Import(a) => ("import", import::run(a)),
            Cmd::Robustness(a) => ("robustness", robustness::run(a)),
        }
    });
    // Writes to stderr ignore errors: a closed stderr must not turn into a panic here.
    let say = |m: std::fmt::Arguments| {
        let _ = writeln!(std::io::stderr(), "{m}");
    };
    match res {
        Ok((_, Ok(()))) => ExitCode::SUCCESS,
        // The message starts with "interrupted:".
        Ok((cmd, Err(e @ Error::Interrupted { .. }))) => {
            say(format_args!("{}", hint::message(&e, cmd)));
            ExitCode::from(130)
        }
        Ok((cmd, Err(e))) => {
            say(format_args!("error: {}", hint::message(&e, cmd)));
            if e.is_usage() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
        // A closed stdout: quiet success. Otherwise the hook has said what happened.
        Err(payload) if payload.is::<BrokenPipe>() => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(1),
    }
}

/// The environment variable that makes the command parse its flags and stop (exit 0) without
/// running: how the documentation test checks every command shown in the README and `docs/`.
const PARSE_ONLY: &str = "FIRSTSPIKE_PARSE_ONLY";

/// The unwind payload of a write to a closed stdout (see `outln!`): not a panic, so the panic
/// hook never sees it.
struct BrokenPipe;

/// Writes the commands' output to stdout; on a closed stdout unwinds with [`BrokenPipe`].
pub(crate) fn write_stdout(args: std::fmt::Arguments) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::panic::resume_unwind(Box::new(BrokenPipe));
        }
        panic!("failed printing to stdout: {e}");
    }
}
/// Set once a panic has been reported, so that a panic it causes (a worker's panic
/// re-raised by the thread that joins it) adds no second message.
static REPORTED: AtomicBool = AtomicBool::new(false);

/// Reports the first panic as one line instead of Rust's panic dump (with a backtrace if
/// `RUST_BACKTRACE` is set). A closed stdout is no panic (see [`write_stdout`]).
fn panic_hook(info: &std::panic::PanicHookInfo) {
    let msg = info
        .payload()
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| info.payload().downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown cause".into());
    if REPORTED.swap(true, Ordering::SeqCst) {
        return;
    }
    let at = info
        .location()
        .map(|l| format!(" at {}:{}", l.file(), l.line()))
        .unwrap_or_default();
    let mut err = std::io::stderr();
    let _ = writeln!(
        err,
        "error: internal error: {msg}{at}. This is a bug in firstspike; please report it with the command that caused it"
    );
    if std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0") {
        let _ = writeln!(err, "{}", std::backtrace::Backtrace::force_capture());
    }
}
