//! Interests (ranking.md §1.4, §4): what activities are about and what
//! readers care for.
//!
//! - The `text_interest_tags` activity processor: a deterministic local
//!   tagger (`tagger`) that reads an activity's text against the vocabulary
//!   shipped in `vocabulary.txt` and writes the tags it finds to
//!   `interest_tags`, next to the caller's own.
//! - A user's interests: the `interest_tags` of the activities they reacted
//!   to or commented on (their latest `ENGAGEMENTS` of each), each
//!   engagement's contribution halving every 30 days, the strongest tag
//!   weighing 1.0 and the others in proportion.
//! - `interest_score`: Σ 0.5 × weight over an activity's tags that match one
//!   of the reader's top five interests, clamped to [−1, 1].

pub mod tagger;

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;

use super::error::{Error, Result};
use super::model::Activity;
use super::time::Timestamp;
use super::{Actor, Ctx};

pub use super::storage::Engagement;
pub use tagger::tags_of;

/// Processor types that run the tagger.
pub const TAGGERS: &[&str] = &["text_interest_tags", "text_topic", "text_topics"];
/// Processor types accepted as placeholders that do nothing (the SDKs'
/// tests configure them).
pub const PLACEHOLDERS: &[&str] = &["default", "dummy"];
/// Most activity processors a group may list.
pub const MAX_PROCESSORS: usize = 10;
/// Most engagements of each kind (reactions, comments) a user's interests
/// are computed from: the latest.
pub const ENGAGEMENTS: usize = 1000;
/// An engagement's contribution halves every this many seconds (30 days).
pub const HALF_LIFE_SECONDS: f64 = 30.0 * 86_400.0;
/// How many of the reader's interests `interest_score` and the `interest`
/// selector use.
pub const TOP: usize = 5;
/// Most `interest_weights` a read may send.
pub const MAX_READ_WEIGHTS: usize = 100;

/// Checks a group's `activity_processors` when it is written: every entry
/// is `{type}` of a type this server runs (or a documented placeholder).
pub fn validate_processors(processors: Option<&[Value]>) -> Result<()> {
    let Some(processors) = processors else { return Ok(()) };
    if processors.len() > MAX_PROCESSORS {
        return Err(Error::field("activity_processors", format!("at most {MAX_PROCESSORS} activity processors")));
    }
    for p in processors {
        let Some(map) = p.as_object() else {
            return Err(Error::field("activity_processors", "an activity processor is an object {type}"));
        };
        if let Some((key, _)) = map.iter().find(|(k, v)| k.as_str() != "type" && !v.is_null()) {
            return Err(Error::field(
                &format!("activity_processors.{key}"),
                format!("{key} is not a field of an activity processor"),
            ));
        }
        match map.get("type") {
            Some(Value::String(t)) if TAGGERS.contains(&t.as_str()) || PLACEHOLDERS.contains(&t.as_str()) => {}
            Some(Value::String(t)) => {
                return Err(Error::field(
                    "activity_processors.type",
                    format!(
                        "activity processor {t:?} is not supported by this server; supported: {}, {}",
                        TAGGERS.join(", "),
                        PLACEHOLDERS.join(", ")
                    ),
                ))
            }
            _ => return Err(Error::field("activity_processors.type", "type is a required string")),
        }
    }
    Ok(())
}

/// Whether a group's processors tag activities.
pub fn tags_text(processors: Option<&[Value]>) -> bool {
    processors
        .unwrap_or_default()
        .iter()
        .any(|p| p.get("type").and_then(Value::as_str).is_some_and(|t| TAGGERS.contains(&t)))
}

/// Adds the tagger's tags for `activity`'s text to its `interest_tags`
/// (after the caller's, each once).
pub fn tag(activity: &mut Activity) {
    let derived = activity.text.as_deref().map(tags_of).unwrap_or_default();
    for t in derived {
        if !activity.interest_tags.contains(&t) {
            activity.interest_tags.push(t);
        }
    }
}

/// Which of `groups` run the tagging processor (each group read once).
pub async fn tagging_groups(ctx: &Ctx, groups: &[String]) -> Result<HashSet<String>> {
    let mut out = HashSet::new();
    let mut seen = HashSet::new();
    for g in groups {
        if !seen.insert(g.as_str()) {
            continue;
        }
        let group = ctx.store.get_feed_group(g).await?.filter(|g| g.deleted_at.is_none());
        if group.is_some_and(|group| tags_text(group.config.activity_processors.as_deref())) {
            out.insert(g.clone());
        }
    }
    Ok(out)
}

/// Tags `activity` when one of its feeds is in a tagging group.
pub fn tag_if(activity: &mut Activity, tagging: &HashSet<String>) {
    if activity.feeds.iter().any(|f| tagging.contains(&f.group)) {
        tag(activity);
    }
}

/// `GetUserInterests`: each tag with the number of distinct engaged-with
/// activities carrying it, most first, then by tag.
pub fn counts(engagements: &[Engagement], limit: usize) -> Vec<(String, i64)> {
    let mut per: BTreeMap<&str, HashSet<&str>> = BTreeMap::new();
    for e in engagements {
        for t in &e.interest_tags {
            per.entry(t.as_str()).or_default().insert(e.activity_id.as_str());
        }
    }
    let mut out: Vec<(String, i64)> = per.into_iter().map(|(t, ids)| (t.to_string(), ids.len() as i64)).collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out.truncate(limit);
    out
}

/// The computed interest weights: each engagement adds `0.5^(age / 30d)` to
/// each of its activity's tags; the strongest tag is 1.0, the others in
/// proportion; strongest first, ties by tag.
pub fn weights(engagements: &[Engagement], now: Timestamp) -> Vec<(String, f64)> {
    let mut sum: BTreeMap<&str, f64> = BTreeMap::new();
    for e in engagements {
        let age = (now.0.saturating_sub(e.at.0)).max(0) as f64 / 1e9;
        let contribution = 0.5f64.powf(age / HALF_LIFE_SECONDS);
        for t in e.interest_tags.iter().collect::<HashSet<_>>() {
            *sum.entry(t.as_str()).or_default() += contribution;
        }
    }
    let max = sum.values().copied().fold(0.0f64, f64::max);
    if max <= 0.0 || !max.is_finite() {
        return Vec::new();
    }
    let mut out: Vec<(String, f64)> = sum.into_iter().map(|(t, w)| (t.to_string(), w / max)).collect();
    sort_weights(&mut out);
    out
}

fn sort_weights(w: &mut [(String, f64)]) {
    w.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
}

/// The read's `interest_weights` and `overwrite_interest_weights`.
#[derive(Debug, Clone, Default)]
pub struct ReadWeights {
    pub weights: Vec<(String, f64)>,
    pub overwrite: bool,
}

impl ReadWeights {
    /// Checks the request's fields: finite numbers, at most
    /// `MAX_READ_WEIGHTS` tags.
    pub fn parse(weights: Option<&serde_json::Map<String, Value>>, overwrite: Option<bool>) -> Result<ReadWeights> {
        let map = weights.cloned().unwrap_or_default();
        if map.len() > MAX_READ_WEIGHTS {
            return Err(Error::field("interest_weights", format!("at most {MAX_READ_WEIGHTS} interest weights")));
        }
        let mut out = Vec::with_capacity(map.len());
        for (tag, w) in map {
            let w = w
                .as_f64()
                .filter(|w| w.is_finite())
                .ok_or_else(|| Error::field("interest_weights", format!("interest_weights.{tag} must be a number")))?;
            if tag.is_empty() {
                return Err(Error::field("interest_weights", "an interest tag may not be empty"));
            }
            out.push((tag, w));
        }
        Ok(ReadWeights { weights: out, overwrite: overwrite.unwrap_or(false) })
    }

    pub fn is_empty(&self) -> bool {
        self.weights.is_empty() && !self.overwrite
    }
}

/// The reader's interests as a read uses them: the top `TOP` computed
/// tags, with the read's weights merged over them (a tag the read names
/// takes the read's weight), or the read's weights alone with `overwrite`.
#[derive(Debug, Clone, Default)]
pub struct Interests {
    pub weights: Vec<(String, f64)>,
}

impl Interests {
    pub fn combine(computed: Vec<(String, f64)>, read: &ReadWeights) -> Interests {
        let mut weights: Vec<(String, f64)> =
            if read.overwrite { Vec::new() } else { computed.into_iter().take(TOP).collect() };
        for (tag, w) in &read.weights {
            match weights.iter_mut().find(|(t, _)| t == tag) {
                Some(entry) => entry.1 = *w,
                None => weights.push((tag.clone(), *w)),
            }
        }
        sort_weights(&mut weights);
        Interests { weights }
    }

    /// The tags the `interest` selector looks for: the positive ones.
    pub fn wanted(&self) -> Vec<String> {
        self.weights.iter().filter(|(_, w)| *w > 0.0).map(|(t, _)| t.clone()).collect()
    }

    /// Σ 0.5 × weight over `tags` that are interests (each tag once),
    /// clamped to [−1, 1]; 0 without a match.
    pub fn score(&self, tags: &[String]) -> f64 {
        let mut seen = HashSet::new();
        let sum: f64 = tags
            .iter()
            .filter(|t| seen.insert(t.as_str()))
            .filter_map(|t| self.weights.iter().find(|(w, _)| w == t).map(|(_, w)| 0.5 * w))
            .sum();
        if sum.is_finite() {
            sum.clamp(-1.0, 1.0)
        } else {
            0.0
        }
    }
}

/// A user's engagements, through the store's one bounded query.
pub async fn engagements(ctx: &Ctx, user_id: &str) -> Result<Vec<Engagement>> {
    ctx.store.engagements(user_id, ENGAGEMENTS).await
}

/// The interests a read of `user` (none for a logged-out reader) uses.
pub async fn load(ctx: &Ctx, user: Option<&str>, read: &ReadWeights, now: Timestamp) -> Result<Interests> {
    let computed = match user {
        Some(u) if !read.overwrite => weights(&engagements(ctx, u).await?, now),
        _ => Vec::new(),
    };
    Ok(Interests::combine(computed, read))
}

/// `GetUserInterests`: the user's top `limit` tags by the number of distinct
/// activities they engaged with that carry them. A user token reads only
/// its own.
pub async fn user_interests(ctx: &Ctx, actor: &Actor, user_id: &str, limit: Option<i64>) -> Result<Vec<(String, i64)>> {
    match actor {
        Actor::Server => {}
        Actor::User(me) if me == user_id => {}
        Actor::User(_) => return Err(Error::not_allowed("a user may only read their own interests")),
        Actor::Anonymous => return Err(Actor::anonymous_refused()),
    }
    if user_id.is_empty() {
        return Err(Error::field("user_id", "user_id is required"));
    }
    let limit = match limit {
        None => 10,
        Some(n) if (1..=100).contains(&n) => n as usize,
        Some(n) => return Err(Error::field("limit", format!("limit must be between 1 and 100, got {n}"))),
    };
    Ok(counts(&engagements(ctx, user_id).await?, limit))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DAY: i64 = 86_400 * 1_000_000_000;

    fn e(id: &str, tags: &[&str], days_ago: i64) -> Engagement {
        Engagement {
            activity_id: id.into(),
            interest_tags: tags.iter().map(|t| t.to_string()).collect(),
            at: Timestamp(100 * DAY - days_ago * DAY),
        }
    }

    #[test]
    fn counts_are_distinct_activities_most_first_then_by_tag() {
        let es =
            [e("a", &["music", "tech"], 0), e("a", &["music", "tech"], 1), e("b", &["tech"], 0), e("c", &["art"], 0)];
        assert_eq!(counts(&es, 10), vec![("tech".to_string(), 2), ("art".to_string(), 1), ("music".to_string(), 1)]);
        assert_eq!(counts(&es, 1).len(), 1);
    }

    #[test]
    fn weights_halve_every_thirty_days_and_top_is_one() {
        let now = Timestamp(100 * DAY);
        let w = weights(&[e("a", &["music"], 0), e("b", &["tech"], 30), e("c", &["art"], 60)], now);
        assert_eq!(w[0], ("music".to_string(), 1.0));
        assert!((w[1].1 - 0.5).abs() < 1e-9, "{w:?}");
        assert!((w[2].1 - 0.25).abs() < 1e-9, "{w:?}");
        assert!(weights(&[], now).is_empty());
    }

    #[test]
    fn read_weights_merge_or_replace() {
        let computed = vec![("music".to_string(), 1.0), ("tech".to_string(), 0.5)];
        let read = ReadWeights::parse(json!({"tech": -1, "food": 0.8}).as_object(), None).unwrap();
        let merged = Interests::combine(computed.clone(), &read);
        assert_eq!(merged.weights, vec![("music".into(), 1.0), ("food".into(), 0.8), ("tech".into(), -1.0)]);
        let replaced = Interests::combine(computed, &ReadWeights { overwrite: true, ..read });
        assert_eq!(replaced.weights, vec![("food".into(), 0.8), ("tech".into(), -1.0)]);
        assert_eq!(replaced.wanted(), vec!["food".to_string()]);
        assert!(ReadWeights::parse(json!({"x": "high"}).as_object(), None).is_err());
    }

    #[test]
    fn only_the_top_five_computed_tags_count() {
        let computed: Vec<(String, f64)> = (0..8).map(|i| (format!("t{i}"), 1.0 - i as f64 / 10.0)).collect();
        let i = Interests::combine(computed, &ReadWeights::default());
        assert_eq!(i.weights.len(), TOP);
        assert_eq!(i.score(&["t7".into()]), 0.0);
    }

    #[test]
    fn score_is_half_the_weights_clamped() {
        let i =
            Interests { weights: vec![("a".into(), 1.0), ("b".into(), 0.6), ("c".into(), 1.0), ("n".into(), -3.0)] };
        assert_eq!(i.score(&["a".into()]), 0.5);
        assert_eq!(i.score(&["a".into(), "a".into()]), 0.5, "a tag counts once");
        assert!((i.score(&["a".into(), "b".into()]) - 0.8).abs() < 1e-9);
        assert_eq!(i.score(&["a".into(), "b".into(), "c".into()]), 1.0);
        assert_eq!(i.score(&["n".into()]), -1.0);
        assert_eq!(i.score(&["zzz".into()]), 0.0);
        assert_eq!(i.score(&[]), 0.0);
    }

    #[test]
    fn processors_are_checked() {
        let ok = [json!({"type": "text_interest_tags"}), json!({"type": "dummy"}), json!({"type": "default"})];
        assert!(validate_processors(Some(&ok)).is_ok());
        for (bad, field) in [
            (json!({"type": "image_topic"}), "activity_processors.type"),
            (json!({}), "activity_processors.type"),
            (json!({"type": "dummy", "model": "x"}), "activity_processors.model"),
            (json!("text_interest_tags"), "activity_processors"),
        ] {
            let err = validate_processors(Some(std::slice::from_ref(&bad))).expect_err("refused");
            assert!(err.fields.contains_key(field), "{bad}: {err:?}");
        }
        assert!(tags_text(Some(&ok)));
        assert!(!tags_text(Some(&[json!({"type": "dummy"})])));
    }
}
