//! The records of uploads and the interface of the store their bytes live
//! in (`core::uploads` has the rules; `crate::store::files` the stores).
//! Kept apart so the context and the storage interface can name them
//! without importing the upload rules.

use async_trait::async_trait;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::error::Result;
use super::time::Timestamp;

/// Where uploaded bytes are kept. Keys are made by `new_key` and are safe as
/// path segments and object names.
#[async_trait]
pub trait FileStore: Send + Sync {
    async fn put(&self, key: &str, content_type: &str, bytes: Bytes) -> Result<()>;
    /// `None` when nothing is stored under `key`.
    async fn get(&self, key: &str) -> Result<Option<Bytes>>;
    /// Deletes `key` and every resized variant stored beside it (under the
    /// same random token). Deleting a missing key succeeds: a retried delete
    /// must not fail.
    async fn delete(&self, key: &str) -> Result<()>;
    /// The public URL of `key`. `base_url` is how the caller reached this
    /// server, for stores whose files this server serves itself.
    fn url(&self, key: &str, base_url: &str) -> String;
    /// Recovers the key from a URL made by `url` (a deletion names the file
    /// by its URL); `None` when the URL is not one of this store's.
    fn key_of(&self, url: &str) -> Option<String>;
    /// Whether this server serves the store's images itself, and so resizes
    /// them on request (`?w=…&h=…&resize=…&crop=…`); else a variant is read
    /// as an object of its own.
    fn resizes_on_request(&self) -> bool {
        false
    }
}

/// What is known of an upload besides its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upload {
    pub key: String,
    /// Who uploaded it; empty for a server-side upload that named no user
    /// (only server-side calls may delete those).
    pub user_id: String,
    pub kind: UploadKind,
    pub content_type: String,
    pub size: i64,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UploadKind {
    File,
    Image,
}

impl UploadKind {
    pub fn as_str(self) -> &'static str {
        match self {
            UploadKind::File => "file",
            UploadKind::Image => "image",
        }
    }

    pub fn parse(text: &str) -> Option<UploadKind> {
        match text {
            "file" => Some(UploadKind::File),
            "image" => Some(UploadKind::Image),
            _ => None,
        }
    }
}

/// Where this server serves the files it keeps on local disk.
pub const PUBLIC_PATH: &str = "/uploads/";

/// The default size limit of one uploaded file (10 MiB).
pub const DEFAULT_MAX_BYTES: usize = 10 * 1024 * 1024;

/// The file store and the size limit, as the server was configured.
#[derive(Clone)]
pub struct Uploads {
    pub files: std::sync::Arc<dyn FileStore>,
    pub max_bytes: usize,
}

/// Whether `key` has the shape `core::uploads` gives keys: 32 lowercase hex
/// digits, `/`, then a name of letters, digits, `.`, `-`, `_` not starting
/// with `.` (so no `..`, no hidden files, no further folders). Names of
/// originals are at most 100 characters; a resized variant's name prefixes
/// its size (`core::images::ImageSize::variant_key`), hence 128.
pub fn valid_key(key: &str) -> bool {
    let Some((token, name)) = key.split_once('/') else { return false };
    token.len() == 32
        && token.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// The key in the last two path segments of a file URL, if they form one.
pub fn key_from_url(url: &url::Url) -> Option<String> {
    let mut segments = url.path_segments()?.rev();
    let name = segments.next()?;
    let token = segments.next()?;
    let key = format!("{token}/{name}");
    valid_key(&key).then_some(key)
}
