//! The language of a read (`language`, `translate_text` on feed, activity
//! and comment reads) and how it projects stored translations (`i18n`),
//! with the language codes TranslateActivity and TranslateComment take.
//! Pure: no store, no provider.

use std::collections::BTreeMap;

use super::error::{Error, Result};

/// An ISO 639-1 code, with an optional region or script (`zh-TW`,
/// `pt-BR`, `zh-Hant`): what LibreTranslate and Stream's `language` take.
pub(super) fn checked_language(language: &str) -> Result<String> {
    let (base, rest) = match language.split_once('-') {
        Some((base, rest)) => (base, Some(rest)),
        None => (language, None),
    };
    let base_ok = (2..=3).contains(&base.len()) && base.bytes().all(|b| b.is_ascii_lowercase());
    let rest_ok = rest.is_none_or(|r| (2..=4).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_alphanumeric()));
    if !base_ok || !rest_ok {
        return Err(Error::field("language", format!("language {language:?} is not an ISO 639-1 language code")));
    }
    Ok(language.to_string())
}

/// What a read asks of stored translations (`language`, `translate_text`
/// on feed, activity and comment reads): never a provider call, only a
/// projection of the `i18n` cache at render time (`project`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadLanguage {
    pub language: String,
    pub translate_text: bool,
}

impl ReadLanguage {
    /// The projection a read asks for: none without a `language` (an empty
    /// one asks for nothing); `translate_text` without one is refused, as
    /// there is nothing to translate into.
    pub fn of(language: Option<&str>, translate_text: Option<bool>) -> Result<Option<ReadLanguage>> {
        let translate_text = translate_text.unwrap_or(false);
        match language.filter(|l| !l.is_empty()) {
            Some(language) => Ok(Some(ReadLanguage { language: checked_language(language)?, translate_text })),
            None if translate_text => {
                Err(Error::field("translate_text", "translate_text needs a language to translate the text into"))
            }
            None => Ok(None),
        }
    }

    /// A record's `text` and `i18n` as a read in this language shows them.
    /// When the stored translations hold this language, `i18n` keeps only
    /// its `<language>_*` entries and the detected source `language`, and
    /// with `translate_text` the text is the translation; otherwise both
    /// are shown as stored.
    pub fn project(
        &self,
        text: Option<&str>,
        i18n: Option<&BTreeMap<String, String>>,
    ) -> (Option<String>, Option<BTreeMap<String, String>>) {
        let Some(translated) = i18n.and_then(|t| t.get(&key(&self.language))) else {
            return (text.map(str::to_string), i18n.cloned());
        };
        let prefix = format!("{}_", self.language);
        let kept = i18n
            .into_iter()
            .flatten()
            .filter(|(k, _)| k.starts_with(&prefix) || k.as_str() == "language")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let text = if self.translate_text { Some(translated.clone()) } else { text.map(str::to_string) };
        (text, Some(kept))
    }
}

/// The key of a translation in `i18n`.
pub(super) fn key(language: &str) -> String {
    format!("{language}_text")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored() -> BTreeMap<String, String> {
        [("fr_text", "Bonjour"), ("de_text", "Hallo"), ("language", "en"), ("zh-TW_text", "你好")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn read(language: &str, translate_text: bool) -> ReadLanguage {
        ReadLanguage::of(Some(language), Some(translate_text)).unwrap().unwrap()
    }

    #[test]
    fn a_read_language_keeps_its_translation_and_the_source_language() {
        let (text, i18n) = read("fr", false).project(Some("Hello"), Some(&stored()));
        assert_eq!(text.as_deref(), Some("Hello"));
        let i18n = i18n.unwrap();
        assert_eq!(i18n.keys().collect::<Vec<_>>(), ["fr_text", "language"]);
        assert_eq!(i18n["fr_text"], "Bonjour");
    }

    #[test]
    fn translate_text_replaces_the_text_with_the_stored_translation() {
        let (text, i18n) = read("de", true).project(Some("Hello"), Some(&stored()));
        assert_eq!(text.as_deref(), Some("Hallo"));
        assert_eq!(i18n.unwrap().keys().collect::<Vec<_>>(), ["de_text", "language"]);
        let (text, i18n) = read("zh-TW", true).project(Some("Hello"), Some(&stored()));
        assert_eq!(text.as_deref(), Some("你好"));
        assert_eq!(i18n.unwrap().keys().collect::<Vec<_>>(), ["language", "zh-TW_text"]);
    }

    #[test]
    fn a_language_not_stored_leaves_text_and_i18n_as_stored() {
        let (text, i18n) = read("es", true).project(Some("Hello"), Some(&stored()));
        assert_eq!(text.as_deref(), Some("Hello"));
        assert_eq!(i18n, Some(stored()));
        let (text, i18n) = read("es", true).project(Some("Hello"), None);
        assert_eq!((text.as_deref(), i18n), (Some("Hello"), None));
        // `zh` is not `zh-TW`.
        let (text, _) = read("zh", true).project(Some("Hello"), Some(&stored()));
        assert_eq!(text.as_deref(), Some("Hello"));
    }

    #[test]
    fn read_language_parameters_are_checked() {
        assert_eq!(ReadLanguage::of(None, None).unwrap(), None);
        assert_eq!(ReadLanguage::of(Some(""), Some(false)).unwrap(), None);
        assert!(ReadLanguage::of(None, Some(true)).unwrap_err().fields.contains_key("translate_text"));
        assert!(ReadLanguage::of(Some(""), Some(true)).unwrap_err().fields.contains_key("translate_text"));
        assert!(ReadLanguage::of(Some("French"), None).unwrap_err().fields.contains_key("language"));
        assert_eq!(
            ReadLanguage::of(Some("fr"), None).unwrap(),
            Some(ReadLanguage { language: "fr".into(), translate_text: false })
        );
    }

    #[test]
    fn language_codes_are_iso_639_1_with_an_optional_region() {
        for ok in ["fr", "en", "pt-BR", "zh-Hant", "ast"] {
            assert!(checked_language(ok).is_ok(), "{ok}");
        }
        for bad in ["", "f", "FR", "french", "fr_FR", "fr-", "fr-toolong", "../x"] {
            assert!(checked_language(bad).unwrap_err().fields.contains_key("language"), "{bad}");
        }
    }
}
