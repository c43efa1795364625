//! TranslateActivity and TranslateComment: the text of an activity or a
//! comment in another language, through the configured `Translator`, cached
//! on the record (`Translations`, the wire's `i18n`) so asking again costs
//! no provider call. The cache is keyed by a fingerprint of the text, so an
//! edit retires it.

use super::activities;
use super::comments;
use super::error::{Error, Result};
use super::model::{Activity, Comment, Translations};
use super::storage::Translated;
use super::translator::MAX_TEXT_CHARS;
use super::Actor;
use super::Ctx;

/// An ISO 639-1 code, with an optional region or script (`zh-TW`,
/// `pt-BR`, `zh-Hant`): what LibreTranslate and Stream's `language` take.
fn checked_language(language: &str) -> Result<String> {
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

/// The key of a translation in `i18n`.
fn key(language: &str) -> String {
    format!("{language}_text")
}

/// Translates `text` into `language` unless `cached` holds it; returns the
/// entries to add to the cache (none when it was cached).
async fn translated(
    ctx: &Ctx,
    cached: Option<&Translations>,
    text: Option<&str>,
    language: &str,
) -> Result<Vec<(String, String)>> {
    let language = checked_language(language)?;
    let Some(translator) = ctx.translator.as_ref() else {
        return Err(Error::input("translation is not configured on this server: start it with --translation-url"));
    };
    if cached.is_some_and(|c| c.texts.contains_key(&key(&language))) {
        return Ok(Vec::new());
    }
    let text = text.unwrap_or("");
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(Error::input(format!("the text is longer than the {MAX_TEXT_CHARS} characters translation takes")));
    }
    if text.trim().is_empty() {
        return Ok(vec![(key(&language), String::new())]);
    }
    let translation = translator.translate(text, &language).await?;
    let mut entries = vec![(key(&language), translation.text)];
    if let Some(detected) = translation.detected.filter(|d| !d.is_empty()) {
        entries.push(("language".into(), detected));
    }
    Ok(entries)
}

/// TranslateActivity: anyone who may read the activity may translate it.
pub async fn translate_activity(ctx: &Ctx, actor: &Actor, id: &str, language: &str) -> Result<Activity> {
    let activity = activities::read_activity(ctx, actor, id).await?;
    let cached = Translations::of_text(&activity.i18n, activity.text.as_deref());
    let entries = translated(ctx, cached, activity.text.as_deref(), language).await?;
    if entries.is_empty() {
        return Ok(activity);
    }
    let of = Translations::fingerprint(activity.text.as_deref().unwrap_or(""));
    ctx.store.save_translations(Translated::Activity, id, &of, &entries).await?;
    activities::read_activity(ctx, actor, id).await
}

/// TranslateComment: anyone who may read the comment may translate it.
pub async fn translate_comment(ctx: &Ctx, actor: &Actor, id: &str, language: &str) -> Result<Comment> {
    let comment = comments::read_comment(ctx, actor, id).await?;
    let cached = Translations::of_text(&comment.i18n, comment.text.as_deref());
    let entries = translated(ctx, cached, comment.text.as_deref(), language).await?;
    if entries.is_empty() {
        return Ok(comment);
    }
    let of = Translations::fingerprint(comment.text.as_deref().unwrap_or(""));
    ctx.store.save_translations(Translated::Comment, id, &of, &entries).await?;
    comments::read_comment(ctx, actor, id).await
}

#[cfg(test)]
mod tests {
    use super::*;

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
