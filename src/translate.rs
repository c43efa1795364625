//! The translation provider: a LibreTranslate-compatible HTTP API
//! (`POST <url>/translate {q, source: "auto", target, format: "text"}` →
//! `{translatedText, detectedLanguage?: {language}}`), behind
//! `core::translator::Translator`.

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;

use crate::core::error::{Code, Error, Result};
use crate::core::translator::{Translation, Translator};

/// The longest provider answer read: a translation of `MAX_TEXT_CHARS`
/// characters is far below it.
const MAX_ANSWER_BYTES: usize = 256 * 1024;

pub struct LibreTranslate {
    endpoint: String,
    api_key: Option<String>,
    http: reqwest::Client,
}

impl LibreTranslate {
    pub fn new(base_url: &str, api_key: Option<String>, timeout: Duration) -> std::result::Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("tributary/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("the translation HTTP client cannot be built: {e}"))?;
        let endpoint = format!("{}/translate", base_url.trim_end_matches('/'));
        Ok(LibreTranslate { endpoint, api_key: api_key.filter(|k| !k.is_empty()), http })
    }
}

#[derive(Deserialize)]
struct Answer {
    #[serde(rename = "translatedText")]
    translated_text: String,
    #[serde(default, rename = "detectedLanguage")]
    detected_language: Option<Detected>,
}

#[derive(Deserialize)]
struct Detected {
    #[serde(default)]
    language: Option<String>,
}

/// What the caller sees when the provider fails: the service's fault, not
/// the request's, so a 502 whose message says what went wrong.
fn provider_failed(why: impl std::fmt::Display) -> Error {
    tracing::warn!(error = %why, "translation provider failed");
    Error::new(Code::BadGateway, format!("the translation service failed: {why}"))
}

#[async_trait]
impl Translator for LibreTranslate {
    async fn translate(&self, text: &str, language: &str) -> Result<Translation> {
        let mut body = serde_json::json!({"q": text, "source": "auto", "target": language, "format": "text"});
        if let Some(key) = &self.api_key {
            body["api_key"] = serde_json::Value::from(key.as_str());
        }
        let body = serde_json::to_vec(&body).map_err(Error::internal)?;
        let response = self
            .http
            .post(&self.endpoint)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| {
                provider_failed(if e.is_timeout() { "it did not answer in time".to_string() } else { e.to_string() })
            })?;
        let status = response.status();
        let mut bytes = Vec::new();
        let mut response = response;
        while let Some(chunk) = response.chunk().await.map_err(provider_failed)? {
            if bytes.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(provider_failed("its answer is too large"));
            }
            bytes.extend_from_slice(&chunk);
        }
        if status.as_u16() == 400 {
            // LibreTranslate answers 400 for a target language it lacks.
            let why = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
                .unwrap_or_else(|| "it refused the request".into());
            return Err(Error::field("language", format!("the translation service refused: {why}")));
        }
        if !status.is_success() {
            return Err(provider_failed(format!("it answered {status}")));
        }
        let answer: Answer =
            serde_json::from_slice(&bytes).map_err(|e| provider_failed(format!("unexpected answer: {e}")))?;
        Ok(Translation { text: answer.translated_text, detected: answer.detected_language.and_then(|d| d.language) })
    }
}
