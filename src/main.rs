//! The `firstspike` command: a thin layer over the library. See `firstspike --help`.

mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
