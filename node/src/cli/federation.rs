//! `techhire federation …`: steward keys, membership certificates and revocations, joining
//! a federation, storing a steward's record, and asking a running node for its status. Also
//! starting the federation side of `techhire run`.
//!
//! Steward commands (`steward-init`, `issue`, `revoke`) need no node: a steward keeps its
//! key offline and hands out files, each one signed record as a line of hex.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use chrono::{DateTime, Utc};
use clap::Subcommand;
use libp2p::Multiaddr;
use techhire_protocol::{
    Membership, MembershipCert, MembershipError, NodeKeypair, PublicKey, RecordKind, Revocation,
    SignedRecord, MAX_COMMUNITY_BYTES, MAX_REASON_BYTES, MAX_REGION_BYTES,
};

use super::DataDir;
use crate::config::{Config, FederationSettings};
use crate::federation::{self, Federation, OnStored};
use crate::node_dir;
use crate::store::Store;

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

#[derive(Debug, Subcommand)]
pub enum FederationCommand {
    /// Make a new steward key (hex seed, mode 0600) and print its public key.
    StewardInit {
        /// Where to write the key; an existing file is never overwritten.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Sign a membership certificate for a community node's key.
    Issue {
        /// The steward key file (from `steward-init`).
        #[arg(long, value_name = "FILE")]
        steward_key: PathBuf,
        /// The node's public key (64 hex digits; `techhire init` prints it as "Node key").
        #[arg(long, value_name = "PUBKEY")]
        node_key: String,
        /// The community the node serves, e.g. "El Paso, TX".
        #[arg(long)]
        community: String,
        /// Where it is, e.g. TX.
        #[arg(long)]
        region: String,
        /// Days the certificate is valid from now.
        #[arg(long, default_value_t = 365, value_name = "DAYS")]
        valid_days: u32,
        /// Where to write the certificate; an existing file is never overwritten.
        #[arg(long, value_name = "CERT")]
        out: PathBuf,
    },
    /// Sign a revocation of a node's membership, effective now.
    Revoke {
        /// The steward key file (from `steward-init`).
        #[arg(long, value_name = "FILE")]
        steward_key: PathBuf,
        /// The revoked node's public key (64 hex digits).
        #[arg(long, value_name = "PUBKEY")]
        node_key: String,
        /// Why, for the other operators (at most 500 bytes).
        #[arg(long, default_value = "", value_name = "TEXT")]
        reason: String,
        /// Where to write the revocation; an existing file is never overwritten.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Store a steward's certificate or revocation in a stopped member node; the node
    /// passes it on to the federation when it runs.
    Admit {
        #[command(flatten)]
        dir: DataDir,
        /// The record file (from `issue` or `revoke`).
        #[arg(long, value_name = "FILE")]
        record: PathBuf,
        /// Config file to use instead of `<data-dir>/config.toml`.
        #[arg(long, env = "TECHHIRE_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Join a federation with a steward's certificate for this node's key (node stopped):
    /// stores the certificate and writes the config's `[federation]` section.
    Join {
        #[command(flatten)]
        dir: DataDir,
        /// The certificate file (from `techhire federation issue`).
        #[arg(long, value_name = "CERT")]
        cert: PathBuf,
        /// A steward's public key the federation trusts (repeat for each steward).
        #[arg(long = "steward-pubkey", value_name = "KEY", required = true)]
        steward_pubkeys: Vec<String>,
        /// A member to connect to, as its `Federation listening on` address (repeatable).
        #[arg(long = "bootstrap", value_name = "MULTIADDR")]
        bootstrap: Vec<String>,
        /// Config file to write instead of `<data-dir>/config.toml`.
        #[arg(long, env = "TECHHIRE_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Ask a running node for its federation status (GET /api/v1/federation/status).
    Status {
        /// The node's HTTP address.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// An operator token.
        #[arg(long, env = "TECHHIRE_TOKEN", hide_env_values = true)]
        token: String,
    },
}

/// Runs one `techhire federation` command.
pub(super) async fn run(command: FederationCommand) -> anyhow::Result<()> {
    match command {
        FederationCommand::StewardInit { out } => steward_init(&out),
        FederationCommand::Issue {
            steward_key,
            node_key,
            community,
            region,
            valid_days,
            out,
        } => issue(
            &steward_key,
            &node_key,
            &community,
            &region,
            valid_days,
            &out,
        ),
        FederationCommand::Revoke {
            steward_key,
            node_key,
            reason,
            out,
        } => revoke(&steward_key, &node_key, &reason, &out),
        FederationCommand::Admit {
            dir,
            record,
            config,
        } => admit(&dir.data_dir, &record, config.as_deref()).await,
        FederationCommand::Join {
            dir,
            cert,
            steward_pubkeys,
            bootstrap,
            config,
        } => {
            join(
                &dir.data_dir,
                &cert,
                &steward_pubkeys,
                &bootstrap,
                config.as_deref(),
            )
            .await
        }
        FederationCommand::Status { url, token } => status(&url, &token).await,
    }
}

fn now_ms() -> anyhow::Result<u64> {
    u64::try_from(Utc::now().timestamp_millis())
        .ok()
        .filter(|ms| *ms > 0)
        .ok_or_else(|| anyhow!("the system clock is before 1970"))
}

fn show_ms(ms: u64) -> String {
    i64::try_from(ms)
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .map_or_else(
            || format!("{ms} ms"),
            |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
        )
}

/// Creates `path` with `contents`, refusing to replace an existing file.
fn write_new(path: &Path, contents: &str, mode: u32, flag: &str) -> anyhow::Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => anyhow!(
                "{} already exists; refusing to overwrite it (choose another {flag})",
                path.display()
            ),
            _ => anyhow::Error::new(e).context(format!("creating {}", path.display())),
        })?;
    file.write_all(contents.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

fn steward_init(out: &Path) -> anyhow::Result<()> {
    let steward = NodeKeypair::generate();
    write_new(out, &format!("{}\n", steward.to_hex()), 0o600, "--out")?;
    println!(
        "Steward key written to {} (mode 0600). Keep it offline and backed up: whoever holds \
         it can admit nodes to the federation, and a lost key cannot be replaced without \
         every member changing its stewards.",
        out.display()
    );
    println!("Steward public key (every member's `federation join --steward-pubkey`):");
    println!("{}", steward.public());
    Ok(())
}

fn read_steward_key(path: &Path) -> anyhow::Result<NodeKeypair> {
    let text = fs::read_to_string(path)
        .with_context(|| format!("reading the steward key {}", path.display()))?;
    if let Ok(meta) = fs::metadata(path) {
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(path = %path.display(), "the steward key is readable by other users; run chmod 600 on it");
        }
    }
    NodeKeypair::from_hex(&text).map_err(|e| {
        anyhow!(
            "{} is not a steward key ({e}); `techhire federation steward-init` makes one",
            path.display()
        )
    })
}

/// A node key given on the command line, with the flag named in the error.
fn parse_key(text: &str, flag: &str) -> anyhow::Result<PublicKey> {
    PublicKey::from_str(text.trim()).map_err(|e| {
        anyhow!(
            "{flag} {text:?} is not a node's public key: {e} (`techhire init` prints a node's \
             key as \"Node key\"; `GET /healthz` shows it as node_key)"
        )
    })
}

/// Checks a text field of a membership record against its limit in bytes.
fn check_len(flag: &str, value: &str, min: usize, max: usize) -> anyhow::Result<()> {
    if value.len() < min {
        bail!("{flag} must not be empty");
    }
    if value.len() > max {
        bail!(
            "{flag} is {} bytes long in UTF-8; at most {max} are allowed",
            value.len()
        );
    }
    Ok(())
}

fn issue(
    steward_key: &Path,
    node_key: &str,
    community: &str,
    region: &str,
    valid_days: u32,
    out: &Path,
) -> anyhow::Result<()> {
    let member = parse_key(node_key, "--node-key")?;
    check_len("--community", community.trim(), 1, MAX_COMMUNITY_BYTES)?;
    check_len("--region", region.trim(), 1, MAX_REGION_BYTES)?;
    if valid_days == 0 {
        bail!("--valid-days must be at least 1");
    }
    let steward = read_steward_key(steward_key)?;
    let now = now_ms()?;
    let not_after_ms = now
        .checked_add(u64::from(valid_days) * DAY_MS)
        .ok_or_else(|| anyhow!("--valid-days {valid_days} is too far in the future"))?;
    let cert = MembershipCert {
        member,
        community: community.trim().to_string(),
        region: region.trim().to_string(),
        not_before_ms: now,
        not_after_ms,
    };
    let record = cert
        .try_sign(&steward, now)
        .context("signing the certificate")?;
    write_new(
        out,
        &format!("{}\n", hex::encode(record.encode())),
        0o644,
        "--out",
    )?;
    println!("Membership certificate written to {}", out.display());
    println!("  node key:  {member}");
    println!("  community: {} (region {})", cert.community, cert.region);
    println!(
        "  valid:     {} to {} ({valid_days} days)",
        show_ms(cert.not_before_ms),
        show_ms(cert.not_after_ms)
    );
    println!("  steward:   {}", steward.public());
    println!(
        "The node's operator joins with: techhire federation join --data-dir DIR --cert {} \
         --steward-pubkey {} --bootstrap <a member's address>",
        out.display(),
        steward.public()
    );
    Ok(())
}

fn revoke(steward_key: &Path, node_key: &str, reason: &str, out: &Path) -> anyhow::Result<()> {
    let member = parse_key(node_key, "--node-key")?;
    check_len("--reason", reason, 0, MAX_REASON_BYTES)?;
    let steward = read_steward_key(steward_key)?;
    let now = now_ms()?;
    let revocation = Revocation {
        member,
        effective_ms: now,
        reason: reason.to_string(),
    };
    let record = revocation
        .try_sign(&steward, now)
        .context("signing the revocation")?;
    write_new(
        out,
        &format!("{}\n", hex::encode(record.encode())),
        0o644,
        "--out",
    )?;
    println!("Revocation written to {}", out.display());
    println!("  node key:  {member}");
    println!("  effective: {}", show_ms(now));
    if !reason.is_empty() {
        println!("  reason:    {reason}");
    }
    println!("  steward:   {}", steward.public());
    println!(
        "To publish it, on any member node (stopped): techhire federation admit --data-dir DIR \
         --record {}; when that node runs, it passes the revocation to every member.",
        out.display()
    );
    Ok(())
}

/// Reads a record file written by `issue` or `revoke`: one line of hex.
fn read_record(path: &Path, what: &str) -> anyhow::Result<SignedRecord> {
    let text =
        fs::read_to_string(path).with_context(|| format!("reading {what} {}", path.display()))?;
    let bytes = hex::decode(text.trim()).map_err(|e| {
        anyhow!(
            "{} is not {what} file (expected one line of hex, as `techhire federation issue` \
             and `revoke` write): {e}",
            path.display()
        )
    })?;
    let record = SignedRecord::decode(&bytes)
        .map_err(|e| anyhow!("{} does not hold a signed record: {e}", path.display()))?;
    record.verify().map_err(|_| {
        anyhow!(
            "the signature of {} does not verify: the file is damaged or was altered",
            path.display()
        )
    })?;
    Ok(record)
}

/// What `admit` or `join` says about a steward's record.
fn describe(record: &SignedRecord) -> String {
    if record.kind() == RecordKind::MEMBERSHIP_CERT {
        match MembershipCert::decode(record.payload()) {
            Ok(c) => format!(
                "certificate for {} ({}, {}) valid {} to {}",
                c.member,
                c.community,
                c.region,
                show_ms(c.not_before_ms),
                show_ms(c.not_after_ms)
            ),
            Err(_) => "certificate".into(),
        }
    } else {
        match Revocation::decode(record.payload()) {
            Ok(r) if r.reason.is_empty() => format!(
                "revocation of {} effective {}",
                r.member,
                show_ms(r.effective_ms)
            ),
            Ok(r) => format!(
                "revocation of {} effective {} ({})",
                r.member,
                show_ms(r.effective_ms),
                r.reason
            ),
            Err(_) => "revocation".into(),
        }
    }
}

/// Stores a verified membership record; `false` if the node held it already.
pub(super) async fn keep(store: &Store, record: &SignedRecord) -> anyhow::Result<bool> {
    let record = record.clone();
    store
        .commit(move |tx| federation::keep_membership(tx, &record))
        .await
        .context("storing the record")
}

async fn admit(dir: &Path, file: &Path, config_file: Option<&Path>) -> anyhow::Result<()> {
    let config = node_dir::load_config(dir, config_file)?;
    let stewards = &config.federation.stewards;
    if stewards.is_empty() {
        bail!(
            "this node trusts no steward yet (federation.stewards is empty): it has not joined \
             a federation; `techhire federation join` joins one"
        );
    }
    let record = read_record(file, "a membership record")?;
    let mut membership = Membership::new(stewards.clone());
    membership.admit(&record).map_err(|e| match e {
        MembershipError::NotMembership => anyhow!(
            "{} is neither a membership certificate nor a revocation",
            file.display()
        ),
        MembershipError::UntrustedSteward => anyhow!(
            "{} is signed by {}, which is not one of this node's stewards \
             (federation.stewards: {})",
            file.display(),
            record.signer(),
            join_keys(stewards)
        ),
        MembershipError::Payload(e) => anyhow!("{} is not a valid record: {e}", file.display()),
    })?;
    let store = node_dir::open_store_for_command(dir)?;
    let stored = keep(&store, &record).await?;
    let what = describe(&record);
    if stored {
        println!("Stored the {what}, signed by steward {}.", record.signer());
        println!(
            "When the node runs it passes it to every member it connects to, and they to \
             theirs (members also exchange membership records every sync interval)."
        );
    } else {
        println!("The node already holds this {what}; nothing changed.");
    }
    Ok(())
}

fn join_keys(keys: &[PublicKey]) -> String {
    keys.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

async fn join(
    dir: &Path,
    cert_file: &Path,
    steward_args: &[String],
    bootstrap_args: &[String],
    config_file: Option<&Path>,
) -> anyhow::Result<()> {
    let mut stewards = Vec::new();
    for text in steward_args {
        let key = PublicKey::from_str(text.trim())
            .map_err(|e| anyhow!("--steward-pubkey {text:?} is not a steward's public key: {e}"))?;
        if !stewards.contains(&key) {
            stewards.push(key);
        }
    }
    let mut bootstrap = Vec::new();
    for text in bootstrap_args {
        let addr = Multiaddr::from_str(text.trim()).map_err(|e| {
            anyhow!(
                "--bootstrap {text:?} is not a multiaddr ({e}); give a member's `Federation \
                 listening on` address, e.g. /ip4/203.0.113.7/tcp/7070/p2p/12D3KooW…"
            )
        })?;
        if !addr
            .iter()
            .any(|p| matches!(p, libp2p::multiaddr::Protocol::P2p(_)))
        {
            tracing::warn!(%addr, "a bootstrap address without /p2p/<peer id> is dialled again at every sync; add the peer id the member printed");
        }
        bootstrap.push(addr);
    }
    let own = node_dir::read_key(dir)?.public();

    let record = read_record(cert_file, "a certificate")?;
    if record.kind() != RecordKind::MEMBERSHIP_CERT {
        bail!(
            "{} is not a membership certificate (it is a {} record)",
            cert_file.display(),
            record.kind().name().unwrap_or("unknown")
        );
    }
    if !stewards.contains(record.signer()) {
        bail!(
            "{} is signed by {}, which is not among the --steward-pubkey keys given ({}); \
             check the steward's public key, or ask one of these stewards for a certificate",
            cert_file.display(),
            record.signer(),
            join_keys(&stewards)
        );
    }
    let cert = MembershipCert::decode(record.payload())
        .map_err(|e| anyhow!("{} is not a valid certificate: {e}", cert_file.display()))?;
    if cert.member != own {
        bail!(
            "{} certifies the node key {}, but this node's key is {own} ({}); ask the steward \
             for a certificate for {own}",
            cert_file.display(),
            cert.member,
            node_dir::key_path(dir).display()
        );
    }
    let now = now_ms()?;
    if cert.not_after_ms <= now {
        bail!(
            "{} expired on {}; ask the steward for a new one",
            cert_file.display(),
            show_ms(cert.not_after_ms)
        );
    }

    // Everything is checked before anything is written; the new config is checked too.
    let config_path =
        config_file.map_or_else(|| dir.join(node_dir::CONFIG_FILE), Path::to_path_buf);
    let updated = with_federation(&config_path, &stewards, &bootstrap)?;
    let store = node_dir::open_store_for_command(dir)?;
    keep(&store, &record).await?;
    drop(store);
    replace_file(&config_path, &updated)?;

    println!(
        "This node ({own}) is certified by steward {} as {} ({}) until {}.",
        record.signer(),
        cert.community,
        cert.region,
        show_ms(cert.not_after_ms)
    );
    if cert.not_before_ms > now {
        println!(
            "The certificate takes effect on {}; until then other members refuse this node.",
            show_ms(cert.not_before_ms)
        );
    }
    println!(
        "Wrote the [federation] section of {}: {} steward(s), {} bootstrap address(es).",
        config_path.display(),
        stewards.len(),
        bootstrap.len()
    );
    println!(
        "Start the node (techhire run); it prints `Federation listening on <address>` lines: \
         give one to the other members for their --bootstrap."
    );
    Ok(())
}

/// The config file's text with `federation.stewards` and `federation.bootstrap` set and
/// everything else (other settings, comments) as it was. Checked by parsing it.
pub(super) fn with_federation(
    path: &Path,
    stewards: &[PublicKey],
    bootstrap: &[Multiaddr],
) -> anyhow::Result<String> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        // No file: start from the documented example (the defaults, every section).
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => crate::config::EXAMPLE.to_string(),
        Err(e) => return Err(anyhow::Error::new(e).context(format!("reading {}", path.display()))),
    };
    // A config that does not parse now would hide what join changed: refuse it as is.
    Config::parse(&text, path)?;
    let mut doc = text
        .parse::<toml_edit::DocumentMut>()
        .with_context(|| format!("reading {} as TOML", path.display()))?;
    let section = doc
        .entry("federation")
        .or_insert_with(toml_edit::table)
        .as_table_like_mut()
        .ok_or_else(|| anyhow!("{}: `federation` is not a table", path.display()))?;
    let mut set = |key: &str, items: Vec<String>| {
        let value = toml_edit::value(items.into_iter().collect::<toml_edit::Array>());
        // Replacing the value of an existing key keeps the comments above it.
        match section.get_mut(key) {
            Some(item) => *item = value,
            None => {
                section.insert(key, value);
            }
        }
    };
    set(
        "stewards",
        stewards.iter().map(ToString::to_string).collect(),
    );
    set(
        "bootstrap",
        bootstrap.iter().map(ToString::to_string).collect(),
    );
    let updated = doc.to_string();
    let parsed = Config::parse(&updated, path)
        .with_context(|| format!("the updated {} does not parse", path.display()))?;
    debug_assert_eq!(parsed.federation.stewards, stewards);
    Ok(updated)
}

/// Replaces `path` with `contents` atomically (a new file renamed over it), keeping its mode.
pub(super) fn replace_file(path: &Path, contents: &str) -> anyhow::Result<()> {
    let mode = fs::metadata(path).map_or(0o644, |m| m.permissions().mode() & 0o777);
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".new");
    let tmp = PathBuf::from(tmp_name);
    let _ = fs::remove_file(&tmp);
    write_new(&tmp, contents, mode, "file")?;
    fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))
}

async fn status(url: &str, token: &str) -> anyhow::Result<()> {
    let text = super::call_node(
        url,
        token,
        reqwest::Method::GET,
        "/api/v1/federation/status",
        None,
    )
    .await?;
    let body: serde_json::Value =
        serde_json::from_str(&text).context("reading the node's status")?;
    println!("{}", serde_json::to_string_pretty(&body)?);
    Ok(())
}

/// Starts the federation side of `techhire run` if the node has joined a federation, and
/// prints a `Federation listening on <multiaddr>` line per address (with the peer id, as
/// other members give it to `--bootstrap`). `on_stored` is told of every record stored in
/// the feeds from the first (the search index's follower).
pub(super) async fn start(
    settings: &FederationSettings,
    store: &Store,
    keypair: &NodeKeypair,
    on_stored: Option<OnStored>,
) -> anyhow::Result<Option<Federation>> {
    if !settings.joined() {
        tracing::info!(
            "this node has not joined a federation (federation.stewards is empty); \
             `techhire federation join` joins one"
        );
        return Ok(None);
    }
    let mut config = settings.runtime();
    config.on_stored = on_stored;
    let federation = Federation::start(store.clone(), keypair.clone(), config)
        .await
        .with_context(|| {
            let listen: Vec<String> = settings.listen.iter().map(ToString::to_string).collect();
            format!(
                "starting the federation (listening on {})",
                listen.join(", ")
            )
        })?;
    // The swarm reports its addresses as it binds them: wait (bounded) for one per listen
    // setting, and a moment more for an unspecified address's other interfaces.
    let deadline = Instant::now() + Duration::from_secs(10);
    while federation.listen_addrs().len() < settings.listen.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let addrs = federation.listen_addrs();
    if addrs.len() < settings.listen.len() {
        tracing::warn!(
            listening = addrs.len(),
            configured = settings.listen.len(),
            "the federation does not listen on every configured address yet"
        );
    }
    for addr in &addrs {
        tracing::info!(%addr, "federation listening");
        println!("Federation listening on {addr}");
    }
    let own = keypair.public().to_string();
    match federation.status() {
        Ok(status) => match status.members.iter().find(|m| m.key == own) {
            Some(m) if m.revoked => tracing::warn!(
                "a steward has revoked this node's membership: other members refuse it"
            ),
            Some(m) => tracing::info!(
                community = %m.community,
                until = %show_ms(m.not_after_ms),
                "federation member"
            ),
            None => tracing::warn!(
                "this node holds no certificate for its own key: other members refuse it \
                 (`techhire federation join` stores one)"
            ),
        },
        Err(e) => tracing::warn!(error = %e, "cannot read the federation status"),
    }
    Ok(Some(federation))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_sets_stewards_and_bootstrap_and_keeps_everything_else() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("config.toml");
        let steward = NodeKeypair::from_seed([9; 32]).public();
        let peer: Multiaddr = "/ip4/192.0.2.1/tcp/7070".parse().expect("a multiaddr");

        // An empty [federation] section: the keys are added to it.
        let mine = Config::complete("[http]\nlisten = \"127.0.0.1:9000\"\n");
        std::fs::write(&path, format!("# mine\n{mine}")).expect("write");
        let text =
            with_federation(&path, &[steward], std::slice::from_ref(&peer)).expect("updated");
        let config = Config::parse(&text, &path).expect("parses");
        assert!(text.starts_with("# mine\n"), "{text}");
        assert_eq!(config.http.listen.port(), 9000);
        assert_eq!(config.federation.stewards, [steward]);
        assert_eq!(config.federation.bootstrap, [peer]);

        // An existing section keeps its other keys; stewards and bootstrap are replaced.
        std::fs::write(
            &path,
            Config::complete(
                "[federation]\nlisten = [\"/ip4/127.0.0.1/tcp/1\"]\n# who\nstewards = []\n\
                 sync_interval_secs = 2\n",
            ),
        )
        .expect("write");
        let text = with_federation(&path, &[steward], &[]).expect("updated");
        let config = Config::parse(&text, &path).expect("parses");
        assert!(text.contains("# who\nstewards = ["), "{text}");
        assert_eq!(
            config.federation.listen[0].to_string(),
            "/ip4/127.0.0.1/tcp/1"
        );
        assert_eq!(config.federation.sync_interval_secs, 2);
        assert_eq!(config.federation.stewards, [steward]);

        // A missing file becomes the documented example with the stewards set; a broken
        // one, or one without its version line, is refused.
        std::fs::remove_file(&path).expect("remove");
        let text = with_federation(&path, &[steward], &[]).expect("from nothing");
        assert_eq!(
            Config::parse(&text, &path)
                .expect("parses")
                .federation
                .stewards,
            [steward]
        );
        assert!(text.contains("config_version = 1"), "{text}");
        std::fs::write(&path, Config::complete("[federation]\nlisten = 5\n")).expect("write");
        assert!(with_federation(&path, &[steward], &[]).is_err());
        std::fs::write(&path, "[federation]\n").expect("write");
        assert!(with_federation(&path, &[steward], &[]).is_err());
    }
}
