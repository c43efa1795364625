//! Uploaded files and images (UploadFile, UploadImage, DeleteFile,
//! DeleteImage). The bytes live in a `FileStore` (local disk or S3-compatible
//! object storage, chosen in `crate::store::files`); who uploaded what lives
//! in the database (`UploadStore`), so ownership survives restarts and is
//! the same on every instance.
//!
//! Keys are `<32 random hex digits>/<sanitised file name>`: the random part
//! is what keeps a public URL unguessable, the name keeps downloads readable.

use bytes::Bytes;
use serde_json::{json, Value};
use tokio::sync::Semaphore;

use super::actor::Actor;
use super::ctx::Ctx;
use super::error::{Code, Error, Result};
pub use super::files::{Upload, UploadKind, Uploads, DEFAULT_MAX_BYTES};
use super::images::{self, ImageSize};
use super::time::Timestamp;

/// Decoding and resizing run on blocking threads, this many at once: each
/// holds up to `images::MAX_DECODE_BYTES` and a core.
static IMAGE_WORK: Semaphore = Semaphore::const_new(2);

async fn image_work<T: Send + 'static>(work: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    let _permit = IMAGE_WORK.acquire().await.map_err(Error::internal)?;
    blocking(work).await
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(work).await.map_err(Error::internal)?
}

/// A file as received: the client's name and declared type, and its bytes.
pub struct Incoming {
    pub name: String,
    pub declared_type: Option<String>,
    pub bytes: Bytes,
}

fn configured(ctx: &Ctx) -> Result<&Uploads> {
    ctx.uploads.as_ref().ok_or_else(|| Error::input("uploads are not configured on this server"))
}

/// The user an upload belongs to: the token's user (a `user.id` naming
/// anyone else is a 403), or server-side the named user, or nobody.
pub fn owner(actor: &Actor, named: Option<&str>) -> Result<String> {
    match actor {
        Actor::Server => Ok(named.unwrap_or_default().to_string()),
        _ => actor.acting_user(named).map_err(|e| match e.code {
            Code::NotAllowed if named.is_some() => Error::not_allowed_field("user.id", e.message),
            _ => e,
        }),
    }
}

/// Stores `file` for `owner` and returns its record. An image must be one by
/// its bytes (JPEG, PNG, GIF, WebP, BMP, TIFF, AVIF or HEIC), whatever type
/// it was declared with, and is served with the type its bytes show. Each
/// of `sizes` (checked by `images::check_upload_sizes`) is made now and
/// stored beside it (`ImageSize::variant_key`); only PNG, JPEG, GIF and
/// WebP images are resized.
pub async fn upload(ctx: &Ctx, owner: String, kind: UploadKind, file: Incoming, sizes: &[ImageSize]) -> Result<Upload> {
    let uploads = configured(ctx)?;
    if file.bytes.len() > uploads.max_bytes {
        return Err(too_big(uploads.max_bytes));
    }
    if file.bytes.is_empty() {
        return Err(Error::field("file", "file is empty"));
    }
    let content_type = match kind {
        UploadKind::Image => image_type(&file.bytes)
            .ok_or_else(|| {
                Error::field(
                    "file",
                    "file is not an image: accepted are JPEG, PNG, GIF, WebP, BMP, TIFF, AVIF and HEIC",
                )
            })?
            .to_string(),
        UploadKind::File => file_type(&file),
    };
    let record = Upload {
        key: new_key(&file.name, kind, &content_type),
        user_id: owner,
        kind,
        content_type,
        size: file.bytes.len() as i64,
        created_at: Timestamp::now(),
    };
    let variants = if sizes.is_empty() {
        vec![]
    } else {
        if kind != UploadKind::Image || !images::resizable(&record.content_type) {
            return Err(Error::field(
                "upload_sizes",
                format!("only PNG, JPEG, GIF and WebP images are resized, and this is {}", record.content_type),
            ));
        }
        let (bytes, sizes) = (file.bytes.clone(), sizes.to_vec());
        image_work(move || {
            let decoded = images::decode(&bytes, "file")?;
            sizes.iter().map(|size| decoded.variant(size).map(|(bytes, ty)| (*size, bytes, ty))).collect()
        })
        .await?
    };
    let stored = async {
        uploads.files.put(&record.key, &record.content_type, file.bytes).await?;
        for (size, bytes, content_type) in variants {
            uploads.files.put(&size.variant_key(&record.key), content_type, bytes.into()).await?;
        }
        ctx.store.insert_upload(&record).await
    };
    if let Err(e) = stored.await {
        // Bytes nobody owns could never be deleted through the API.
        if let Err(cleanup) = uploads.files.delete(&record.key).await {
            tracing::warn!(key = %record.key, error = %cleanup, "an upload whose record failed was not removed");
        }
        return Err(e);
    }
    Ok(record)
}

/// The URL of `key`'s variant of `size`: the image's own URL asking for
/// the size, where this server serves it (and finds the stored variant),
/// else the variant's object.
pub fn variant_url(ctx: &Ctx, key: &str, size: &ImageSize, base_url: &str) -> Result<String> {
    let files = &configured(ctx)?.files;
    Ok(match files.resizes_on_request() {
        true => format!("{}?{}", files.url(key, base_url), size.query()),
        false => files.url(&size.variant_key(key), base_url),
    })
}

pub fn too_big(max_bytes: usize) -> Error {
    let mut e = Error::field("file", format!("file is larger than the upload limit of {max_bytes} bytes"));
    e.code = Code::PayloadTooBig;
    e
}

/// The public URL of an upload.
pub fn url(ctx: &Ctx, key: &str, base_url: &str) -> Result<String> {
    Ok(configured(ctx)?.files.url(key, base_url))
}

/// Deletes the upload behind `url`: its owner may, and server-side calls may
/// delete any. An image is deleted through DeleteImage and a file through
/// DeleteFile, as on Stream. Activities that link to it keep their links.
pub async fn delete(ctx: &Ctx, actor: &Actor, kind: UploadKind, url: Option<&str>) -> Result<()> {
    let uploads = configured(ctx)?;
    let url = url.filter(|u| !u.is_empty()).ok_or_else(|| Error::field("url", "url is a required field"))?;
    let missing = || Error::new(Code::NotFound, format!("no {} was uploaded at url {url}", kind.as_str()));
    let key = uploads.files.key_of(url).ok_or_else(missing)?;
    let record = ctx.store.get_upload(&key).await?.filter(|u| u.kind == kind).ok_or_else(missing)?;
    match actor {
        Actor::Server => {}
        Actor::User(me) if *me == record.user_id => {}
        Actor::User(_) => return Err(Error::not_allowed_field("url", "only its uploader may delete this file")),
        Actor::Anonymous => return Err(Actor::anonymous_refused()),
    }
    // Bytes first: a failure leaves the record, so the delete can be retried.
    uploads.files.delete(&key).await?;
    ctx.store.delete_upload(&key).await?;
    Ok(())
}

/// The bytes and type of a stored upload, for serving its public URL.
pub async fn fetch(ctx: &Ctx, key: &str) -> Result<Option<(Upload, Bytes)>> {
    let uploads = configured(ctx)?;
    let Some(record) = ctx.store.get_upload(key).await? else { return Ok(None) };
    Ok(uploads.files.get(key).await?.map(|bytes| (record, bytes)))
}

/// The bytes and type of `key` resized to `size`, for serving its public
/// URL with `w`, `h`, `resize` or `crop`: the variant stored at upload when
/// one was asked for, else made now (and not kept: a URL anyone may vary
/// must not fill the disk; `Cache-Control` lets caches in front keep it).
pub async fn fetch_resized(ctx: &Ctx, key: &str, size: &ImageSize) -> Result<Option<(Bytes, &'static str)>> {
    let uploads = configured(ctx)?;
    if ctx.store.get_upload(key).await?.is_none() {
        return Ok(None);
    }
    if let Some(bytes) = uploads.files.get(&size.variant_key(key)).await? {
        let ty = image_type(&bytes).unwrap_or("application/octet-stream");
        return Ok(Some((bytes, ty)));
    }
    // The turn is taken before the original is read: requests waiting for
    // one hold no image in memory.
    let _permit = IMAGE_WORK.acquire().await.map_err(Error::internal)?;
    let Some(bytes) = uploads.files.get(key).await? else { return Ok(None) };
    if !image_type(&bytes).is_some_and(images::resizable) {
        return Err(Error::input("only PNG, JPEG, GIF and WebP images are resized; this file is served as sent"));
    }
    let size = *size;
    let (bytes, ty) = blocking(move || images::decode(&bytes, "url")?.variant(&size)).await?;
    Ok(Some((bytes.into(), ty)))
}

/// An upload as a GDPR export lists it.
pub fn export_doc(ctx: &Ctx, doc: &Value, base_url: &str) -> Value {
    let key = doc["key"].as_str().unwrap_or_default();
    let url = url(ctx, key, base_url).unwrap_or_else(|_| key.to_string());
    json!({
        "url": url,
        "name": key.split_once('/').map_or(key, |(_, name)| name),
        "type": doc["kind"],
        "mime_type": doc["content_type"],
        "size": doc["size"],
        "created_at": doc["created_at"],
    })
}

/// Removes the stored bytes (and variants) of `keys`, whose records are
/// gone, and forgets those removed; one that fails is logged and stays
/// among the store's orphaned uploads, to be retried. Returns how many went.
pub async fn remove_orphans(ctx: &Ctx, keys: &[String]) -> Result<usize> {
    let Some(uploads) = ctx.uploads.as_ref() else {
        if !keys.is_empty() {
            tracing::warn!(count = keys.len(), "uploads are not configured: orphaned upload files were left");
        }
        return Ok(0);
    };
    let mut removed = Vec::with_capacity(keys.len());
    for key in keys {
        match uploads.files.delete(key).await {
            Ok(()) => removed.push(key.clone()),
            Err(e) => tracing::warn!(key = %key, error = %e, "an orphaned upload was not removed; it will be retried"),
        }
    }
    ctx.store.forget_upload_orphans(&removed).await?;
    Ok(removed.len())
}

/// A fresh key for `name`: 128 random bits, then the name reduced to
/// letters, digits, `.`, `-` and `_` (at most 100 characters).
fn new_key(name: &str, kind: UploadKind, content_type: &str) -> String {
    let token = uuid::Uuid::new_v4().simple().to_string();
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut clean: String = base
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' })
        .take(100)
        .collect();
    let clean_trimmed = clean.trim_start_matches('.');
    if clean_trimmed.is_empty() {
        clean = match kind {
            UploadKind::Image => format!("image.{}", content_type.rsplit('/').next().unwrap_or("bin")),
            UploadKind::File => "file".to_string(),
        };
    } else {
        clean = clean_trimmed.to_string();
    }
    format!("{token}/{clean}")
}

/// A file's type: the declared one when it is a well-formed `type/subtype`,
/// else what its bytes show for images, else `application/octet-stream`.
fn file_type(file: &Incoming) -> String {
    let declared = file.declared_type.as_deref().map(str::trim).filter(|t| {
        t.split_once('/').is_some_and(|(a, b)| {
            let token =
                |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&c));
            token(a) && token(b.split(';').next().unwrap_or_default().trim())
        })
    });
    match declared {
        Some(t) => t.to_ascii_lowercase(),
        None => image_type(&file.bytes).unwrap_or("application/octet-stream").to_string(),
    }
}

/// The image type the bytes' signature shows. SVG is not among them: it is a
/// document that can run scripts.
pub fn image_type(bytes: &[u8]) -> Option<&'static str> {
    let starts = |sig: &[u8]| bytes.starts_with(sig);
    if starts(b"\xFF\xD8\xFF") {
        Some("image/jpeg")
    } else if starts(b"\x89PNG\r\n\x1A\n") {
        Some("image/png")
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && starts(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if starts(b"BM") && bytes.len() >= 26 {
        Some("image/bmp")
    } else if starts(b"II*\0") || starts(b"MM\0*") {
        Some("image/tiff")
    } else if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        match &bytes[8..12] {
            b"avif" | b"avis" => Some("image/avif"),
            b"heic" | b"heix" | b"mif1" | b"msf1" => Some("image/heic"),
            _ => None,
        }
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_known_by_their_bytes() {
        assert_eq!(image_type(b"\x89PNG\r\n\x1A\n...."), Some("image/png"));
        assert_eq!(image_type(b"\xFF\xD8\xFF\xE0"), Some("image/jpeg"));
        assert_eq!(image_type(b"GIF89a..."), Some("image/gif"));
        assert_eq!(image_type(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(image_type(b"\0\0\0\x1cftypavif"), Some("image/avif"));
        assert_eq!(image_type(b"<svg xmlns='http://www.w3.org/2000/svg'/>"), None);
        assert_eq!(image_type(b"%PDF-1.7"), None);
        assert_eq!(image_type(b""), None);
    }

    #[test]
    fn keys_are_random_and_keep_a_safe_name() {
        let a = new_key("../../etc/My Photo.PNG", UploadKind::Image, "image/png");
        let b = new_key("../../etc/My Photo.PNG", UploadKind::Image, "image/png");
        assert_ne!(a, b);
        let (token, name) = a.split_once('/').expect("two parts");
        assert_eq!(token.len(), 32);
        assert_eq!(name, "My_Photo.PNG");
        assert!(new_key("..", UploadKind::Image, "image/png").ends_with("/image.png"));
        assert!(new_key("", UploadKind::File, "text/plain").ends_with("/file"));
    }

    #[test]
    fn declared_file_types_are_kept_only_when_well_formed() {
        let file = |t: Option<&str>, b: &'static [u8]| Incoming {
            name: "x".into(),
            declared_type: t.map(String::from),
            bytes: Bytes::from_static(b),
        };
        assert_eq!(file_type(&file(Some("text/plain; charset=utf-8"), b"hi")), "text/plain; charset=utf-8");
        assert_eq!(file_type(&file(Some("nonsense"), b"hi")), "application/octet-stream");
        assert_eq!(file_type(&file(None, b"GIF89a")), "image/gif");
    }
}
