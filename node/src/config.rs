//! Node settings: the TOML config file, then `TECHHIRE_*` environment variables, then
//! command-line flags (`techhire run` applies the last two over the file; see
//! [`crate::cli::RunArgs::apply_to`]).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use libp2p::Multiaddr;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use techhire_protocol::PublicKey;

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
    #[serde(default)]
    pub federation: FederationSettings,
    #[serde(default)]
    pub metrics: MetricsSettings,
    #[serde(default)]
    pub profiles: ProfilesSettings,
}

/// `[profiles]`: how long a candidate's consent to share their profile lasts, and how often
/// the node checks every shared profile against its candidate (see `crate::sharing`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProfilesSettings {
    /// Days a consent lasts from when it was given (or last renewed); the profile is then
    /// withdrawn from the federation with an `expired` tombstone. 1 to 3650.
    #[serde(default = "default_expiry_days", deserialize_with = "expiry_days")]
    pub expiry_days: u32,
    /// Minutes between sweeps that bring every shared profile in line with its candidate
    /// (expiry, and repair of a publish a crash interrupted). 1 to 10080 (a week).
    #[serde(
        default = "default_sweep_minutes",
        deserialize_with = "sweep_interval_minutes"
    )]
    pub sweep_interval_minutes: u64,
}

impl Default for ProfilesSettings {
    fn default() -> Self {
        ProfilesSettings {
            expiry_days: default_expiry_days(),
            sweep_interval_minutes: default_sweep_minutes(),
        }
    }
}

fn default_expiry_days() -> u32 {
    180
}

fn default_sweep_minutes() -> u64 {
    60
}

fn expiry_days<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    match u32::deserialize(d)? {
        n @ 1..=3650 => Ok(n),
        n => Err(serde::de::Error::custom(format!(
            "profiles.expiry_days must be from 1 to 3650 (got {n})"
        ))),
    }
}

fn sweep_interval_minutes<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match u64::deserialize(d)? {
        n @ 1..=10_080 => Ok(n),
        n => Err(serde::de::Error::custom(format!(
            "profiles.sweep_interval_minutes must be from 1 to 10080 (got {n})"
        ))),
    }
}

/// `[metrics]`: how the community's reports are anonymised and how often they are published.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// The suppression threshold k: counts of people from 1 to k − 1 are withheld (with the
    /// cells they could be worked out from). 3 to 100; 11 as in the CMS cell-size policy.
    #[serde(default = "default_threshold", deserialize_with = "threshold")]
    pub threshold: u16,
    /// Hours between automatic publishing runs (a run publishes only the periods whose
    /// figures changed); 0 turns them off (`techhire metrics publish` still works).
    #[serde(default = "default_publish_hours")]
    pub publish_interval_hours: u64,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        MetricsSettings {
            threshold: default_threshold(),
            publish_interval_hours: default_publish_hours(),
        }
    }
}

fn default_threshold() -> u16 {
    11
}

fn default_publish_hours() -> u64 {
    24
}

fn threshold<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    match u16::deserialize(d)? {
        k @ 3..=100 => Ok(k),
        k => Err(serde::de::Error::custom(format!(
            "metrics.threshold must be from 3 to 100 (got {k})"
        ))),
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Address the HTTP API listens on.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Seconds a client has to send a whole request head, from when the connection opens
    /// or the first byte of a later request; 1 to 3600.
    #[serde(default = "default_header_secs", deserialize_with = "header_secs")]
    pub header_read_timeout_secs: u64,
    /// Seconds a client has to send a whole request body, from the end of its head; 1 to 3600.
    #[serde(default = "default_body_secs", deserialize_with = "body_secs")]
    pub body_read_timeout_secs: u64,
    /// Seconds a keep-alive connection may sit idle between requests; 1 to 3600.
    #[serde(
        default = "default_keep_alive_secs",
        deserialize_with = "keep_alive_secs"
    )]
    pub keep_alive_timeout_secs: u64,
    /// Connections served at once; 0: as many as the open file limit allows (less a reserve).
    #[serde(default)]
    pub max_connections: usize,
    /// Seconds requests in flight get to finish after SIGTERM or Ctrl-C; 0 to 3600.
    #[serde(default = "default_grace_secs", deserialize_with = "grace_secs")]
    pub shutdown_grace_secs: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: default_listen(),
            header_read_timeout_secs: default_header_secs(),
            body_read_timeout_secs: default_body_secs(),
            keep_alive_timeout_secs: default_keep_alive_secs(),
            max_connections: 0,
            shutdown_grace_secs: default_grace_secs(),
        }
    }
}

impl HttpConfig {
    /// The listener's timeouts and connection cap, under a descriptor limit of `fd_limit`.
    pub fn connection_limits(&self, fd_limit: u64) -> crate::server::ConnectionLimits {
        crate::server::ConnectionLimits {
            header_read_timeout: Duration::from_secs(self.header_read_timeout_secs),
            body_read_timeout: Duration::from_secs(self.body_read_timeout_secs),
            keep_alive_timeout: Duration::from_secs(self.keep_alive_timeout_secs),
            max_connections: crate::server::connection_cap(self.max_connections, fd_limit),
            shutdown_grace: Duration::from_secs(self.shutdown_grace_secs),
        }
    }
}

fn default_header_secs() -> u64 {
    10
}

fn default_body_secs() -> u64 {
    30
}

fn default_keep_alive_secs() -> u64 {
    60
}

fn default_grace_secs() -> u64 {
    10
}

/// A number of seconds from `min` to 3600, or an error naming `key`.
fn seconds<'de, D: Deserializer<'de>>(d: D, key: &str, min: u64) -> Result<u64, D::Error> {
    match u64::deserialize(d)? {
        n if (min..=3600).contains(&n) => Ok(n),
        n => Err(serde::de::Error::custom(format!(
            "{key} must be from {min} to 3600 (got {n})"
        ))),
    }
}

fn header_secs<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    seconds(d, "http.header_read_timeout_secs", 1)
}

fn body_secs<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    seconds(d, "http.body_read_timeout_secs", 1)
}

fn keep_alive_secs<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    seconds(d, "http.keep_alive_timeout_secs", 1)
}

fn grace_secs<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    seconds(d, "http.shutdown_grace_secs", 0)
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

/// How the node takes part in the federation (`[federation]`). The node joins only once
/// `stewards` is set, which `techhire federation join` does.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FederationSettings {
    /// libp2p addresses to listen on for other members.
    #[serde(
        default = "default_p2p_listen",
        deserialize_with = "listen_addrs",
        serialize_with = "as_strings"
    )]
    pub listen: Vec<Multiaddr>,
    /// Members to connect to at start (with their `/p2p/` peer id).
    #[serde(
        default,
        deserialize_with = "bootstrap_addrs",
        serialize_with = "as_strings"
    )]
    pub bootstrap: Vec<Multiaddr>,
    /// The stewards' public keys (hex) whose certificates this node trusts. Empty: the node
    /// has not joined a federation and does not start its federation side.
    #[serde(default, deserialize_with = "steward_keys")]
    pub stewards: Vec<PublicKey>,
    /// Seconds between exchanges of feed heads with every connected member; at least 1.
    #[serde(default = "default_sync_secs", deserialize_with = "sync_secs")]
    pub sync_interval_secs: u64,
    /// Days an introduction request to another node's candidate waits for an answer before
    /// it expires (the employer then sees `expired`); at least 1.
    #[serde(default = "default_intro_days")]
    pub introduction_timeout_days: u32,
    /// Connections to other members the node keeps open at least (dialling members it
    /// learned of from the federation when it has fewer); every member it has a message
    /// for is dialled whatever this says.
    #[serde(default = "default_min_members")]
    pub min_member_connections: usize,
    /// Whether other members can dial this node: `auto` (AutoNAT asks members to dial it
    /// back), `public` or `private` (behind a NAT: it takes relay reservations on reachable
    /// members and is reached through them, or directly after a hole punch).
    #[serde(default)]
    pub reachability: Reachability,
    /// Addresses to advertise to other members besides the listen addresses (e.g. a port
    /// forwarded on the router: "/ip4/203.0.113.5/tcp/7070").
    #[serde(
        default,
        deserialize_with = "advertise_addrs",
        serialize_with = "as_strings"
    )]
    pub advertise: Vec<Multiaddr>,
}

/// Whether other members can dial a node ([`FederationSettings::reachability`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reachability {
    #[default]
    Auto,
    Public,
    Private,
}

impl Default for FederationSettings {
    fn default() -> Self {
        FederationSettings {
            listen: default_p2p_listen(),
            bootstrap: Vec::new(),
            stewards: Vec::new(),
            sync_interval_secs: default_sync_secs(),
            introduction_timeout_days: default_intro_days(),
            min_member_connections: default_min_members(),
            reachability: Reachability::Auto,
            advertise: Vec::new(),
        }
    }
}

impl FederationSettings {
    /// Whether the node has joined a federation (it trusts at least one steward).
    pub fn joined(&self) -> bool {
        !self.stewards.is_empty()
    }

    /// The settings the federation node starts with.
    pub fn runtime(&self) -> crate::federation::FederationConfig {
        let mut config =
            crate::federation::FederationConfig::new(self.listen.clone(), self.stewards.clone());
        config.bootstrap.clone_from(&self.bootstrap);
        config.sync_interval = Duration::from_secs(self.sync_interval_secs.max(1));
        config.intro_timeout =
            Duration::from_secs(u64::from(self.introduction_timeout_days.max(1)) * 86_400);
        config.min_member_connections = self.min_member_connections;
        config.reachability = match self.reachability {
            Reachability::Auto => None,
            Reachability::Public => Some(true),
            Reachability::Private => Some(false),
        };
        config.advertise.clone_from(&self.advertise);
        config
    }
}

fn default_p2p_listen() -> Vec<Multiaddr> {
    vec![Multiaddr::from(std::net::Ipv4Addr::UNSPECIFIED)
        .with(libp2p::multiaddr::Protocol::Tcp(7070))]
}

fn default_intro_days() -> u32 {
    30
}

fn default_min_members() -> usize {
    8
}

fn default_sync_secs() -> u64 {
    10
}

/// Parses every string of a list, naming the setting and the position of a bad one.
fn parse_each<T, E: std::fmt::Display>(
    key: &str,
    items: Vec<String>,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<Vec<T>, String> {
    items
        .iter()
        .enumerate()
        .map(|(i, text)| parse(text).map_err(|e| format!("{key}[{i}] = {text:?}: {e}")))
        .collect()
}

fn multiaddrs<'de, D: Deserializer<'de>>(d: D, key: &str) -> Result<Vec<Multiaddr>, D::Error> {
    let items = Vec::<String>::deserialize(d)?;
    parse_each(key, items, |t| {
        Multiaddr::from_str(t)
            .map_err(|e| format!("not a multiaddr ({e}), e.g. /ip4/0.0.0.0/tcp/7070"))
    })
    .map_err(serde::de::Error::custom)
}

fn listen_addrs<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Multiaddr>, D::Error> {
    multiaddrs(d, "federation.listen")
}

fn bootstrap_addrs<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Multiaddr>, D::Error> {
    multiaddrs(d, "federation.bootstrap")
}

fn advertise_addrs<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Multiaddr>, D::Error> {
    multiaddrs(d, "federation.advertise")
}

fn steward_keys<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<PublicKey>, D::Error> {
    let items = Vec::<String>::deserialize(d)?;
    parse_each("federation.stewards", items, PublicKey::from_str).map_err(serde::de::Error::custom)
}

fn sync_secs<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match u64::deserialize(d)? {
        0 => Err(serde::de::Error::custom(
            "federation.sync_interval_secs must be at least 1",
        )),
        secs => Ok(secs),
    }
}

fn as_strings<S: Serializer>(addrs: &[Multiaddr], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(addrs.iter().map(|a| a.to_string()))
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

/// The version of the config file's layout, which its first setting must state
/// (`config_version = 1`).
pub const CONFIG_VERSION: u64 = 1;

/// The sections every config file must have (an empty one takes every default): a file cut
/// short loses its last sections, and a missing section must be an error, not defaults
/// (a node that lost `[federation]` would quietly leave its federation).
pub const SECTIONS: [&str; 7] = [
    "http",
    "storage",
    "log",
    "skills",
    "federation",
    "metrics",
    "profiles",
];

/// A config file as written: the version line and every section, each optional here so
/// that what is missing can be named.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    config_version: Option<u64>,
    http: Option<HttpConfig>,
    storage: Option<StorageConfig>,
    log: Option<LogConfig>,
    skills: Option<SkillsConfig>,
    federation: Option<FederationSettings>,
    metrics: Option<MetricsSettings>,
    profiles: Option<ProfilesSettings>,
}

impl Config {
    /// Parses a config file strictly: its version line, every section present, no unknown
    /// key. Errors name `path` and what is wrong (with the line, for a syntax error).
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let bad = |message: String| ConfigError::Parse {
            path: path.display().to_string(),
            message,
        };
        let file: ConfigFile = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        match file.config_version {
            None => {
                return Err(bad(format!(
                    "it has no `config_version` line. Add `config_version = {CONFIG_VERSION}` as \
                     its first line (after checking the file is complete: compare it with \
                     config/node.example.toml, which has every section)"
                )))
            }
            Some(CONFIG_VERSION) => {}
            Some(other) => {
                return Err(bad(format!(
                    "config_version = {other}, but this build reads config_version = \
                     {CONFIG_VERSION}"
                )))
            }
        }
        let present = [
            file.http.is_some(),
            file.storage.is_some(),
            file.log.is_some(),
            file.skills.is_some(),
            file.federation.is_some(),
            file.metrics.is_some(),
            file.profiles.is_some(),
        ];
        let missing: Vec<String> = SECTIONS
            .iter()
            .zip(present)
            .filter(|(_, p)| !p)
            .map(|(s, _)| format!("[{s}]"))
            .collect();
        if !missing.is_empty() {
            return Err(bad(format!(
                "the section{} {} {} missing: was the file cut short? Every section must be \
                 there (an empty one takes the defaults); see config/node.example.toml",
                if missing.len() == 1 { "" } else { "s" },
                missing.join(", "),
                if missing.len() == 1 { "is" } else { "are" },
            )));
        }
        Ok(Config {
            http: file.http.unwrap_or_default(),
            storage: file.storage.unwrap_or_default(),
            log: file.log.unwrap_or_default(),
            skills: file.skills.unwrap_or_default(),
            federation: file.federation.unwrap_or_default(),
            metrics: file.metrics.unwrap_or_default(),
            profiles: file.profiles.unwrap_or_default(),
        })
    }

    /// `snippet` (some sections) made into a whole config file: the version line first, and
    /// an empty section for each one it lacks. For tests and tools that set a few keys.
    pub fn complete(snippet: &str) -> String {
        let mut text = format!("config_version = {CONFIG_VERSION}\n{snippet}\n");
        for section in SECTIONS {
            if !snippet.contains(&format!("[{section}]")) {
                text.push_str(&format!("[{section}]\n"));
            }
        }
        text
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

    /// Parses a few sections as a whole file (version line and empty other sections added).
    fn parse_snippet(snippet: &str, path: &Path) -> Result<Config, ConfigError> {
        Config::parse(&Config::complete(snippet), path)
    }

    #[test]
    fn a_config_without_its_version_line_or_cut_short_is_refused_naming_what_is_missing() {
        let path = Path::new("/etc/techhire/config.toml");
        let unversioned = EXAMPLE.replacen("config_version = 1\n", "", 1);
        assert_ne!(unversioned, EXAMPLE, "the example has a version line");
        let err = Config::parse(&unversioned, path)
            .expect_err("no version")
            .to_string();
        assert!(
            err.contains("/etc/techhire/config.toml")
                && err.contains("config_version = 1")
                && err.contains("first line"),
            "{err}"
        );
        // Cut in half at a line end: the later sections are missing, named.
        let half = &EXAMPLE[..EXAMPLE.len() / 2];
        let half = &half[..half.rfind('\n').expect("a line end")];
        let err = Config::parse(half, path).expect_err("cut").to_string();
        assert!(
            err.contains("/etc/techhire/config.toml")
                && err.contains("[federation]")
                && err.contains("[profiles]")
                && err.contains("cut short"),
            "{err}"
        );
        // Cut in the middle of a line: a syntax error naming the line.
        let mid = EXAMPLE.find("listen = \"127").expect("a listen line") + 12;
        let err = Config::parse(&EXAMPLE[..mid], path)
            .expect_err("cut")
            .to_string();
        assert!(err.contains("line"), "{err}");
        let newer = EXAMPLE.replacen("config_version = 1", "config_version = 2", 1);
        let err = Config::parse(&newer, path).expect_err("newer").to_string();
        assert!(err.contains("config_version = 2"), "{err}");
    }

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
        let config = parse_snippet(
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
    fn federation_settings_parse_and_bad_values_name_their_key() {
        let steward = techhire_protocol::NodeKeypair::from_seed([7; 32]).public();
        let config = parse_snippet(
            &format!(
                "[federation]\nlisten = [\"/ip4/127.0.0.1/tcp/0\"]\n\
                 bootstrap = [\"/dns4/peer.example/tcp/7070\"]\n\
                 stewards = [\"{steward}\"]\nsync_interval_secs = 3\n"
            ),
            Path::new("x.toml"),
        )
        .expect("valid federation settings");
        let f = &config.federation;
        assert!(f.joined());
        assert_eq!(f.stewards, [steward]);
        assert_eq!(f.listen[0].to_string(), "/ip4/127.0.0.1/tcp/0");
        let runtime = f.runtime();
        assert_eq!(runtime.bootstrap, f.bootstrap);
        assert_eq!(runtime.sync_interval, Duration::from_secs(3));
        assert!(!Config::default().federation.joined());
        assert_eq!(
            Config::default().federation.listen[0].to_string(),
            "/ip4/0.0.0.0/tcp/7070"
        );

        for (text, key) in [
            (
                "listen = [\"/ip4/127.0.0.1/tcp/0\", \"127.0.0.1:7070\"]",
                "federation.listen[1]",
            ),
            ("bootstrap = [\"nonsense\"]", "federation.bootstrap[0]"),
            ("stewards = [\"abc\"]", "federation.stewards[0]"),
            ("sync_interval_secs = 0", "federation.sync_interval_secs"),
        ] {
            let err = parse_snippet(&format!("[federation]\n{text}\n"), Path::new("x.toml"))
                .expect_err(text)
                .to_string();
            assert!(err.contains(key), "{text}: {err}");
        }
    }

    #[test]
    fn profile_settings_parse_and_bad_values_name_their_key() {
        let config = parse_snippet(
            "[profiles]\nexpiry_days = 90\nsweep_interval_minutes = 15\n",
            Path::new("x.toml"),
        )
        .expect("valid profile settings");
        assert_eq!(config.profiles.expiry_days, 90);
        assert_eq!(config.profiles.sweep_interval_minutes, 15);
        assert_eq!(Config::default().profiles.expiry_days, 180);
        for (text, key) in [
            ("expiry_days = 0", "profiles.expiry_days"),
            ("expiry_days = 3651", "profiles.expiry_days"),
            (
                "sweep_interval_minutes = 0",
                "profiles.sweep_interval_minutes",
            ),
            (
                "sweep_interval_minutes = 10081",
                "profiles.sweep_interval_minutes",
            ),
            ("expiry = 3", "expiry"),
        ] {
            let err = parse_snippet(&format!("[profiles]\n{text}\n"), Path::new("x.toml"))
                .expect_err(text)
                .to_string();
            assert!(err.contains(key), "{text}: {err}");
        }
    }

    #[test]
    fn http_limits_parse_and_bad_values_name_their_key() {
        let config = parse_snippet(
            "[http]\nheader_read_timeout_secs = 3\nbody_read_timeout_secs = 7\n\
             keep_alive_timeout_secs = 20\nmax_connections = 100\nshutdown_grace_secs = 0\n",
            Path::new("x.toml"),
        )
        .expect("valid http settings");
        let limits = config.http.connection_limits(4096);
        assert_eq!(limits.header_read_timeout, Duration::from_secs(3));
        assert_eq!(limits.body_read_timeout, Duration::from_secs(7));
        assert_eq!(limits.keep_alive_timeout, Duration::from_secs(20));
        assert_eq!(limits.max_connections, 100);
        assert_eq!(limits.shutdown_grace, Duration::ZERO);
        // A cap above what the descriptor limit allows is lowered under it.
        assert!(config.http.connection_limits(256).max_connections < 256 - 64);
        for (text, key) in [
            (
                "header_read_timeout_secs = 0",
                "http.header_read_timeout_secs",
            ),
            (
                "body_read_timeout_secs = 3601",
                "http.body_read_timeout_secs",
            ),
            (
                "keep_alive_timeout_secs = 0",
                "http.keep_alive_timeout_secs",
            ),
            ("shutdown_grace_secs = 3601", "http.shutdown_grace_secs"),
        ] {
            let err = parse_snippet(&format!("[http]\n{text}\n"), Path::new("x.toml"))
                .expect_err(text)
                .to_string();
            assert!(err.contains(key), "{text}: {err}");
        }
    }

    #[test]
    fn typos_are_errors() {
        let err = parse_snippet(
            "[http]\nlisten_addr = \"127.0.0.1:1\"\n",
            Path::new("x.toml"),
        )
        .expect_err("unknown key must fail");
        assert!(err.to_string().contains("listen_addr"), "{err}");
    }
}
