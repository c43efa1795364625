//! The two `core::files::FileStore`s: a folder on local disk, whose files
//! this server serves itself under `core::files::PUBLIC_PATH`, and S3-compatible object
//! storage (`object_store`), whose files are read from the bucket (or the
//! CDN in front of it).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as ObjectPath;
use object_store::{Attribute, Attributes, ObjectStore, ObjectStoreExt, PutOptions, PutPayload};
use tokio::io::AsyncWriteExt;

use crate::core::error::{Error, Result};
use crate::core::files::{key_from_url, valid_key, FileStore, PUBLIC_PATH};

/// The store `uploads_url` names: empty for `<data dir>/uploads`, `file:///path`
/// for another folder, `s3://bucket/prefix` for object storage (credentials,
/// region and endpoint from the usual `AWS_*` variables).
pub fn open(uploads_url: &str, data_dir: &Path, public_url: Option<&str>) -> Result<Arc<dyn FileStore>, String> {
    let url = uploads_url.trim();
    if url.is_empty() {
        return Ok(Arc::new(DiskFiles::new(data_dir.join("uploads"))));
    }
    if let Some(path) = url.strip_prefix("file://") {
        if !path.starts_with('/') {
            return Err(format!("--uploads-url {url:?}: a file:// URL needs an absolute path (file:///srv/uploads)"));
        }
        return Ok(Arc::new(DiskFiles::new(PathBuf::from(path))));
    }
    if url.starts_with("s3://") {
        return S3Files::new(url, public_url).map(|s| Arc::new(s) as Arc<dyn FileStore>);
    }
    Err(format!("--uploads-url {url:?}: expected s3://bucket/prefix or file:///path (or unset for the data dir)"))
}

/// Files in a folder: `<root>/<token>/<name>`.
pub struct DiskFiles {
    root: PathBuf,
}

impl DiskFiles {
    pub fn new(root: PathBuf) -> DiskFiles {
        DiskFiles { root }
    }

    /// The file's path; keys are checked again here, as deletions derive
    /// them from client-sent URLs.
    fn path(&self, key: &str) -> Result<PathBuf> {
        if !valid_key(key) {
            return Err(Error::input(format!("{key:?} is not an upload key")));
        }
        Ok(self.root.join(key))
    }
}

#[async_trait]
impl FileStore for DiskFiles {
    async fn put(&self, key: &str, _content_type: &str, bytes: Bytes) -> Result<()> {
        let path = self.path(key)?;
        let dir = path.parent().ok_or_else(|| Error::internal("upload key without a folder"))?;
        tokio::fs::create_dir_all(dir).await.map_err(|e| Error::internal(format!("{}: {e}", dir.display())))?;
        // Written aside and renamed, so a reader never sees half a file;
        // synced before the upload is acknowledged, like a database commit.
        let tmp = dir.join(".partial");
        let failed = |e: std::io::Error| Error::internal(format!("{}: {e}", path.display()));
        let mut file = tokio::fs::File::create(&tmp).await.map_err(failed)?;
        file.write_all(&bytes).await.map_err(failed)?;
        file.sync_all().await.map_err(failed)?;
        tokio::fs::rename(&tmp, &path).await.map_err(failed)?;
        // The file's folder is new too: its entry in the root is synced as well.
        for folder in [dir, self.root.as_path()] {
            tokio::fs::File::open(folder).await.map_err(failed)?.sync_all().await.map_err(failed)?;
        }
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>> {
        let Ok(path) = self.path(key) else { return Ok(None) };
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(Some(bytes.into())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::internal(format!("{}: {e}", path.display()))),
        }
    }

    async fn delete(&self, key: &str) -> Result<()> {
        let path = self.path(key)?;
        // Each key has a folder of its own, which holds only it and its
        // resized variants: the folder goes whole.
        let dir = path.parent().ok_or_else(|| Error::internal("upload key without a folder"))?;
        match tokio::fs::remove_dir_all(dir).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::internal(format!("{}: {e}", dir.display()))),
        }
    }

    fn resizes_on_request(&self) -> bool {
        true
    }

    fn url(&self, key: &str, base_url: &str) -> String {
        format!("{}{PUBLIC_PATH}{key}", base_url.trim_end_matches('/'))
    }

    fn key_of(&self, url: &str) -> Option<String> {
        let parsed = url::Url::parse(url).ok()?;
        parsed.path().strip_prefix(PUBLIC_PATH)?;
        key_from_url(&parsed)
    }
}

/// Objects in an S3-compatible bucket: `<prefix>/<token>/<name>`.
pub struct S3Files {
    store: AmazonS3,
    prefix: String,
    /// Where the objects are read publicly: `--uploads-public-url`, else
    /// the bucket's own URL.
    public: String,
}

impl S3Files {
    fn new(url: &str, public_url: Option<&str>) -> Result<S3Files, String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("--uploads-url {url:?}: {e}"))?;
        let bucket = parsed.host_str().filter(|b| !b.is_empty()).ok_or("--uploads-url: s3:// needs a bucket name")?;
        let prefix = parsed.path().trim_matches('/').to_string();
        let builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        let public = match public_url.map(str::trim).filter(|p| !p.is_empty()) {
            Some(public) => public.trim_end_matches('/').to_string(),
            None => {
                let at = match builder.get_config_value(&AmazonS3ConfigKey::Endpoint) {
                    // A custom endpoint (MinIO, R2, …) is addressed path-style.
                    Some(endpoint) => format!("{}/{bucket}", endpoint.trim_end_matches('/')),
                    None => {
                        let region = builder
                            .get_config_value(&AmazonS3ConfigKey::Region)
                            .unwrap_or_else(|| "us-east-1".to_string());
                        format!("https://{bucket}.s3.{region}.amazonaws.com")
                    }
                };
                if prefix.is_empty() {
                    at
                } else {
                    format!("{at}/{prefix}")
                }
            }
        };
        let store = builder.build().map_err(|e| format!("--uploads-url {url:?}: {e}"))?;
        Ok(S3Files { store, prefix, public })
    }

    fn location(&self, key: &str) -> Result<ObjectPath> {
        if !valid_key(key) {
            return Err(Error::input(format!("{key:?} is not an upload key")));
        }
        Ok(match self.prefix.as_str() {
            "" => ObjectPath::from(key),
            prefix => ObjectPath::from(format!("{prefix}/{key}")),
        })
    }
}

fn storage_error(e: object_store::Error) -> Error {
    Error::internal(format!("object storage: {e}"))
}

#[async_trait]
impl FileStore for S3Files {
    async fn put(&self, key: &str, content_type: &str, bytes: Bytes) -> Result<()> {
        let attributes: Attributes = [(Attribute::ContentType, content_type.to_string())].into_iter().collect();
        let options = PutOptions { attributes, ..PutOptions::default() };
        self.store
            .put_opts(&self.location(key)?, PutPayload::from_bytes(bytes), options)
            .await
            .map_err(storage_error)?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>> {
        let Ok(location) = self.location(key) else { return Ok(None) };
        match self.store.get(&location).await {
            Ok(found) => found.bytes().await.map(Some).map_err(storage_error),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(storage_error(e)),
        }
    }

    async fn delete(&self, key: &str) -> Result<()> {
        let location = self.location(key)?;
        // The variants are the other objects under the key's token.
        let token = key.split_once('/').map_or(key, |(token, _)| token);
        let folder = match self.prefix.as_str() {
            "" => ObjectPath::from(token),
            prefix => ObjectPath::from(format!("{prefix}/{token}")),
        };
        // A token's folder holds the original and at most
        // `images::MAX_UPLOAD_SIZES` variants: one listing has them all.
        let listed = self.store.list_with_delimiter(Some(&folder)).await.map_err(storage_error)?;
        let mut objects = vec![location];
        for meta in listed.objects {
            if !objects.contains(&meta.location) {
                objects.push(meta.location);
            }
        }
        for object in objects {
            match self.store.delete(&object).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(storage_error(e)),
            }
        }
        Ok(())
    }

    fn url(&self, key: &str, _base_url: &str) -> String {
        format!("{}/{key}", self.public)
    }

    fn key_of(&self, url: &str) -> Option<String> {
        url.strip_prefix(&self.public)?.strip_prefix('/')?;
        key_from_url(&url::Url::parse(url).ok()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn disk_files_round_trip_and_refuse_paths_outside_their_folder() {
        let dir = tempfile::tempdir().unwrap();
        let files = DiskFiles::new(dir.path().join("uploads"));
        let key = "0123456789abcdef0123456789abcdef/a.txt";
        files.put(key, "text/plain", Bytes::from_static(b"hello")).await.unwrap();
        assert_eq!(files.get(key).await.unwrap().as_deref(), Some(&b"hello"[..]));
        let url = files.url(key, "http://example.test/");
        assert_eq!(url, format!("http://example.test/uploads/{key}"));
        assert_eq!(files.key_of(&url).as_deref(), Some(key));
        assert_eq!(files.key_of("http://example.test/other/0123456789abcdef0123456789abcdef/a.txt"), None);
        assert!(files.put("../../etc/passwd", "text/plain", Bytes::new()).await.is_err());
        assert_eq!(files.get("0123456789abcdef0123456789abcdef/../../x").await.unwrap(), None);
        files.delete(key).await.unwrap();
        files.delete(key).await.unwrap();
        assert_eq!(files.get(key).await.unwrap(), None);
    }

    #[test]
    fn s3_urls_point_at_the_bucket_or_the_public_url() {
        let s3 = S3Files::new("s3://media/feeds", Some("https://cdn.example.com/m/")).unwrap();
        let key = "0123456789abcdef0123456789abcdef/p.png";
        assert_eq!(s3.url(key, "http://ignored"), format!("https://cdn.example.com/m/{key}"));
        assert_eq!(s3.key_of(&s3.url(key, "")).as_deref(), Some(key));
        assert_eq!(s3.key_of(&format!("https://elsewhere.example.com/m/{key}")), None);
        assert_eq!(s3.location(key).unwrap().as_ref(), format!("feeds/{key}"));
        assert!(open("ftp://x", Path::new("."), None).is_err());
        assert!(open("file://relative", Path::new("."), None).is_err());
    }
}
