//! `weight-init`: benchmark fill throughput, verify the statistics, list
//! adapters and inspect checkpoints from the command line.
//!
//! Run `weight-init --help`. With no GPU adapter every command says so in one
//! line and runs on the CPU backend.

mod cli;

use clap::Parser;

fn main() -> std::process::ExitCode {
    // SIGINT/SIGTERM remove the temporary files of writes under way.
    cli::signals::install();
    // Output into a closed pipe (`weight-init inspect F | head`) ends the
    // process as it ends `cat`, instead of a panic in `println!`. Files are
    // written only to regular files, so this cuts no write short.
    #[cfg(unix)]
    // SAFETY: sets the disposition of one signal before any other thread
    // of ours writes anything.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let args = cli::Cli::parse();
    cli::private_runtime_dir();
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            // One line, whatever names or paths the message echoes.
            eprintln!("error: {}", weight_init::files::escape(&e.to_string()));
            std::process::ExitCode::from(2)
        }
    }
}
