//! Configuration: every option is a `--flag` with a `TRIBUTARY_*` env var.
//! When no key/secret is given, a pair is generated on first start and kept
//! in the data dir so restarts keep working with the same SDK settings.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use rand::distr::{Alphanumeric, SampleString};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, clap::Args)]
pub struct ServeConfig {
    /// Address to listen on.
    #[arg(long, env = "TRIBUTARY_ADDR", default_value = "127.0.0.1:3030")]
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

/// Explicit settings win; otherwise the stored pair; otherwise a new pair,
/// written to the data dir (mode 0600) before use. Returns whether it was
/// generated now.
pub fn resolve_credentials(config: &ServeConfig) -> std::io::Result<(AppCredentials, bool)> {
    let path = config.data_dir.join(CREDENTIALS_FILE);
    let stored: Option<AppCredentials> =
        std::fs::read(&path).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok());
    let mut generated = false;
    let mut creds = stored.unwrap_or_else(|| {
        generated = true;
        AppCredentials {
            api_key: Alphanumeric.sample_string(&mut rand::rng(), 12).to_lowercase(),
            api_secret: Alphanumeric.sample_string(&mut rand::rng(), 48),
        }
    });
    if let Some(key) = &config.api_key {
        creds.api_key = key.clone();
    }
    if let Some(secret) = &config.api_secret {
        creds.api_secret = secret.clone();
    }
    let generated = generated && config.api_key.is_none() && config.api_secret.is_none();
    if generated {
        write_private(&config.data_dir, &path, &serde_json::to_vec_pretty(&creds)?)?;
    }
    Ok((creds, generated))
}

fn write_private(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
    }
    std::fs::rename(tmp, path)
}
