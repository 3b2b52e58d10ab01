//! `weight-init`: benchmark fill throughput, verify the statistics, list
//! adapters and inspect checkpoints from the command line.
//!
//! Run `weight-init --help`. With no GPU adapter every command says so in one
//! line and runs on the CPU backend.

mod cli;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    cli::private_runtime_dir();
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
