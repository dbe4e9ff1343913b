//! The `arena` command-line tool: the binary edge, where library errors become messages.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = arena::cli::Cli::parse();
    match arena::cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
