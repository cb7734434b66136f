//! `techhire`: parse the command line, run the command, report errors with their context.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = techhire_node::cli::Cli::parse();
    match techhire_node::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
