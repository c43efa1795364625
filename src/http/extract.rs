//! Extractors whose rejections are `APIError`s: bodies, query strings and
//! path segments. Unknown JSON fields are ignored, as on Stream.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::core::error::{Code, Error};
use crate::core::i18n::ReadLanguage;

/// The largest request body accepted (413 beyond it).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A JSON body. An empty body reads as `{}` (several SDK calls send none).
pub struct WireJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for WireJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                Error::new(Code::PayloadTooBig, format!("request body is larger than {} bytes", MAX_BODY_BYTES))
            } else {
                Error::input(format!("could not read request body: {rejection}"))
            }
        })?;
        let body: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}" } else { &bytes };
        parse_json(body).map(WireJson).map_err(ApiError)
    }
}

pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    // PostgreSQL cannot store NUL in text or jsonb; refuse it up front on
    // every store alike rather than fail the write later.
    if body.windows(6).any(|w| w == b"\\u0000") {
        return Err(Error::input("strings must not contain the NUL character (\\u0000)"));
    }
    crate::core::limits::check_body_depth(body)?;
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let text = inner.to_string();
        // serde says "missing field `type` at line 1 column 20"; Stream says
        // "type is a required field".
        if let Some(field) = text.strip_prefix("missing field `").and_then(|r| r.split('`').next()) {
            let full = if path == "." { field.to_string() } else { format!("{path}.{field}") };
            return Error::field(&full, format!("{full} is a required field"));
        }
        if inner.is_syntax() || inner.is_eof() {
            return Error::input(format!("invalid json data: {text}"));
        }
        let reason = text.split(" at line ").next().unwrap_or(&text);
        if path == "." {
            Error::input(format!("invalid request body: {reason}"))
        } else {
            Error::field(&path, format!("{path}: {reason}"))
        }
    })
}

/// Query-string parameters (SDKs send booleans as `true`/`false`).
pub struct WireQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for WireQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        serde_urlencoded::from_str(parts.uri.query().unwrap_or(""))
            .map(WireQuery)
            .map_err(|e| ApiError(Error::input(format!("invalid query parameters: {e}"))))
    }
}

/// Path segments, percent-decoded once.
pub struct WirePath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for WirePath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| WirePath(v))
            .map_err(|e| ApiError(Error::input(format!("invalid path: {e}"))))
    }
}

/// A comma-joined list parameter. The Python SDK percent-encodes each
/// element before joining (and the whole value again), so after the usual
/// query decoding elements may still hold `%XX`: decode those once more.
pub fn comma_list(value: Option<&str>) -> Vec<String> {
    value
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            let decoded = percent_encoding::percent_decode_str(s).decode_utf8_lossy();
            // A second decoding must not bring back the control characters
            // the first one was checked for (`%2500` → `%00`).
            if s.contains('%') && !decoded.chars().any(|c| c.is_ascii_control()) {
                decoded.into_owned()
            } else {
                s.to_string()
            }
        })
        .collect()
}

/// A read's `language` and `translate_text` query parameters (every feed,
/// activity and comment read has them): how the response projects stored
/// translations, checked here so each read refuses bad ones alike.
pub struct WireLanguage(pub Option<ReadLanguage>);

#[derive(serde::Deserialize)]
struct LanguageParams {
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    translate_text: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for WireLanguage {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let params: LanguageParams = serde_urlencoded::from_str(parts.uri.query().unwrap_or(""))
            .map_err(|e| ApiError(Error::input(format!("invalid query parameters: {e}"))))?;
        let translate_text = match params.translate_text.as_deref() {
            None | Some("") => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(other) => {
                let message = format!("translate_text must be true or false, not {other:?}");
                return Err(ApiError(Error::field("translate_text", message)));
            }
        };
        Ok(WireLanguage(ReadLanguage::of(params.language.as_deref(), translate_text)?))
    }
}
