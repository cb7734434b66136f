//! The `techhire` command line: argument parsing and what each command does.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};

use crate::auth::{self, Role, Token};
use crate::config::{Config, LogFormat};
use crate::index::CandidateIndex;
use crate::metrics::publish::{self, Publisher};
use crate::model::Record;
use crate::skills::Taxonomy;
use crate::store::Table;
use crate::{node_dir, seed, server};

mod backup;
mod demo;
mod federation;
mod metrics;
pub use federation::FederationCommand;
pub use metrics::MetricsCommand;

#[derive(Debug, Parser)]
#[command(name = "techhire", version, about = "A TechHire community node")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct DataDir {
    /// The node's data folder (key, config, database).
    #[arg(long, env = "TECHHIRE_DATA_DIR", default_value = "./techhire-data")]
    pub data_dir: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a node: key, config, database and a first operator account.
    Init {
        #[command(flatten)]
        dir: DataDir,
        /// The community this node serves, e.g. "Birmingham, AL".
        #[arg(long)]
        community: String,
        /// Its region (state or area code), e.g. AL.
        #[arg(long)]
        region: Option<String>,
    },
    /// Run the node (creating it first if the data folder is empty).
    Run(RunArgs),
    /// Manage API tokens (while the node is stopped; use the API while it runs).
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Fill a node with realistic synthetic community data.
    Seed {
        #[command(flatten)]
        dir: DataDir,
        #[arg(long, default_value_t = 1000)]
        candidates: u64,
        #[arg(long, default_value_t = 50)]
        employers: u64,
        #[arg(long, default_value_t = 100)]
        openings: u64,
        /// The same seed always gives the same data.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Check every record of a stopped node's database; exits non-zero if any is damaged.
    Check {
        #[command(flatten)]
        dir: DataDir,
        /// Rewrite a missing or lowered durable marker (db/techhire.durable) to the last
        /// commit the database holds, then check. Only if you know why it changed (operator
        /// guide, "Backups and recovery"): otherwise restore a backup.
        #[arg(long)]
        repair_marker: bool,
    },
    /// Back up a running node: a consistent copy of its whole database, asked of it over
    /// HTTP (POST /api/v1/backup; an operator token). node.key and config.toml are not in it.
    Backup {
        /// The file to write (must not exist; written as FILE.partial until complete).
        #[arg(long)]
        out: PathBuf,
        /// The node's HTTP address.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// An operator token.
        #[arg(long, env = "TECHHIRE_TOKEN", hide_env_values = true)]
        token: String,
    },
    /// Write a new data folder from a backup (refuses an existing folder).
    Restore(RestoreArgs),
    /// Write every record of a stopped node to a file, in the backup format (for moving to
    /// another machine, layout version or store).
    Export {
        #[command(flatten)]
        dir: DataDir,
        /// The file to write (must not exist).
        #[arg(long)]
        out: PathBuf,
    },
    /// Write a new data folder from an export (the same as restore).
    Import(RestoreArgs),
    /// Federation membership: steward keys, certificates, revocations, joining, status.
    Federation {
        #[command(subcommand)]
        command: FederationCommand,
    },
    /// The community's signed, anonymised metric reports and the national view.
    Metrics {
        #[command(subcommand)]
        command: MetricsCommand,
    },
    /// A steward and three seeded member communities on loopback, joined into one
    /// federation; prints the steward's public key and, per node, its web address, an
    /// operator token and a username and password for each role. Ctrl-C stops them all.
    Demo {
        /// Where the demo's nodes keep their data (reused by the next run).
        #[arg(long, default_value = "techhire-demo")]
        dir: PathBuf,
        /// The first node's HTTP port; the others use the next ones.
        #[arg(long, default_value_t = 8081)]
        http_port: u16,
        /// The first node's libp2p port; the others use the next ones.
        #[arg(long, default_value_t = 7071)]
        p2p_port: u16,
        /// Synthetic candidates per community.
        #[arg(long, default_value_t = 2000)]
        candidates: u64,
    },
}

/// `techhire restore` and `techhire import`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup or export file.
    pub file: PathBuf,
    /// The new data folder (must not exist).
    #[arg(long)]
    pub data_dir: PathBuf,
    /// The node's own node.key, copied into the new folder (it must be the key the backup
    /// belongs to).
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// The node's config.toml, checked and copied into the new folder.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub dir: DataDir,
    /// HTTP listen address (overrides the config file).
    #[arg(long, env = "TECHHIRE_HTTP_LISTEN")]
    pub http_listen: Option<SocketAddr>,
    /// Seconds a client has to send a request head (overrides the config file).
    #[arg(
        long,
        env = "TECHHIRE_HTTP_HEADER_READ_TIMEOUT_SECS",
        value_name = "SECS",
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub http_header_read_timeout_secs: Option<u64>,
    /// Seconds a client has to send a request body (overrides the config file).
    #[arg(
        long,
        env = "TECHHIRE_HTTP_BODY_READ_TIMEOUT_SECS",
        value_name = "SECS",
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub http_body_read_timeout_secs: Option<u64>,
    /// Seconds an idle keep-alive connection is kept (overrides the config file).
    #[arg(
        long,
        env = "TECHHIRE_HTTP_KEEP_ALIVE_TIMEOUT_SECS",
        value_name = "SECS",
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub http_keep_alive_timeout_secs: Option<u64>,
    /// HTTP connections served at once, 0 for automatic (overrides the config file).
    #[arg(long, env = "TECHHIRE_HTTP_MAX_CONNECTIONS", value_name = "N")]
    pub http_max_connections: Option<usize>,
    /// Seconds requests in flight get to finish at shutdown (overrides the config file).
    #[arg(
        long,
        env = "TECHHIRE_HTTP_SHUTDOWN_GRACE_SECS",
        value_name = "SECS",
        value_parser = clap::value_parser!(u64).range(0..=3600)
    )]
    pub http_shutdown_grace_secs: Option<u64>,
    /// Config file to use instead of `<data-dir>/config.toml`.
    #[arg(long, env = "TECHHIRE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Log filter (overrides the config file), e.g. debug.
    #[arg(long, env = "TECHHIRE_LOG")]
    pub log: Option<String>,
    /// Log format (overrides the config file).
    #[arg(long, env = "TECHHIRE_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
    /// sled's page cache in MiB (overrides the config file).
    #[arg(long, env = "TECHHIRE_CACHE_CAPACITY_MB", value_name = "MIB")]
    pub cache_capacity_mb: Option<u64>,
    /// Check every record's checksum before serving (overrides the config file).
    #[arg(long, env = "TECHHIRE_VERIFY_ON_START", value_name = "true|false")]
    pub verify_on_start: Option<bool>,
    /// The community's own skills file (overrides the config file); a relative path is
    /// taken from the current folder.
    #[arg(long, env = "TECHHIRE_SKILLS_EXTENSION", value_name = "FILE")]
    pub skills_extension: Option<PathBuf>,
    /// libp2p address for the federation to listen on, e.g. /ip4/0.0.0.0/tcp/7070
    /// (repeatable; the environment variable takes a comma-separated list; overrides the
    /// config file).
    #[arg(
        long = "p2p-listen",
        env = "TECHHIRE_P2P_LISTEN",
        value_name = "MULTIADDR",
        value_delimiter = ','
    )]
    pub p2p_listen: Vec<libp2p::Multiaddr>,
    /// Community name used when the data folder has to be created.
    #[arg(long, default_value = "My TechHire community")]
    pub community: String,
}

impl RunArgs {
    /// Puts the settings given as flags or `TECHHIRE_*` variables over the config file's.
    /// (clap has already preferred a flag to its variable.)
    pub fn apply_to(&self, config: &mut Config) {
        if let Some(addr) = self.http_listen {
            config.http.listen = addr;
        }
        let http = &mut config.http;
        for (flag, setting) in [
            (
                self.http_header_read_timeout_secs,
                &mut http.header_read_timeout_secs,
            ),
            (
                self.http_body_read_timeout_secs,
                &mut http.body_read_timeout_secs,
            ),
            (
                self.http_keep_alive_timeout_secs,
                &mut http.keep_alive_timeout_secs,
            ),
            (self.http_shutdown_grace_secs, &mut http.shutdown_grace_secs),
        ] {
            if let Some(secs) = flag {
                *setting = secs;
            }
        }
        if let Some(n) = self.http_max_connections {
            http.max_connections = n;
        }
        if let Some(filter) = &self.log {
            config.log.filter.clone_from(filter);
        }
        if let Some(format) = self.log_format {
            config.log.format = format;
        }
        if let Some(mb) = self.cache_capacity_mb {
            config.storage.cache_capacity_mb = mb;
        }
        if let Some(verify) = self.verify_on_start {
            config.storage.verify_on_start = verify;
        }
        if let Some(file) = &self.skills_extension {
            // Given on the command line or in the environment, a relative path means the
            // current folder, as for --config; only the config file's is taken from the
            // data folder. If the current folder is gone the path stays as given.
            let file = std::path::absolute(file).unwrap_or_else(|_| file.clone());
            config.skills.extension_file = Some(file);
        }
        if !self.p2p_listen.is_empty() {
            config.federation.listen.clone_from(&self.p2p_listen);
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Mint a token; its secret is printed alone on the last line of output.
    Create {
        #[command(flatten)]
        dir: DataDir,
        #[arg(long, value_enum)]
        role: Role,
        /// The employer an employer token acts for.
        #[arg(long)]
        employer: Option<u64>,
        #[arg(long, default_value = "made with techhire token create")]
        label: String,
    },
    /// List tokens (never their secrets).
    List {
        #[command(flatten)]
        dir: DataDir,
    },
    /// Revoke a token by id.
    Revoke {
        #[command(flatten)]
        dir: DataDir,
        id: u64,
    },
}

fn init_logging(filter: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    // A second init (tests) is harmless; keep the first.
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Runs a parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Init {
            dir,
            community,
            region,
        } => {
            init_logging("info", LogFormat::Text);
            let created = node_dir::init(
                &dir.data_dir,
                &community,
                region.as_deref(),
                &Config::default().storage.store_options(),
            )
            .await?;
            // The address the node will serve once started, from the config just written.
            let listen = node_dir::load_config(&dir.data_dir, None)?.http.listen;
            print_created(&dir.data_dir, &created, listen)?;
            print_web_interface(&created.store, listen, true).await?;
            Ok(())
        }
        Command::Run(args) => run_node(args).await,
        Command::Token { command } => {
            init_logging("warn", LogFormat::Text);
            token(command).await
        }
        Command::Seed {
            dir,
            candidates,
            employers,
            openings,
            seed: s,
        } => {
            init_logging("info", LogFormat::Text);
            let taxonomy = node_dir::load_config(&dir.data_dir, None)?
                .skills
                .taxonomy(&dir.data_dir)?;
            let store = node_dir::open_store_for_command(&dir.data_dir)?;
            let opts = seed::SeedOptions {
                candidates,
                employers,
                openings,
                seed: s,
            };
            let summary = seed::seed(&store, &taxonomy, &opts, |p| {
                println!("{p}");
            })?;
            println!("{summary}");
            Ok(())
        }
        Command::Check { dir, repair_marker } => {
            init_logging("warn", LogFormat::Text);
            if repair_marker {
                let db = dir.data_dir.join(node_dir::DB_DIR);
                let held = crate::store::Store::repair_marker(&db)
                    .with_context(|| format!("repairing the marker of {}", db.display()))?;
                println!("the durable marker now says commit {held}, the last the database holds");
            }
            let config = node_dir::load_config(&dir.data_dir, None)?;
            let mut opts = config.storage.store_options();
            opts.verify_on_open = true;
            let (_, report) = node_dir::open_store(&dir.data_dir, &opts)?;
            println!("ok: {} entries checked, none damaged", report.records);
            Ok(())
        }
        Command::Backup { out, url, token } => {
            init_logging("warn", LogFormat::Text);
            backup::backup(&url, &token, &out).await
        }
        Command::Export { dir, out } => {
            init_logging("warn", LogFormat::Text);
            backup::export(&dir.data_dir, &out)
        }
        Command::Restore(args) | Command::Import(args) => {
            init_logging("warn", LogFormat::Text);
            backup::restore(
                &args.file,
                &args.data_dir,
                args.key.as_deref(),
                args.config.as_deref(),
            )
        }
        Command::Federation { command } => {
            init_logging("warn", LogFormat::Text);
            federation::run(command).await
        }
        Command::Metrics { command } => {
            init_logging("warn", LogFormat::Text);
            metrics::run(command).await
        }
        Command::Demo {
            dir,
            http_port,
            p2p_port,
            candidates,
        } => {
            init_logging("warn", LogFormat::Text);
            demo::run(&dir, http_port, p2p_port, candidates).await
        }
    }
}

/// Search results and record reads come from sled's page cache; a store many times larger
/// than the cache makes them read the disk (at a million candidates, search throughput
/// falls by about a third), so say so once at start.
fn warn_if_cache_is_small(store: &crate::store::Store, cache: u64) -> anyhow::Result<()> {
    let on_disk = store.size_on_disk()?;
    if on_disk > 4 * cache {
        tracing::warn!(
            store_mb = on_disk / (1024 * 1024),
            cache_mb = cache / (1024 * 1024),
            suggested_cache_mb = on_disk / 4 / (1024 * 1024),
            "the store is over four times sled's page cache: reads and searches will go to \
             disk; raise storage.cache_capacity_mb (operator guide, \"Sizing\")"
        );
    }
    Ok(())
}

fn print_created(dir: &Path, created: &node_dir::Created, addr: SocketAddr) -> anyhow::Result<()> {
    let base = web_base(addr);
    let mut out = std::io::stdout().lock();
    writeln!(out, "Created a TechHire node in {}", dir.display())?;
    writeln!(out, "Node key: {}", created.node_key)?;
    writeln!(
        out,
        "API: {base}/api/v1 (reference: {base}/api/v1/openapi.json)"
    )?;
    writeln!(
        out,
        "First operator token (shown only this once; keep it safe):"
    )?;
    writeln!(out, "{}", created.operator_token)?;
    Ok(())
}

/// `http://host:port` for a browser on this machine: a node listening on every address
/// (`0.0.0.0`, `::`) is reached there through loopback, the one address where the pages
/// allow sign-in over plain HTTP.
fn web_base(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => {
            std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)
        }
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => {
            std::net::IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)
        }
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

/// The line before a one-time sign-in link; tests and scripts read the next line.
pub const FIRST_SIGN_IN_HEADING: &str = "First sign-in";

/// Prints where the web interface is and, while the first operator account has no
/// password, a new one-time link that signs in as it (`auth::first_sign_in`).
async fn print_web_interface(
    store: &crate::store::Store,
    addr: SocketAddr,
    later: bool,
) -> anyhow::Result<()> {
    let base = web_base(addr);
    let link = auth::first_sign_in::create_link(store)
        .await
        .context("making a one-time sign-in link")?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Web interface: {base}/ (staff sign in at {base}/sign-in)"
    )?;
    if let Some(secret) = link {
        let when = if later {
            "once the node runs (techhire run)"
        } else {
            "in a browser on this machine"
        };
        writeln!(
            out,
            "{FIRST_SIGN_IN_HEADING}: open this link {when}, within {} minutes, to sign in \
             as \"{}\" and choose its password (it works once; while the account has no \
             password, each start prints a new one):",
            auth::first_sign_in::LINK_MINUTES,
            auth::first_sign_in::FIRST_ACCOUNT,
        )?;
        writeln!(out, "{base}/sign-in/first?token={secret}")?;
    }
    Ok(())
}

async fn run_node(args: RunArgs) -> anyhow::Result<()> {
    let dir = &args.dir.data_dir;
    let mut config: Config = node_dir::load_config(dir, args.config.as_deref())?;
    args.apply_to(&mut config);
    init_logging(&config.log.filter, config.log.format);
    // First of all: a thousand stalled clients used up the usual 1024, and the HTTP
    // connection cap is set under whatever figure is in force.
    let (fd_before, fd_limit) = server::FdLimit::raise();
    let limits = config.http.connection_limits(fd_limit.soft);
    tracing::info!(
        open_file_limit = fd_limit.soft,
        raised_from = fd_before.soft,
        max_connections = limits.max_connections,
        header_read_timeout_secs = limits.header_read_timeout.as_secs(),
        body_read_timeout_secs = limits.body_read_timeout.as_secs(),
        keep_alive_timeout_secs = limits.keep_alive_timeout.as_secs(),
        shutdown_grace_secs = limits.shutdown_grace.as_secs(),
        "HTTP connection limits"
    );
    // Before anything is created or opened: a bad skills file stops the node at once, with
    // every problem listed.
    let taxonomy = load_taxonomy(&config, dir)?;

    let created = if node_dir::exists(dir) {
        None
    } else {
        Some(node_dir::init(dir, &args.community, None, &config.storage.store_options()).await?)
    };
    let keypair = node_dir::read_key(dir)?;
    let started = std::time::Instant::now();
    let (store, report) = match &created {
        Some(c) => {
            let report = c.store.verify_all()?;
            (c.store.clone(), report)
        }
        None => node_dir::open_store(dir, &config.storage.store_options())?,
    };
    node_dir::bind_key(&store, &keypair).await?;
    tracing::info!(
        entries = report.records,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "store checked"
    );
    // The search index exists before the federation starts, so that its follower hears
    // every shared profile stored from the first; it is loaded with the state below.
    let index = std::sync::Arc::new(CandidateIndex::following(keypair.public()));
    // Tests and scripts read its `Federation listening on` lines, printed before the HTTP one.
    let federation = federation::start(
        &config.federation,
        &store,
        &keypair,
        Some(index.follower(store.clone())),
    )
    .await?;

    let listener = tokio::net::TcpListener::bind(config.http.listen)
        .await
        .with_context(|| format!("listening on {}", config.http.listen))?;
    let addr = listener.local_addr()?;
    if let Some(created) = &created {
        print_created(dir, created, addr)?;
    }
    print_web_interface(&store, addr, false).await?;
    let shutdown = server::shutdown_signal().context("installing signal handlers")?;
    // Tests and scripts read this line to find the port when listening on port 0.
    println!("Listening on http://{addr}");
    tracing::info!(%addr, node_key = %keypair.public(), "serving");

    let mut state = server::state_with_index(
        store.clone(),
        keypair.public().to_string(),
        std::sync::Arc::new(taxonomy),
        federation,
        index,
    )?;
    state.metrics = std::sync::Arc::new(Publisher::new(config.metrics.threshold));
    state.sharing = std::sync::Arc::new(crate::sharing::Sharing::new(&config.profiles));
    if let Some(federation) = &state.federation {
        // At once (a crash may have interrupted a publication; consents recorded before the
        // node joined are published now), then every interval: expiry.
        tokio::spawn(crate::sharing::schedule(
            state.sharing.clone(),
            store.clone(),
            federation.clone(),
            Duration::from_secs(config.profiles.sweep_interval_minutes * 60),
        ));
    }
    if let Some(federation) = &state.federation {
        if config.metrics.publish_interval_hours > 0 {
            tokio::spawn(publish::schedule(
                state.metrics.clone(),
                store.clone(),
                federation.clone(),
                Duration::from_secs(config.metrics.publish_interval_hours * 3600),
            ));
        }
    }
    warn_if_cache_is_small(&store, config.storage.store_options().cache_capacity)?;
    server::serve_with(listener, state, shutdown, limits)
        .await
        .context("serving HTTP")?;
    store.flush().context("flushing the database at shutdown")?;
    tracing::info!("stopped cleanly");
    Ok(())
}

/// The node's skills taxonomy, as configured, with a log line saying which.
fn load_taxonomy(config: &Config, dir: &Path) -> anyhow::Result<Taxonomy> {
    let taxonomy = config.skills.taxonomy(dir)?;
    match config.skills.extension_path(dir) {
        Some(file) => tracing::info!(
            file = %file.display(),
            skills = taxonomy.len(),
            added = taxonomy.len().saturating_sub(Taxonomy::builtin().len()),
            "skills taxonomy extended with the community's file"
        ),
        None => tracing::info!(skills = taxonomy.len(), "built-in skills taxonomy"),
    }
    Ok(taxonomy)
}

async fn token(command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create {
            dir,
            role,
            employer,
            label,
        } => {
            let store = node_dir::open_store_for_command(&dir.data_dir)?;
            let token = Token {
                role,
                employer_id: employer,
                label,
                account_id: None,
                expires_at: None,
                revoked_at: None,
            };
            let (id, secret) = auth::create_token(&store, token)
                .await
                .map_err(|e| match e {
                    auth::AuthError::Invalid(f) => anyhow::anyhow!(
                        "--{}: {}",
                        if f.field == "employer_id" {
                            "employer"
                        } else {
                            &f.field
                        },
                        f.reason
                    ),
                    other => other.into(),
                })?;
            println!("Token {id} ({role:?}) created. Its secret, shown only now:");
            println!("{secret}");
            Ok(())
        }
        TokenCommand::List { dir } => {
            let store = node_dir::open_store_for_command(&dir.data_dir)?;
            let mut after = None;
            println!(
                "{:>6}  {:<9} {:>8}  {:<8} label",
                "id", "role", "employer", "state"
            );
            loop {
                let page = store.list::<Record<Token>>(Table::Token, after, 500, |_| true)?;
                for t in &page.items {
                    let state = if t.data.revoked_at.is_some() {
                        "revoked"
                    } else if t.data.expires_at.is_some_and(|e| e <= chrono::Utc::now()) {
                        "expired"
                    } else {
                        "active"
                    };
                    let employer = t
                        .data
                        .employer_id
                        .map(|e| e.to_string())
                        .unwrap_or_default();
                    println!(
                        "{:>6}  {:<9} {:>8}  {:<8} {}",
                        t.id,
                        format!("{:?}", t.data.role).to_lowercase(),
                        employer,
                        state,
                        t.data.label
                    );
                }
                match page.next_after {
                    Some(a) => after = Some(a),
                    None => break,
                }
            }
            Ok(())
        }
        TokenCommand::Revoke { dir, id } => {
            let store = node_dir::open_store_for_command(&dir.data_dir)?;
            if !auth::revoke_token(&store, id).await? {
                bail!("there is no token with id {id}");
            }
            println!("Token {id} revoked.");
            Ok(())
        }
    }
}

/// Calls a running node's API as `token` and returns the body of a successful answer; an
/// error answer becomes an error with its status and reason.
async fn call_node(
    base: &str,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> anyhow::Result<String> {
    let url = format!("{}{path}", base.trim_end_matches('/'));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .context("making an HTTP client")?;
    let mut request = client.request(method, &url).bearer_auth(token.trim());
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request
        .send()
        .await
        .with_context(|| format!("asking {url} (is the node running there? see --url)"))?;
    let code = response.status();
    let text = response
        .text()
        .await
        .with_context(|| format!("reading the answer of {url}"))?;
    if !code.is_success() {
        let body: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let reason = body["reason"].as_str().unwrap_or(text.as_str());
        bail!("{url} answered {code}: {reason}");
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_args(flags: &[&str]) -> RunArgs {
        let argv = ["techhire", "run"].iter().chain(flags);
        match Cli::try_parse_from(argv).expect("valid arguments").command {
            Command::Run(args) => args,
            other => panic!("parsed {other:?}"),
        }
    }

    /// The only test that sets these variables, so no other test sees them.
    #[test]
    fn storage_skills_and_p2p_settings_file_then_environment_then_flags() {
        let file = Config::parse(
            &Config::complete(
                "[storage]\ncache_capacity_mb = 512\nverify_on_start = true\n\
                 [skills]\nextension_file = \"skills.local.toml\"\n",
            ),
            Path::new("test.toml"),
        )
        .expect("valid config");

        let mut config = file.clone();
        run_args(&[]).apply_to(&mut config);
        assert_eq!(config, file, "nothing given: the file's settings stand");

        std::env::set_var("TECHHIRE_CACHE_CAPACITY_MB", "64");
        std::env::set_var("TECHHIRE_VERIFY_ON_START", "false");
        std::env::set_var("TECHHIRE_SKILLS_EXTENSION", "/etc/techhire/env.toml");
        std::env::set_var(
            "TECHHIRE_P2P_LISTEN",
            "/ip4/127.0.0.1/tcp/7071,/ip6/::1/tcp/7071",
        );
        let mut config = file.clone();
        run_args(&[]).apply_to(&mut config);
        let listen: Vec<String> = config
            .federation
            .listen
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(listen, ["/ip4/127.0.0.1/tcp/7071", "/ip6/::1/tcp/7071"]);
        assert_eq!(config.storage.cache_capacity_mb, 64);
        assert!(!config.storage.verify_on_start);
        assert_eq!(
            config.skills.extension_file,
            Some(PathBuf::from("/etc/techhire/env.toml"))
        );
        assert_eq!(
            config.storage.store_options().cache_capacity,
            64 * 1024 * 1024
        );

        let mut config = file.clone();
        run_args(&[
            "--cache-capacity-mb",
            "32",
            "--verify-on-start",
            "true",
            "--skills-extension",
            "flag.toml",
            "--p2p-listen",
            "/ip4/10.0.0.1/tcp/1",
            "--p2p-listen",
            "/ip4/10.0.0.2/tcp/2",
        ])
        .apply_to(&mut config);
        std::env::remove_var("TECHHIRE_P2P_LISTEN");
        assert_eq!(
            config.federation.listen,
            [
                "/ip4/10.0.0.1/tcp/1"
                    .parse::<libp2p::Multiaddr>()
                    .expect("valid"),
                "/ip4/10.0.0.2/tcp/2".parse().expect("valid"),
            ],
            "the flags win"
        );
        std::env::remove_var("TECHHIRE_CACHE_CAPACITY_MB");
        std::env::remove_var("TECHHIRE_VERIFY_ON_START");
        std::env::remove_var("TECHHIRE_SKILLS_EXTENSION");
        assert_eq!(config.storage.cache_capacity_mb, 32, "the flag wins");
        assert!(config.storage.verify_on_start, "the flag wins");
        // A relative path on the command line is the current folder's, not the data folder's.
        let from_flag = config
            .skills
            .extension_file
            .clone()
            .expect("set by the flag");
        assert!(from_flag.is_absolute(), "{from_flag:?}");
        assert!(from_flag.ends_with("flag.toml"), "{from_flag:?}");
        assert_eq!(
            config.skills.extension_path(Path::new("/data")),
            Some(from_flag)
        );

        let bad = Cli::try_parse_from(["techhire", "run", "--verify-on-start", "maybe"]);
        assert!(bad.is_err(), "only true or false");
        let bad = Cli::try_parse_from(["techhire", "run", "--p2p-listen", "127.0.0.1:7070"]);
        assert!(bad.is_err(), "a multiaddr, not a socket address");
    }

    #[test]
    fn http_limit_flags_override_the_file_and_are_range_checked() {
        let mut config = Config::default();
        run_args(&[
            "--http-header-read-timeout-secs",
            "3",
            "--http-body-read-timeout-secs",
            "4",
            "--http-keep-alive-timeout-secs",
            "5",
            "--http-max-connections",
            "50",
            "--http-shutdown-grace-secs",
            "0",
        ])
        .apply_to(&mut config);
        let http = &config.http;
        assert_eq!(
            (
                http.header_read_timeout_secs,
                http.body_read_timeout_secs,
                http.keep_alive_timeout_secs,
                http.max_connections,
                http.shutdown_grace_secs
            ),
            (3, 4, 5, 50, 0)
        );
        for (flag, value) in [
            ("--http-header-read-timeout-secs", "0"),
            ("--http-body-read-timeout-secs", "3601"),
            ("--http-keep-alive-timeout-secs", "0"),
            ("--http-shutdown-grace-secs", "3601"),
        ] {
            let bad = Cli::try_parse_from(["techhire", "run", flag, value]);
            assert!(bad.is_err(), "{flag} {value} accepted");
        }
    }
}
