//! Node settings: the TOML config file, then `TECHHIRE_*` environment variables, then
//! command-line flags (`techhire run` applies the last two over the file; see
//! [`crate::cli::RunArgs::apply_to`]).

use std::net::SocketAddr;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::store::StoreOptions;

/// Everything in `config.toml`. Unknown keys are an error, so a typo is caught at start.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub http: HttpConfig,
    #[serde(default)]
    pub storage: StorageConfig,
    #[serde(default)]
    pub log: LogConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Address the HTTP API listens on.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: default_listen(),
        }
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// sled's page cache in MiB.
    #[serde(default = "default_cache_mb")]
    pub cache_capacity_mb: u64,
    /// Read every record's checksum before serving.
    #[serde(default = "yes")]
    pub verify_on_start: bool,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            cache_capacity_mb: default_cache_mb(),
            verify_on_start: true,
        }
    }
}

fn yes() -> bool {
    true
}

fn default_cache_mb() -> u64 {
    256
}

impl StorageConfig {
    pub fn store_options(&self) -> StoreOptions {
        StoreOptions {
            cache_capacity: self.cache_capacity_mb.saturating_mul(1024 * 1024),
            verify_on_open: self.verify_on_start,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// A `tracing` filter such as `info` or `techhire_node=debug,info`.
    #[serde(default = "default_filter")]
    pub filter: String,
    #[serde(default)]
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            filter: default_filter(),
            format: LogFormat::default(),
        }
    }
}

fn default_filter() -> String {
    "info".into()
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a valid config: {message}")]
    Parse { path: String, message: String },
}

impl Config {
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }

    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Config::parse(&text, path)
    }
}

/// The config file written into a new data folder: the documented example.
pub const EXAMPLE: &str = include_str!("../../config/node.example.toml");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_config_parses() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../config");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).expect("config/ exists") {
            let path = entry.expect("readable entry").path();
            if path.extension().is_some_and(|e| e == "toml") {
                Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
                seen += 1;
            }
        }
        assert!(seen > 0, "no configs found in {dir}");
    }

    #[test]
    fn the_example_is_the_default() {
        let parsed = Config::parse(EXAMPLE, Path::new("example")).expect("example parses");
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn typos_are_errors() {
        let err = Config::parse(
            "[http]\nlisten_addr = \"127.0.0.1:1\"\n",
            Path::new("x.toml"),
        )
        .expect_err("unknown key must fail");
        assert!(err.to_string().contains("listen_addr"), "{err}");
    }
}
