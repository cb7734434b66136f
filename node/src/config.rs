//! Node settings: the TOML config file, then `TECHHIRE_*` environment variables, then
//! command-line flags (`techhire run` applies the last two over the file; see
//! [`crate::cli::RunArgs::apply_to`]).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::skills::{ExtensionError, Taxonomy};
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
    #[serde(default)]
    pub skills: SkillsConfig,
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

/// The skills taxonomy: the built-in one, and the community's own additions.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SkillsConfig {
    /// A skills file of the community's own (format in docs/skills.md). A relative path in
    /// the config file is taken from the data folder.
    #[serde(default)]
    pub extension_file: Option<PathBuf>,
}

impl SkillsConfig {
    /// The extension file in force, if any; a relative path is resolved against `data_dir`
    /// (so that the setting does not depend on where the node was started from).
    pub fn extension_path(&self, data_dir: &Path) -> Option<PathBuf> {
        self.extension_file.as_ref().map(|p| data_dir.join(p))
    }

    /// The node's taxonomy: the built-in one, extended with the community's file if one is
    /// set. A file that cannot be read, or has any bad entry, is an error listing every
    /// problem with its file and line: a node never runs on half a file.
    pub fn taxonomy(&self, data_dir: &Path) -> Result<Taxonomy, ConfigError> {
        let Some(path) = self.extension_path(data_dir) else {
            return Ok(Taxonomy::builtin().clone());
        };
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: format!("the skills extension file {shown}"),
            source,
        })?;
        Taxonomy::with_extension(&text, &shown).map_err(|errors| ConfigError::SkillsFile {
            path: shown,
            errors,
        })
    }
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
    #[error("{}", skills_file_message(path, errors))]
    SkillsFile {
        path: String,
        errors: Vec<ExtensionError>,
    },
}

/// Every problem of a skills extension file, one `file:line: problem` a line.
fn skills_file_message(path: &str, errors: &[ExtensionError]) -> String {
    let n = errors.len();
    let mut out = format!(
        "the skills extension file {path} has {n} bad {}; fix {} (format in docs/skills.md):",
        if n == 1 { "entry" } else { "entries" },
        if n == 1 { "it" } else { "them" },
    );
    for e in errors {
        out.push_str("\n  ");
        out.push_str(&e.to_string());
    }
    out
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
    fn a_relative_extension_file_is_found_in_the_data_folder() {
        let config = Config::parse(
            "[skills]\nextension_file = \"skills.local.toml\"\n",
            Path::new("x.toml"),
        )
        .expect("valid config");
        assert_eq!(
            config.skills.extension_path(Path::new("/var/lib/techhire")),
            Some(PathBuf::from("/var/lib/techhire/skills.local.toml"))
        );
        let absolute = SkillsConfig {
            extension_file: Some(PathBuf::from("/etc/techhire/skills.toml")),
        };
        assert_eq!(
            absolute.extension_path(Path::new("/var/lib/techhire")),
            Some(PathBuf::from("/etc/techhire/skills.toml"))
        );
        assert_eq!(
            Config::default().skills.extension_path(Path::new("/x")),
            None
        );
    }

    #[test]
    fn the_taxonomy_is_extended_by_a_good_file_and_refused_with_every_bad_line() {
        let dir = tempfile::tempdir().expect("temp dir");
        let none = SkillsConfig::default()
            .taxonomy(dir.path())
            .expect("built-in");
        assert_eq!(none.len(), Taxonomy::builtin().len());

        let set = SkillsConfig {
            extension_file: Some(PathBuf::from("skills.local.toml")),
        };
        let missing = set.taxonomy(dir.path()).expect_err("no such file");
        assert!(
            missing.to_string().contains("skills.local.toml"),
            "{missing}"
        );

        let file = dir.path().join("skills.local.toml");
        std::fs::write(
            &file,
            "[skills.tools-practices]\nepic-ehr = { label = \"Epic EHR\", soc = [\"15-1211\"] }\n",
        )
        .expect("write");
        let extended = set.taxonomy(dir.path()).expect("a good file");
        assert!(extended.get("epic-ehr").is_some());

        std::fs::write(
            &file,
            "[skills.web]\njavascript = { label = \"JS again\", soc = [\"15-1252\"] }\n\
             nosoc = { label = \"No SOC\", soc = [] }\n",
        )
        .expect("write");
        let err = set
            .taxonomy(dir.path())
            .expect_err("bad entries")
            .to_string();
        let shown = file.display().to_string();
        assert!(err.contains("has 2 bad entries"), "{err}");
        assert!(
            err.contains(&format!("{shown}:2: skill javascript already exists")),
            "{err}"
        );
        assert!(
            err.contains(&format!(
                "{shown}:3: skill nosoc needs at least one SOC code"
            )),
            "{err}"
        );
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
