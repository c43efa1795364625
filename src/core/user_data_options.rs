//! The settings of GDPR tasks (`user_data`), kept in `Ctx`.

/// How GDPR tasks run (`--user-data-batch`, `--export-link-ttl-secs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserDataOptions {
    /// Records read (and deleted) per page: one transaction each.
    pub batch: usize,
    /// How long an export's download link works.
    pub export_link_ttl_secs: i64,
}

pub const DEFAULT_BATCH: usize = 200;
pub const DEFAULT_EXPORT_LINK_TTL_SECS: i64 = 24 * 3600;

impl Default for UserDataOptions {
    fn default() -> Self {
        UserDataOptions { batch: DEFAULT_BATCH, export_link_ttl_secs: DEFAULT_EXPORT_LINK_TTL_SECS }
    }
}
