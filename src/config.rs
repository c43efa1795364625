//! Configuration: every option is a `--flag` with a `TRIBUTARY_*` env var.
//! When no key/secret is given, a pair is generated on first start and kept
//! in the database (and, for SQLite, exported to the data dir) so restarts
//! and sibling instances keep working with the same SDK settings.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::core::error::Error;
use crate::store::Store;

use rand::distr::{Alphanumeric, SampleString};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, clap::Args)]
pub struct ServeConfig {
    /// Address to listen on (7400: the official JS client maps :3030 to :8800 for its WebSocket).
    #[arg(long, env = "TRIBUTARY_ADDR", default_value = "127.0.0.1:7400")]
    pub addr: SocketAddr,
    /// Folder for the SQLite database and generated credentials.
    #[arg(long, env = "TRIBUTARY_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// A postgres:// URL selects PostgreSQL instead of SQLite.
    #[arg(long, env = "TRIBUTARY_DATABASE_URL")]
    pub database_url: Option<String>,
    /// App API key (generated and stored in the data dir when unset).
    #[arg(long, env = "TRIBUTARY_API_KEY")]
    pub api_key: Option<String>,
    /// App API secret (generated and stored in the data dir when unset).
    #[arg(long, env = "TRIBUTARY_API_SECRET", hide_env_values = true)]
    pub api_secret: Option<String>,
}

#[derive(Serialize, Deserialize, Clone)]
pub struct AppCredentials {
    pub api_key: String,
    pub api_secret: String,
}

const CREDENTIALS_FILE: &str = "credentials.json";
const CREDENTIALS_SETTING: &str = "app_credentials";

/// Explicit settings win. Otherwise the pair stored in the database is used,
/// created on the very first start — every process over one database shares
/// it. Returns whether the pair was generated now.
pub async fn resolve_credentials(config: &ServeConfig, store: &dyn Store) -> Result<(AppCredentials, bool), Error> {
    let candidate = AppCredentials {
        api_key: Alphanumeric.sample_string(&mut rand::rng(), 12).to_lowercase(),
        api_secret: Alphanumeric.sample_string(&mut rand::rng(), 48),
    };
    let (mut creds, generated) = if config.api_key.is_some() && config.api_secret.is_some() {
        (candidate, false)
    } else {
        let proposed = serde_json::to_value(&candidate).map_err(Error::internal)?;
        let stored = store.setting_or_insert(CREDENTIALS_SETTING, &proposed).await?;
        let generated = stored == proposed;
        (serde_json::from_value(stored).map_err(Error::internal)?, generated)
    };
    if let Some(key) = &config.api_key {
        creds.api_key = key.clone();
    }
    if let Some(secret) = &config.api_secret {
        creds.api_secret = secret.clone();
    }
    Ok((creds, generated))
}

/// A copy of the credentials in the data dir (mode 0600), for tools and the
/// README quick start to read.
pub fn export_credentials(dir: &Path, creds: &AppCredentials) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(CREDENTIALS_FILE);
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(creds)?)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
    }
    std::fs::rename(tmp, path)
}
