//! A node's data folder: `node.key` (the ed25519 seed, mode 0600), `config.toml` and the
//! sled database in `db/`. Creating one, and opening one safely.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use chrono::Utc;
use techhire_protocol::NodeKeypair;

use crate::auth::{self, Account, Role, Token};
use crate::config::{self, Config};
use crate::model::Community;
use crate::store::{IntegrityReport, Store, StoreError, StoreOptions};

pub const KEY_FILE: &str = "node.key";
/// The store's record of the node key it belongs to ([`bind_key`]).
const NODE_KEY_META: &str = "node_key";
pub const CONFIG_FILE: &str = "config.toml";
pub const DB_DIR: &str = "db";

/// What `init` made, for the caller to print.
pub struct Created {
    pub node_key: String,
    /// The first operator's token: shown once, stored only as a hash.
    pub operator_token: String,
    /// The new database, still open: reopening it at once could race sled's own threads
    /// for its file lock.
    pub store: Store,
}

pub fn key_path(dir: &Path) -> PathBuf {
    dir.join(KEY_FILE)
}

/// Whether `dir` already holds a node (any of its files).
pub fn exists(dir: &Path) -> bool {
    key_path(dir).exists() || dir.join(DB_DIR).exists()
}

/// Creates a node in `dir`: key, config, database, the community record and a first
/// operator account with a token. Refuses to touch a folder that already holds a node.
pub async fn init(
    dir: &Path,
    community: &str,
    region: Option<&str>,
    opts: &StoreOptions,
) -> anyhow::Result<Created> {
    if exists(dir) {
        bail!(
            "{} already holds a node; refusing to overwrite it (use another --data-dir)",
            dir.display()
        );
    }
    let community = Community {
        name: community.to_string(),
        region: region.map(str::to_string),
        backbone_organisation: None,
        goals: Vec::new(),
    };
    community
        .validate()
        .map_err(|e| anyhow::anyhow!("--{}: {}", e.field.replace('_', "-"), e.reason))?;
    // Only a folder made here is restricted: `--data-dir .` must not chmod someone's home.
    if !dir.exists() {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .with_context(|| format!("restricting {}", dir.display()))?;
    }
    match create_node_files(dir, &community, opts).await {
        Ok(created) => Ok(created),
        Err(e) => {
            // Half a node would block both a retry (it "exists") and a start (no database).
            for file in [KEY_FILE, CONFIG_FILE] {
                let _ = fs::remove_file(dir.join(file));
            }
            let _ = fs::remove_dir_all(dir.join(DB_DIR));
            Err(e)
        }
    }
}

async fn create_node_files(
    dir: &Path,
    community: &Community,
    opts: &StoreOptions,
) -> anyhow::Result<Created> {
    let keypair = NodeKeypair::generate();
    let mut key_file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(key_path(dir))
        .with_context(|| format!("creating {}", key_path(dir).display()))?;
    writeln!(key_file, "{}", keypair.to_hex())?;
    key_file.sync_all()?;

    let config_path = dir.join(CONFIG_FILE);
    fs::write(&config_path, config::EXAMPLE)
        .with_context(|| format!("writing {}", config_path.display()))?;

    let store = Store::open(&dir.join(DB_DIR), opts).context("creating the database")?;
    let now = Utc::now();
    let operator_token = store
        .commit(|tx| {
            tx.put_meta("schema_version", &crate::store::SCHEMA_VERSION)?;
            tx.put_meta("community", community)?;
            // Remembered from the start (not only at the first `run`), so that a backup or
            // export made before the node ever ran still names the key it belongs to.
            tx.put_meta(NODE_KEY_META, &keypair.public().to_string())?;
            let admin = Account {
                username: "admin".into(),
                role: Role::Operator,
                employer_id: None,
                password_hash: None,
            };
            let account_id = auth::stage_account(tx, admin, now)?;
            let token = Token {
                role: Role::Operator,
                employer_id: None,
                label: "first operator (made by init)".into(),
                account_id: Some(account_id),
                expires_at: None,
                revoked_at: None,
            };
            let (_, secret) = auth::stage_token(tx, token, now)?;
            Ok::<_, auth::AuthError>(secret)
        })
        .await
        .context("writing the first operator account")?;
    Ok(Created {
        node_key: keypair.public().to_string(),
        operator_token,
        store,
    })
}

/// Reads the node's key, warning if others can read the file.
pub fn read_key(dir: &Path) -> anyhow::Result<NodeKeypair> {
    let path = key_path(dir);
    let text = fs::read_to_string(&path).with_context(|| {
        format!(
            "reading {} (is {} a node data folder? `techhire init` makes one)",
            path.display(),
            dir.display()
        )
    })?;
    if let Ok(meta) = fs::metadata(&path) {
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(path = %path.display(), "the node key is readable by other users; run chmod 600 on it");
        }
    }
    NodeKeypair::from_hex(&text).with_context(|| format!("{} is not a node key", path.display()))
}

/// Checks that `node.key` is the key this store belongs to, and remembers it in a store
/// that does not know it yet (made before it remembered keys). A key that does not match
/// (a damaged or swapped `node.key`) would start the node as another member: refused.
pub async fn bind_key(store: &Store, keypair: &NodeKeypair) -> anyhow::Result<()> {
    let own = keypair.public().to_string();
    match store.get_meta::<String>(NODE_KEY_META)? {
        Some(known) if known == own => Ok(()),
        Some(known) => bail!(
            "{KEY_FILE} holds the key {own}, but this node's database belongs to the key \
             {known}: {KEY_FILE} is damaged or from another node. Restore this node's own \
             {KEY_FILE} from a backup (a new key would make the node another member of its \
             federation)"
        ),
        None => {
            store
                .commit(|tx| tx.put_meta(NODE_KEY_META, &own))
                .await
                .context("remembering the node key in the database")?;
            Ok(())
        }
    }
}

/// The config in force: `--config` if given, else the folder's `config.toml`, else defaults.
pub fn load_config(dir: &Path, explicit: Option<&Path>) -> anyhow::Result<Config> {
    match explicit {
        Some(p) => Ok(Config::load(p)?),
        None => {
            let p = dir.join(CONFIG_FILE);
            if p.exists() {
                Ok(Config::load(&p)?)
            } else {
                Ok(Config::default())
            }
        }
    }
}

/// Opens the node's database for serving: refuses a damaged store.
pub fn open_store(dir: &Path, opts: &StoreOptions) -> anyhow::Result<(Store, IntegrityReport)> {
    let db = dir.join(DB_DIR);
    if !db.exists() {
        bail!(
            "{} has no database; `techhire init --data-dir {}` creates a node",
            dir.display(),
            dir.display()
        );
    }
    Store::open_verified(&db, opts).map_err(|e| explain(e, &db))
}

/// Opens the database for a short command (token, seed), with the same checks.
pub fn open_store_for_command(dir: &Path) -> anyhow::Result<Store> {
    let config = load_config(dir, None)?;
    Ok(open_store(dir, &config.storage.store_options())?.0)
}

fn explain(e: StoreError, db: &Path) -> anyhow::Error {
    match e {
        StoreError::Sled(sled::Error::Io(io)) if io.kind() == std::io::ErrorKind::WouldBlock || io.to_string().contains("lock") => {
            anyhow::anyhow!(
                "the database {} is in use by another process: is the node running? Stop it, or use the HTTP API ({io})",
                db.display()
            )
        }
        StoreError::Sled(sled::Error::Corruption { .. }) | StoreError::Corrupt { .. } | StoreError::Lost { .. } => anyhow::anyhow!(
            "the database {} is damaged and will not be served: {e}. Restore the data folder from a backup",
            db.display()
        ),
        // A missing blob file (db/blobs/*) surfaces from sled's recovery as NotFound.
        StoreError::Sled(sled::Error::Io(io)) if io.kind() == std::io::ErrorKind::NotFound => anyhow::anyhow!(
            "the database {} is damaged (a file it needs is missing: {io}) and will not be served. Restore the data folder from a backup",
            db.display()
        ),
        // What sled reports when its settings file (db/conf) does not parse.
        StoreError::Sled(sled::Error::Unsupported(reason)) => anyhow::anyhow!(
            "the database {} cannot be opened: {reason}. Its settings file {} may be damaged, or the database was written by another sled version; it will not be served. Restore the data folder from a backup",
            db.display(),
            db.join("conf").display()
        ),
        other => anyhow::Error::new(other).context(format!("opening the database {}", db.display())),
    }
}
