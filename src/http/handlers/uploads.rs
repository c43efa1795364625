//! UploadFile, UploadImage, DeleteFile, DeleteImage, and the public URL of
//! files kept on local disk. The clients send uploads as multipart forms:
//! a `file` part, and as text parts `user` (`{"id": …}`, server-side) and
//! `upload_sizes` (a JSON array of `ImageSize`s; UploadImage only, and
//! ignored by UploadFile, whose request has no such field).

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::user_data::base_url;
use crate::core::error::{Error, Result};
use crate::core::images::{self, ImageSize, ImageSizeInput, SizeFields};
use crate::core::uploads::{self, Incoming, Upload, UploadKind};
use crate::http::auth::Auth;
use crate::http::error::ApiResult;
use crate::http::extract::{WirePath, WireQuery};
use crate::http::reply::{Empty, Reply};
use crate::http::AppState;

/// Room for the multipart framing and the text parts around the file: a
/// body may exceed the file limit by this much before it is cut off unread.
pub const FORM_OVERHEAD_BYTES: usize = 64 * 1024;

/// The most bytes a text part (`user`, `upload_sizes`) may hold.
const TEXT_PART_BYTES: usize = 16 * 1024;

#[derive(Serialize)]
pub struct FileUploadResponse {
    file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    thumb_url: Option<String>,
}

#[derive(Serialize)]
pub struct ImageUploadResponse {
    file: String,
    thumb_url: String,
    /// The sizes made, as accepted (defaults filled in).
    #[serde(skip_serializing_if = "Option::is_none")]
    upload_sizes: Option<Vec<ImageSize>>,
}

#[derive(Deserialize)]
struct OnlyUserId {
    id: String,
}

/// The parts of an upload form.
struct Form {
    file: Option<Incoming>,
    user_id: Option<String>,
    sizes: Vec<ImageSize>,
}

/// UploadFile — `POST /api/v2/uploads/file`.
pub async fn upload_file(
    State(state): State<AppState>,
    Auth(actor): Auth,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Reply<FileUploadResponse>> {
    let (record, url, _) = receive(&state, &actor, &headers, body, UploadKind::File).await?;
    // A file that is an image is its own thumbnail, as for UploadImage.
    let thumb_url = record.content_type.starts_with("image/").then(|| url.clone());
    Ok(Reply(FileUploadResponse { file: url, thumb_url }))
}

/// UploadImage — `POST /api/v2/uploads/image`. The image is stored as sent,
/// with a resized variant for each of `upload_sizes`; `thumb_url` is the
/// smallest variant's URL, or the image itself when none was asked for.
pub async fn upload_image(
    State(state): State<AppState>,
    Auth(actor): Auth,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Reply<ImageUploadResponse>> {
    let (record, url, sizes) = receive(&state, &actor, &headers, body, UploadKind::Image).await?;
    let thumb_url = match sizes.iter().min_by_key(|s| s.area()) {
        Some(smallest) => uploads::variant_url(&state.ctx, &record.key, smallest, &base_url(&headers))?,
        None => url.clone(),
    };
    let upload_sizes = (!sizes.is_empty()).then_some(sizes);
    Ok(Reply(ImageUploadResponse { file: url, thumb_url, upload_sizes }))
}

async fn receive(
    state: &AppState,
    actor: &crate::core::Actor,
    headers: &HeaderMap,
    body: Body,
    kind: UploadKind,
) -> Result<(Upload, String, Vec<ImageSize>)> {
    let max_bytes = state.ctx.uploads.as_ref().map_or(usize::MAX, |u| u.max_bytes);
    let form = read_form(headers, body, max_bytes, kind).await?;
    let owner = uploads::owner(actor, form.user_id.as_deref())?;
    let file = form.file.ok_or_else(|| Error::field("file", "file is a required field"))?;
    let record = uploads::upload(&state.ctx, owner, kind, file, &form.sizes).await?;
    let url = uploads::url(&state.ctx, &record.key, &base_url(headers))?;
    Ok((record, url, form.sizes))
}

async fn read_form(headers: &HeaderMap, body: Body, max_bytes: usize, kind: UploadKind) -> Result<Form> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let boundary = multer::parse_boundary(content_type).map_err(|_| {
        Error::field("file", "the request must be a multipart/form-data form with the file in a `file` part")
    })?;
    let malformed = |e: multer::Error| Error::input(format!("invalid multipart/form-data body: {e}"));
    let mut multipart = multer::Multipart::new(body.into_data_stream(), boundary);
    let mut form = Form { file: None, user_id: None, sizes: vec![] };
    while let Some(mut part) = multipart.next_field().await.map_err(malformed)? {
        let name = part.name().unwrap_or_default().to_string();
        match name.as_str() {
            "file" => {
                if form.file.is_some() {
                    return Err(Error::field("file", "send one file per request"));
                }
                let file_name = part.file_name().unwrap_or_default().to_string();
                let declared_type = part.content_type().map(|m| m.to_string());
                let mut bytes = Vec::new();
                while let Some(chunk) = part.chunk().await.map_err(malformed)? {
                    if bytes.len() + chunk.len() > max_bytes {
                        return Err(uploads::too_big(max_bytes));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                form.file = Some(Incoming { name: file_name, declared_type, bytes: Bytes::from(bytes) });
            }
            "user" => {
                let text = text_part(part, "user").await?;
                if !text.trim().is_empty() && text.trim() != "null" {
                    let user: OnlyUserId = serde_json::from_str(&text)
                        .map_err(|e| Error::field("user", format!("user must be a JSON object with an id: {e}")))?;
                    form.user_id = Some(user.id).filter(|id| !id.is_empty());
                }
            }
            "upload_sizes" if kind == UploadKind::Image => {
                let text = text_part(part, "upload_sizes").await?;
                let sizes: Option<Vec<ImageSizeInput>> = match text.trim() {
                    "" | "undefined" => None,
                    text => serde_json::from_str(text).map_err(|e| {
                        Error::field("upload_sizes", format!("upload_sizes must be a JSON array of image sizes: {e}"))
                    })?,
                };
                form.sizes = images::check_upload_sizes(&sizes.unwrap_or_default())?;
            }
            // Parts the spec does not define are ignored, as unknown JSON fields are.
            _ => while part.chunk().await.map_err(malformed)?.is_some() {},
        }
    }
    Ok(form)
}

async fn text_part(mut part: multer::Field<'_>, name: &str) -> Result<String> {
    let mut bytes = Vec::new();
    while let Some(chunk) = part.chunk().await.map_err(|e| Error::field(name, format!("{name}: {e}")))? {
        if bytes.len() + chunk.len() > TEXT_PART_BYTES {
            return Err(Error::field(name, format!("{name} is longer than {TEXT_PART_BYTES} bytes")));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| Error::field(name, format!("{name} must be UTF-8 text")))
}

#[derive(Deserialize)]
pub struct DeleteUploadQuery {
    #[serde(default)]
    url: Option<String>,
}

/// DeleteFile — `DELETE /api/v2/uploads/file?url=…`.
pub async fn delete_file(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WireQuery(q): WireQuery<DeleteUploadQuery>,
) -> ApiResult<Reply<Empty>> {
    uploads::delete(&state.ctx, &actor, UploadKind::File, q.url.as_deref()).await?;
    Ok(Reply(Empty {}))
}

/// DeleteImage — `DELETE /api/v2/uploads/image?url=…`.
pub async fn delete_image(
    State(state): State<AppState>,
    Auth(actor): Auth,
    WireQuery(q): WireQuery<DeleteUploadQuery>,
) -> ApiResult<Reply<Empty>> {
    uploads::delete(&state.ctx, &actor, UploadKind::Image, q.url.as_deref()).await?;
    Ok(Reply(Empty {}))
}

/// The resizing parameters of a served image's URL, as Stream's CDN reads
/// them: `w` and `h` (pixels, at most `images::MAX_DIMENSION`), `resize`
/// (clip, crop, scale, fill) and `crop` (top, bottom, left, right, center).
#[derive(Deserialize, Default)]
pub struct ResizeQuery {
    #[serde(default)]
    w: Option<String>,
    #[serde(default)]
    h: Option<String>,
    #[serde(default)]
    resize: Option<String>,
    #[serde(default)]
    crop: Option<String>,
}

impl ResizeQuery {
    /// The size asked for, if any.
    fn size(&self) -> Result<Option<ImageSize>> {
        if self.w.is_none() && self.h.is_none() && self.resize.is_none() && self.crop.is_none() {
            return Ok(None);
        }
        let number = |value: &Option<String>, field: &str| -> Result<Option<i64>> {
            value
                .as_deref()
                .filter(|v| !v.is_empty())
                .map(|v| {
                    v.parse().map_err(|_| Error::field(field, format!("{field} must be a whole number of pixels")))
                })
                .transpose()
        };
        let input = ImageSizeInput {
            width: number(&self.w, "w")?,
            height: number(&self.h, "h")?,
            resize: self.resize.clone(),
            crop: self.crop.clone(),
        };
        input.check(&SizeFields::query()).map(Some)
    }
}

/// The headers every served file has; `disposition` is `inline` for images.
fn file_headers(content_type: &str, disposition: &'static str) -> [(header::HeaderName, HeaderValue); 5] {
    let content_type =
        HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    [
        (header::CONTENT_TYPE, content_type),
        (header::CONTENT_DISPOSITION, HeaderValue::from_static(disposition)),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox")),
        // Keys are never reused: what a URL names never changes.
        (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable")),
    ]
}

/// `GET /uploads/{token}/{name}`: a stored file, public like a CDN URL (the
/// random token is what keeps it private). Only images open in the
/// browser; anything else downloads, and nothing is sniffed or run, so an
/// uploaded HTML page cannot act on this server's origin. With `w`, `h`,
/// `resize` or `crop` (`ResizeQuery`) a PNG, JPEG, GIF or WebP image is
/// served resized (`uploads::fetch_resized`).
pub async fn serve_file(
    State(state): State<AppState>,
    WirePath((token, name)): WirePath<(String, String)>,
    WireQuery(query): WireQuery<ResizeQuery>,
) -> ApiResult<Response> {
    let key = format!("{token}/{name}");
    if let Some(size) = query.size()? {
        let Some((bytes, content_type)) = uploads::fetch_resized(&state.ctx, &key, &size).await? else {
            return Err(Error::not_found("file", &key).into());
        };
        return Ok((StatusCode::OK, file_headers(content_type, "inline"), bytes).into_response());
    }
    let Some((record, bytes)) = uploads::fetch(&state.ctx, &key).await? else {
        return Err(Error::not_found("file", &key).into());
    };
    let disposition =
        if uploads::image_type(&bytes) == Some(record.content_type.as_str()) { "inline" } else { "attachment" };
    Ok((StatusCode::OK, file_headers(&record.content_type, disposition), bytes).into_response())
}
