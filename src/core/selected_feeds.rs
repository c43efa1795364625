//! Feeds read through their activity selectors: a group whose selectors go
//! beyond the feed's own entries (`popular`, `query`) is read by gathering
//! every selector's candidates (`selectors::gather`), ordering them and
//! paging in memory. Groups that only read their entries (`user`,
//! `timeline`) keep the indexed keyset read (`feeds::read_page`).
//!
//! A group with a `ranking` scores each candidate with its expression
//! (`core::ranking`), from the activity, its counts, its selector and the
//! read's `external_ranking`; without one every score is 0, so the order is
//! newest first. The order is `(score desc, created_at desc, id desc)`. Pages are keyset
//! positions in that order, sealed in the cursor with the `now` of the first
//! page, so a reader paging on sees the ranking of one instant: new
//! activities never shift a later page, nothing repeats and nothing is
//! skipped.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::cursor;
use super::error::{Error, Result};
use super::filter::Filter;
use super::interests::{self, Interests, ReadWeights};
use super::model::{Activity, ActivitySelector, FeedGroup, Fid};
use super::ranking::{self, ActivityInputs, Env, Ranking, RankingKind, Var};
use super::selectors::{self, Candidate};
use super::storage::Reader;
use super::time::Timestamp;
use super::Ctx;

/// How a selected feed is read.
#[derive(Debug, Clone)]
pub struct SelectedShape {
    pub selectors: Vec<ActivitySelector>,
    pub ranking: Option<Ranking>,
}

impl SelectedShape {
    /// `None` when the group reads only its own entries, newest first.
    pub fn of(group: &FeedGroup) -> Result<Option<SelectedShape>> {
        let ranking = group.config.ranking.as_ref().map(ranking::compile).transpose()?.flatten();
        let mut selectors = group.config.activity_selectors.clone().unwrap_or_default();
        if selectors.is_empty() {
            // A group without selectors reads its own entries.
            selectors.push(ActivitySelector { kind: "following".into(), ..Default::default() });
        }
        let own_entries = |s: &ActivitySelector| {
            matches!(s.kind.as_str(), "current_feed" | "following")
                && s.filter.is_none()
                && s.cutoff_time.is_none()
                && s.cutoff_window.is_none()
        };
        if ranking.is_none() && selectors.iter().all(own_entries) {
            return Ok(None);
        }
        Ok(Some(SelectedShape { selectors, ranking }))
    }

    /// Whether a read needs the reader's interests: an `interest` selector,
    /// or a ranking of type `interest` (whose `interest_score` reads them).
    pub fn uses_interests(&self) -> bool {
        self.selectors.iter().any(|s| s.kind == "interest")
            || self.ranking.as_ref().is_some_and(|r| r.kind == RankingKind::Interest)
    }
}

/// One activity of a selected page, with what the response shows of its
/// selection.
pub struct Ranked {
    pub activity: Activity,
    pub score: f64,
    pub source: &'static str,
    /// With `include_score_vars`: what the score read.
    pub vars: Option<Map<String, Value>>,
}

fn order(a: &Ranked, b: &Ranked) -> Ordering {
    compare((a.score, a.activity.created_at, &a.activity.id), (b.score, b.activity.created_at, &b.activity.id))
}

/// The feed's order on `(score, created_at, id)`: highest score, then
/// newest, then the greater id first.
fn compare(a: (f64, Timestamp, &str), b: (f64, Timestamp, &str)) -> Ordering {
    b.0.total_cmp(&a.0).then_with(|| b.1.cmp(&a.1)).then_with(|| b.2.cmp(a.2))
}

/// Where a cursor points: an item's sort key and the instant of the ranking.
struct Key {
    now: Timestamp,
    score: f64,
    created_at: Timestamp,
    id: String,
}

impl Key {
    fn of(r: &Ranked, now: Timestamp) -> Key {
        Key { now, score: r.score, created_at: r.activity.created_at, id: r.activity.id.clone() }
    }

    /// Where `r` sorts relative to this key.
    fn locate(&self, r: &Ranked) -> Ordering {
        compare((r.score, r.activity.created_at, &r.activity.id), (self.score, self.created_at, &self.id))
    }

    fn encode(&self, scope: &cursor::Scope) -> String {
        let mut payload = Vec::with_capacity(24 + self.id.len());
        payload.extend_from_slice(&self.now.0.to_be_bytes());
        payload.extend_from_slice(&self.score.to_bits().to_be_bytes());
        payload.extend_from_slice(&self.created_at.0.to_be_bytes());
        payload.extend_from_slice(self.id.as_bytes());
        scope.encode_bytes(payload)
    }

    fn decode(scope: &cursor::Scope, cursor: &str, field: &str) -> Result<Key> {
        let payload = scope.decode_bytes(cursor, field)?;
        let invalid = || Error::field(field, "invalid cursor");
        if payload.len() < 24 {
            return Err(invalid());
        }
        let int = |at: usize| -> Result<[u8; 8]> { payload[at..at + 8].try_into().map_err(|_| invalid()) };
        Ok(Key {
            now: Timestamp(i64::from_be_bytes(int(0)?)),
            score: f64::from_bits(u64::from_be_bytes(int(8)?)),
            created_at: Timestamp(i64::from_be_bytes(int(16)?)),
            id: String::from_utf8(payload[24..].to_vec()).map_err(|_| invalid())?,
        })
    }
}

/// A page of a selected feed and the cursors around it.
pub struct SelectedPage {
    pub items: Vec<Ranked>,
    pub next: Option<String>,
    pub prev: Option<String>,
}

/// Whose read of which feed, narrowed by the read's `filter`, with the
/// read's `external_ranking` inputs.
pub struct Reading<'a> {
    pub fid: &'a Fid,
    pub reader: &'a Reader,
    pub filter: Option<&'a Filter>,
    pub limit: usize,
    pub external: Option<&'a Map<String, Value>>,
    /// The read's `interest_weights` / `overwrite_interest_weights`.
    pub interest_weights: &'a ReadWeights,
    /// `enrichment_options.include_score_vars`.
    pub score_vars: bool,
}

/// Reads one page: candidates from every selector, ordered, and the page at
/// the cursor (`next` continues after an item, `prev` ends before one).
pub async fn read(
    ctx: &Ctx,
    shape: &SelectedShape,
    reading: Reading<'_>,
    (next, prev): (Option<&str>, Option<&str>),
    scope: &cursor::Scope,
) -> Result<SelectedPage> {
    let Reading { fid, reader, filter: read_filter, limit, external, interest_weights, score_vars } = reading;
    let at = match (next, prev) {
        (Some(c), _) => Some((Key::decode(scope, c, "next")?, true)),
        (_, Some(c)) => Some((Key::decode(scope, c, "prev")?, false)),
        _ => None,
    };
    let now = at.as_ref().map_or_else(Timestamp::now, |(k, _)| k.now);
    let interests = match shape.uses_interests() {
        true => Some(interests::load(ctx, reader.viewer.as_deref(), interest_weights, now).await?),
        false => None,
    };
    let candidates =
        selectors::gather(ctx, fid, &shape.selectors, reader, read_filter, now, interests.as_ref()).await?;
    let mut ranked: Vec<Ranked> = match &shape.ranking {
        Some(ranking) => {
            let inputs = ScoreInputs { external, interests: interests.as_ref(), vars: score_vars };
            score(ctx, ranking, candidates, inputs, now).await?
        }
        None => candidates
            .into_iter()
            .map(|Candidate { activity, source }| Ranked { activity, score: 0.0, source, vars: None })
            .collect(),
    };
    ranked.sort_by(order);
    let (start, end) = match &at {
        None => (0, limit.min(ranked.len())),
        Some((key, true)) => {
            let start = ranked.partition_point(|r| key.locate(r) != Ordering::Greater);
            (start, (start + limit).min(ranked.len()))
        }
        Some((key, false)) => {
            let end = ranked.partition_point(|r| key.locate(r) == Ordering::Less);
            (end.saturating_sub(limit), end)
        }
    };
    let next = (end < ranked.len() && end > start).then(|| Key::of(&ranked[end - 1], now).encode(scope));
    let prev = (start > 0 && end > start).then(|| Key::of(&ranked[start], now).encode(scope));
    let items = ranked.drain(start..end).collect();
    Ok(SelectedPage { items, next, prev })
}

/// Scores every candidate with the group's expression. Counts are loaded
/// (one statement for all candidates) only when the expression reads them;
/// the random seed and the clock are the page's frozen instant, so every
/// page of one read scores alike.
/// What a read adds to each activity's own inputs.
struct ScoreInputs<'a> {
    external: Option<&'a Map<String, Value>>,
    /// The reader's interests, for `interest_score` (rankings of type
    /// `interest`; with `expression` it reads its default, else 0).
    interests: Option<&'a Interests>,
    /// Keep each activity's `score_vars`.
    vars: bool,
}

async fn score(
    ctx: &Ctx,
    ranking: &Ranking,
    candidates: Vec<Candidate>,
    read: ScoreInputs<'_>,
    now: Timestamp,
) -> Result<Vec<Ranked>> {
    let ScoreInputs { external, interests, vars } = read;
    let interests = interests.filter(|_| ranking.kind == RankingKind::Interest);
    // The counts are loaded only when the expression reads one; popularity
    // alone is kept on the activity, so it costs no counting.
    let variables = ranking.variables();
    let counted = variables.iter().any(|v| {
        matches!(
            v,
            Var::ReactionCount | Var::ReactionCounts(_) | Var::CommentCount | Var::BookmarkCount | Var::ShareCount
        )
    });
    let popular = !counted && variables.iter().any(|v| matches!(v, Var::Popularity));
    let ids = || candidates.iter().map(|c| c.activity.id.clone()).collect::<Vec<String>>();
    let extras = if counted { ctx.store.activity_extras(&ids(), None, 0, 0).await? } else { Default::default() };
    let popularity = if popular { ctx.store.popularity(&ids()).await? } else { Default::default() };
    let env = Env { now: now.0 as f64 / 1e9, seed: now.0 as u64 };
    let count = |map: &std::collections::HashMap<String, i64>, id: &str| map.get(id).copied().unwrap_or(0) as f64;
    Ok(candidates
        .into_iter()
        .map(|Candidate { activity, source }| {
            let id = activity.id.as_str();
            let reaction_counts: BTreeMap<String, i64> = extras
                .reactions
                .get(id)
                .map(|r| r.groups.iter().map(|(kind, g)| (kind.clone(), g.count)).collect())
                .unwrap_or_default();
            let inputs = ActivityInputs {
                reaction_count: counted.then(|| reaction_counts.values().sum::<i64>() as f64),
                reaction_counts: counted.then_some(&reaction_counts),
                comment_count: counted.then(|| count(&extras.comment_counts, id)),
                bookmark_count: counted.then(|| count(&extras.bookmark_counts, id)),
                share_count: counted.then(|| count(&extras.share_counts, id)),
                selector_source: Some(source),
                external,
                popularity: popular.then(|| count(&popularity, id)),
                interest_score: interests.map(|i| i.score(&activity.interest_tags)),
                ..ActivityInputs::of(&activity)
            };
            let score = ranking.score(&inputs, env);
            let vars = vars.then(|| ranking.score_vars(&inputs, env));
            Ranked { activity, score, source, vars }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranked(id: &str, score: f64, at: i64) -> Ranked {
        Ranked {
            activity: Activity { id: id.into(), created_at: Timestamp(at), ..Activity::blank() },
            score,
            source: "popular",
            vars: None,
        }
    }

    #[test]
    fn order_is_score_then_newest_then_id() {
        let mut v = [ranked("a", 1.0, 5), ranked("b", 2.0, 1), ranked("c", 1.0, 5), ranked("d", 1.0, 9)];
        v.sort_by(order);
        let ids: Vec<_> = v.iter().map(|r| r.activity.id.as_str()).collect();
        assert_eq!(ids, ["b", "d", "c", "a"]);
    }

    #[test]
    fn a_key_splits_the_order() {
        let mut v = [ranked("a", 3.0, 1), ranked("b", 2.0, 1), ranked("c", 1.0, 1)];
        v.sort_by(order);
        let key = Key::of(&v[1], Timestamp(0));
        let at: Vec<Ordering> = v.iter().map(|r| key.locate(r)).collect();
        assert_eq!(at, [Ordering::Less, Ordering::Equal, Ordering::Greater]);
    }
}
