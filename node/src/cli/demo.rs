//! `techhire demo`: a steward and three member communities on loopback, each seeded with
//! synthetic data and joined into one federation, run as three `techhire run` processes.
//! The quickest way to see the federation; Ctrl-C stops them all.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{anyhow, Context};
use libp2p::Multiaddr;
use techhire_protocol::{Bulletin, MembershipCert, NodeKeypair};

use super::federation::{keep, replace_file, with_federation};
use crate::auth::{self, Role, Token};
use crate::config::Config;
use crate::federation::{now_ms, peer_id_of};
use crate::{node_dir, seed};

/// The demo's communities: name, region and a seed for their synthetic data.
const COMMUNITIES: [(&str, &str, u64); 3] = [
    ("Birmingham, AL", "AL", 11),
    ("El Paso, TX", "TX", 12),
    ("Akron, OH", "OH", 13),
];

struct DemoNode {
    name: &'static str,
    dir: PathBuf,
    http: u16,
    p2p: u16,
    token: String,
    /// A national staff token (first node only).
    national: Option<String>,
    /// A password account per role, to sign in to the web interface with.
    accounts: Vec<DemoAccount>,
}

/// A demo account and its password (new at every `techhire demo`, like the tokens).
struct DemoAccount {
    role: Role,
    username: String,
    password: String,
    /// The employer an employer account acts for, by name.
    employer: Option<String>,
}

fn slug(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == ' ')
        .collect::<String>()
        .to_lowercase()
        .replace(' ', "-")
}

/// Sets up (or reuses) the demo folder under `root`, starts the three nodes with HTTP on
/// `http_port`.. and libp2p on `p2p_port`.., and waits for Ctrl-C.
pub(super) async fn run(
    root: &Path,
    http_port: u16,
    p2p_port: u16,
    candidates: u64,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(root).with_context(|| format!("creating {}", root.display()))?;
    let steward = NodeKeypair::generate();
    let mut nodes = Vec::new();
    let mut first: Option<Multiaddr> = None;
    for (i, (name, region, data_seed)) in COMMUNITIES.into_iter().enumerate() {
        let offset = u16::try_from(i).unwrap_or(0);
        let (http, p2p) = (http_port + offset, p2p_port + offset);
        let dir = root.join(slug(name));
        let store = if node_dir::exists(&dir) {
            node_dir::open_store_for_command(&dir)?
        } else {
            let created = node_dir::init(
                &dir,
                name,
                Some(region),
                &Config::default().storage.store_options(),
            )
            .await?;
            let taxonomy = crate::skills::Taxonomy::builtin();
            let opts = seed::SeedOptions {
                candidates,
                employers: (candidates / 50).max(5),
                openings: (candidates / 20).max(10),
                seed: data_seed,
            };
            seed::seed(&created.store, taxonomy, &opts, |_| {})?;
            set_goals(&created.store, candidates).await?;
            created.store
        };
        let key = node_dir::read_key(&dir)?.public();
        // A fresh steward each run: each node gets a new certificate from it.
        let cert = MembershipCert {
            member: key,
            community: name.into(),
            region: region.into(),
            not_before_ms: now_ms() - 60_000,
            not_after_ms: now_ms() + 30 * 24 * 3600 * 1000,
        }
        .try_sign(&steward, now_ms() + i as u64)
        .map_err(|e| anyhow!("signing the demo certificate: {e}"))?;
        keep(&store, &cert).await?;
        let (_, token) = auth::create_token(
            &store,
            Token {
                role: Role::Operator,
                employer_id: None,
                label: "techhire demo".into(),
                account_id: None,
                expires_at: None,
                revoked_at: None,
            },
        )
        .await?;
        // National staff read the national view from any node; the first one's will do.
        let national = if i == 0 {
            let (_, token) = auth::create_token(
                &store,
                Token {
                    role: Role::National,
                    employer_id: None,
                    label: "techhire demo: national staff".into(),
                    account_id: None,
                    expires_at: None,
                    revoked_at: None,
                },
            )
            .await?;
            Some(token)
        } else {
            None
        };
        let accounts = demo_accounts(&store).await?;
        drop(store);
        let bootstrap: Vec<Multiaddr> = first.iter().cloned().collect();
        let config_path = dir.join(node_dir::CONFIG_FILE);
        let updated = with_federation(&config_path, &[steward.public()], &bootstrap)?;
        replace_file(&config_path, &updated)?;
        if first.is_none() {
            let peer = peer_id_of(&key).ok_or_else(|| anyhow!("node key is not ed25519"))?;
            first = Some(
                format!("/ip4/127.0.0.1/tcp/{p2p}/p2p/{peer}")
                    .parse()
                    .map_err(|e| anyhow!("demo bootstrap address: {e}"))?,
            );
        }
        nodes.push(DemoNode {
            name,
            dir,
            http,
            p2p,
            token,
            national,
            accounts,
        });
    }
    // The store must be closed by now; sled's threads let go of its lock shortly after.
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Listening for Ctrl-C (and SIGTERM) before the nodes start: a signal during the
    // start-up then stops them too, instead of killing this process and orphaning them.
    let shutdown = crate::server::shutdown_signal()?;
    let exe = std::env::current_exe().context("finding the techhire binary")?;
    let mut children = Vec::new();
    for n in &nodes {
        let log = std::fs::File::create(root.join(format!("{}.log", slug(n.name))))?;
        let child = tokio::process::Command::new(&exe)
            .arg("run")
            .arg("--data-dir")
            .arg(&n.dir)
            .arg("--http-listen")
            .arg(format!("127.0.0.1:{}", n.http))
            .arg("--p2p-listen")
            .arg(format!("/ip4/127.0.0.1/tcp/{}", n.p2p))
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .context("starting a demo node")?;
        children.push(child);
    }
    println!(
        "TechHire federation demo: three communities on loopback (logs in {})",
        root.display()
    );
    println!("Steward public key: {}", steward.public());
    println!(
        "Web pages: open a node's address and sign in (/sign-in) with a role's username and \
         password below (new at each start)."
    );
    for n in &nodes {
        println!(
            "  {:<16} http://127.0.0.1:{}/  operator token: {}",
            n.name, n.http, n.token
        );
        for a in &n.accounts {
            let employer = a
                .employer
                .as_deref()
                .map(|e| format!("  (for {e})"))
                .unwrap_or_default();
            println!(
                "      sign in as {:<9} username {:<9} password {}{employer}",
                format!("{:?}", a.role).to_lowercase(),
                a.username,
                a.password
            );
        }
    }
    println!(
        "Try: curl -H 'Authorization: Bearer <token>' http://127.0.0.1:{}/api/v1/federation/status",
        http_port
    );
    if let Some(token) = nodes.iter().find_map(|n| n.national.as_ref()) {
        println!(
            "National view: curl -H 'Authorization: Bearer {token}' \
             'http://127.0.0.1:{http_port}/api/v1/federation/metrics?year=2025&format=csv'"
        );
    }
    announce(&nodes).await;
    println!("Ctrl-C stops them all.");
    shutdown.await;
    for child in &mut children {
        if let Some(pid) = child.id() {
            // A clean stop (SIGTERM), as for `techhire run` under systemd.
            let _ = std::process::Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status();
        }
    }
    for mut child in children {
        let _ = tokio::time::timeout(Duration::from_secs(20), child.wait()).await;
    }
    println!("Demo stopped; its data stays in {}.", root.display());
    Ok(())
}

/// A password account for each role on a demo node (the employer one for its first
/// employer), each with a new random password; an account kept from an earlier run gets a
/// new password, so only this run's printout signs in.
async fn demo_accounts(store: &crate::store::Store) -> anyhow::Result<Vec<DemoAccount>> {
    use crate::auth::Account;
    use crate::model::{Employer, Record};
    use crate::store::Table;
    use rand::RngCore;

    let first_employer = store
        .list::<Record<Employer>>(Table::Employer, None, 1, |_| true)?
        .items
        .into_iter()
        .next();
    let mut accounts = Vec::new();
    for role in Role::ALL {
        let username = format!("{role:?}").to_lowercase();
        let employer = match role {
            Role::Employer => match &first_employer {
                Some(e) => Some((e.id, e.data.name.clone())),
                // Nothing to act for: no employer account.
                None => continue,
            },
            _ => None,
        };
        let mut bytes = [0u8; 9];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let password = hex::encode(bytes);
        let phc = {
            let password = password.clone();
            // argon2 takes most of a core for a moment: off the async threads.
            tokio::task::spawn_blocking(move || auth::hash_password(&password))
                .await
                .context("hashing a demo password")??
        };
        let now = chrono::Utc::now();
        let employer_id = employer.as_ref().map(|(id, _)| *id);
        store
            .commit(|tx| {
                match tx.lookup(Table::AccountByName, username.as_bytes())? {
                    Some(id) => {
                        if let Some(mut a) = tx.get::<Record<Account>>(Table::Account, id)? {
                            a.data.password_hash = Some(phc);
                            a.updated_at = now;
                            tx.put(Table::Account, id, &a)?;
                        }
                    }
                    None => {
                        let account = Account {
                            username: username.clone(),
                            role,
                            employer_id,
                            password_hash: Some(phc),
                        };
                        auth::stage_account(tx, account, now)?;
                    }
                }
                Ok::<_, auth::AuthError>(())
            })
            .await
            .with_context(|| format!("making the demo's {username} account"))?;
        accounts.push(DemoAccount {
            role,
            username,
            password,
            employer: employer.map(|(_, name)| name),
        });
    }
    Ok(accounts)
}

/// Each community posts a bulletin once its node answers, so that the federation has
/// records to show from the first minute.
async fn announce(nodes: &[DemoNode]) {
    let client = reqwest::Client::new();
    for n in nodes {
        let url = format!("http://127.0.0.1:{}/api/v1/federation/bulletins", n.http);
        let body = Bulletin {
            id: 0,
            title: format!("{} joins the TechHire federation", n.name),
            body: "Employers here hire on skills. Ask us about our training partners.".into(),
        };
        for _ in 0..100 {
            let sent = client
                .post(&url)
                .bearer_auth(&n.token)
                .json(&serde_json::json!({"title": body.title, "body": body.body}))
                .send()
                .await;
            if sent.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        // And publishes its figures now rather than at the first scheduled run.
        let url = format!(
            "http://127.0.0.1:{}/api/v1/federation/metrics/publish",
            n.http
        );
        let published = client
            .post(&url)
            .bearer_auth(&n.token)
            .json(&serde_json::json!({}))
            .send()
            .await;
        if !published.is_ok_and(|r| r.status().is_success()) {
            eprintln!(
                "{}: publishing its metric reports failed (see its log)",
                n.name
            );
        }
    }
}

/// Yearly goals for a demo community, so that the national view shows goal progress:
/// targets in proportion to its seeded candidates.
async fn set_goals(store: &crate::store::Store, candidates: u64) -> anyhow::Result<()> {
    use crate::model::{Community, YearlyGoal};
    let Some(mut community) = store.get_meta::<Community>("community")? else {
        return Ok(());
    };
    let scale =
        |per_thousand: u64| u32::try_from(candidates * per_thousand / 1000).unwrap_or(u32::MAX);
    community.goals = [2025, 2026]
        .into_iter()
        .map(|year| YearlyGoal {
            year,
            placements: scale(60),
            people_trained: scale(150),
            job_seekers_reached: scale(2500),
            segment_goals: Vec::new(),
        })
        .collect();
    store
        .commit(|tx| tx.put_meta("community", &community))
        .await?;
    Ok(())
}
