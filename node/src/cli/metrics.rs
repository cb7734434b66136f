//! `techhire metrics`: publishing and exporting through a running node (over its HTTP API,
//! like `techhire federation status`), and checking an export offline.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use techhire_protocol::PublicKey;

use crate::metrics::export::verify_export;

#[derive(Debug, Subcommand)]
pub enum MetricsCommand {
    /// Ask a running node to publish its reports now (only periods whose figures changed get
    /// a new version): POST /api/v1/federation/metrics/publish.
    Publish {
        #[command(flatten)]
        node: NodeArgs,
        /// A calendar year to recompute (repeatable; default: this year and last).
        #[arg(long = "year")]
        years: Vec<u16>,
    },
    /// Write the national view with the signed reports it comes from:
    /// GET /api/v1/federation/metrics.
    Export {
        #[command(flatten)]
        node: NodeArgs,
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
        /// Only this year's periods.
        #[arg(long, conflicts_with = "period")]
        year: Option<u16>,
        /// Only this period: 2026, 2026-Q1 or 2026-03.
        #[arg(long)]
        period: Option<String>,
        /// File to write (default: standard output).
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Check an export offline: every signature, every certificate, and every figure
    /// against the signed reports. Exits non-zero on any difference.
    Verify {
        /// The exported file (JSON or CSV).
        file: PathBuf,
        /// A steward key you trust (repeatable): certificates must be signed by one of them.
        #[arg(long = "steward-pubkey", value_name = "KEY")]
        stewards: Vec<String>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Json,
    Csv,
}

/// Where the running node is, and who is asking.
#[derive(Debug, clap::Args)]
pub struct NodeArgs {
    /// The node's HTTP address.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// An operator token (a national staff token can export, not publish).
    #[arg(long, env = "TECHHIRE_TOKEN", hide_env_values = true)]
    token: String,
}

/// Runs one `techhire metrics` command.
pub(super) async fn run(command: MetricsCommand) -> anyhow::Result<()> {
    match command {
        MetricsCommand::Publish { node, years } => {
            let body = if years.is_empty() {
                serde_json::json!({})
            } else {
                serde_json::json!({ "years": years })
            };
            let answer = super::call_node(
                &node.url,
                &node.token,
                reqwest::Method::POST,
                "/api/v1/federation/metrics/publish",
                Some(body),
            )
            .await?;
            let outcome: serde_json::Value =
                serde_json::from_str(&answer).context("reading the node's answer")?;
            println!("{}", serde_json::to_string_pretty(&outcome)?);
            Ok(())
        }
        MetricsCommand::Export {
            node,
            format,
            year,
            period,
            out,
        } => {
            let mut path = format!(
                "/api/v1/federation/metrics?format={}",
                match format {
                    Format::Json => "json",
                    Format::Csv => "csv",
                }
            );
            if let Some(year) = year {
                path.push_str(&format!("&year={year}"));
            }
            if let Some(period) = period {
                path.push_str(&format!("&period={period}"));
            }
            let body =
                super::call_node(&node.url, &node.token, reqwest::Method::GET, &path, None).await?;
            match out {
                Some(file) => std::fs::write(&file, body)
                    .with_context(|| format!("writing {}", file.display()))?,
                None => print!("{body}"),
            }
            Ok(())
        }
        MetricsCommand::Verify { file, stewards } => {
            let trusted = stewards
                .iter()
                .map(|k| {
                    k.parse::<PublicKey>()
                        .with_context(|| format!("--steward-pubkey {k}"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let summary = verify_export(&bytes, &trusted)
                .with_context(|| format!("{} does not verify", file.display()))?;
            println!("{}: verified", file.display());
            println!("{summary}");
            Ok(())
        }
    }
}
