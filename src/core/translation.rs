//! TranslateActivity and TranslateComment: the text of an activity or a
//! comment in another language, through the configured `Translator`, cached
//! on the record (`Translations`, the wire's `i18n`) so asking again costs
//! no provider call. The cache is keyed by a fingerprint of the text, so an
//! edit retires it.

use super::activities;
use super::comments;
use super::error::{Error, Result};
use super::events::{Event, EventType};
use super::i18n::{checked_language, key};
use super::model::{Activity, Comment, Translations};
use super::storage::Translated;
use super::translator::MAX_TEXT_CHARS;
use super::Actor;
use super::Ctx;

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

/// Whom a translation's event names: the token's user, or server-side the
/// record's author.
fn acting<'a>(actor: &'a Actor, author: &'a str) -> &'a str {
    match actor {
        Actor::User(me) => me,
        Actor::Server | Actor::Anonymous => author,
    }
}

/// TranslateActivity (`feeds.activity.updated`, as on Stream): anyone who may read the activity may translate it.
pub async fn translate_activity(ctx: &Ctx, actor: &Actor, id: &str, language: &str) -> Result<Activity> {
    let activity = activities::read_activity(ctx, actor, id).await?;
    let cached = Translations::of_text(&activity.i18n, activity.text.as_deref());
    let entries = translated(ctx, cached, activity.text.as_deref(), language).await?;
    if entries.is_empty() {
        return Ok(activity);
    }
    let of = Translations::fingerprint(activity.text.as_deref().unwrap_or(""));
    let event = Event::about_activity(EventType::ActivityUpdated, Some(acting(actor, &activity.user_id)), &activity);
    ctx.store.save_translations(Translated::Activity, id, &of, &entries, &event).await?;
    activities::read_activity(ctx, actor, id).await
}

/// TranslateComment (`feeds.comment.updated`): anyone who may read the comment may translate it.
pub async fn translate_comment(ctx: &Ctx, actor: &Actor, id: &str, language: &str) -> Result<Comment> {
    let comment = comments::read_comment(ctx, actor, id).await?;
    let cached = Translations::of_text(&comment.i18n, comment.text.as_deref());
    let entries = translated(ctx, cached, comment.text.as_deref(), language).await?;
    if entries.is_empty() {
        return Ok(comment);
    }
    let of = Translations::fingerprint(comment.text.as_deref().unwrap_or(""));
    let activity = comments::commented_activity(ctx, &comment).await?;
    let by = comments::acting(actor, &comment);
    let event = comments::comment_event(EventType::CommentUpdated, by, &activity, &comment);
    ctx.store.save_translations(Translated::Comment, id, &of, &entries, &event).await?;
    comments::read_comment(ctx, actor, id).await
}
