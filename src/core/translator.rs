//! The translation provider interface: what TranslateActivity and
//! TranslateComment (`translation`) ask of a machine translation service.
//! The server's implementation calls a LibreTranslate-compatible HTTP API
//! (`crate::translate`); without one configured the operations refuse.

use async_trait::async_trait;

use super::error::Result;

/// Longest text sent for translation, in characters: LibreTranslate's own
/// default `--char-limit` is 5,000, and one request is one provider call.
pub const MAX_TEXT_CHARS: usize = 5_000;

/// One translation: the text, and the source language the provider
/// detected when it says.
#[derive(Debug, Clone, PartialEq)]
pub struct Translation {
    pub text: String,
    pub detected: Option<String>,
}

#[async_trait]
pub trait Translator: Send + Sync {
    /// `text` (at most `MAX_TEXT_CHARS`) in `language` (an ISO 639-1 code),
    /// its source detected. A provider failure or timeout is an error whose
    /// message names the provider's answer, never the text.
    async fn translate(&self, text: &str, language: &str) -> Result<Translation>;
}
