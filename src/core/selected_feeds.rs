//! Feeds read through their activity selectors: a group whose selectors go
//! beyond the feed's own entries (`popular`, `query`) is read by gathering
//! every selector's candidates (`selectors::gather`), ordering them and
//! paging in memory. Groups that only read their entries (`user`,
//! `timeline`) keep the indexed keyset read (`feeds::read_page`).
//!
//! Candidates are read without their documents (`RankFields`: up to a
//! thousand per selector, where parsing documents was most of a read's
//! cost); the documents of the page are read once it is cut, and those of
//! every candidate only when the ranking reads their custom data.
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
use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};

use super::cursor;
use super::error::{Error, Result};
use super::filter::Filter;
use super::interests::{self, Interests, ReadWeights};
use super::model::{Activity, ActivitySelector, FeedGroup, Fid};
use super::ranking::{self, ActivityInputs, Env, Ranking, RankingKind, Var};
use super::selectors::{self, Candidate};
use super::storage::{RankColumns, RankFields, Reader};
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

    /// What the ranking reads of each candidate's document: its `type`, and
    /// its `interest_tags` when an `interest` ranking scores them against
    /// interests the reader has.
    fn rank_columns(&self, interests: Option<&Interests>) -> RankColumns {
        let Some(ranking) = &self.ranking else { return RankColumns::default() };
        let variables = ranking.variables();
        RankColumns {
            kind: variables.iter().any(|v| matches!(v, Var::Type)),
            interest_tags: ranking.kind == RankingKind::Interest
                && variables.iter().any(|v| matches!(v, Var::InterestScore))
                && interests.is_some_and(|i| !i.weights.is_empty()),
        }
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

/// A candidate with its score, before its document is read.
struct Scored {
    fields: RankFields,
    score: f64,
    source: &'static str,
    vars: Option<Map<String, Value>>,
}

fn order(a: &Scored, b: &Scored) -> Ordering {
    compare((a.score, a.fields.created_at, &a.fields.id), (b.score, b.fields.created_at, &b.fields.id))
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
    fn of(r: &Scored, now: Timestamp) -> Key {
        Key { now, score: r.score, created_at: r.fields.created_at, id: r.fields.id.clone() }
    }

    /// Where `r` sorts relative to this key.
    fn locate(&self, r: &Scored) -> Ordering {
        compare((r.score, r.fields.created_at, &r.fields.id), (self.score, self.created_at, &self.id))
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
    let columns = shape.rank_columns(interests.as_ref());
    let candidates =
        selectors::gather(ctx, fid, &shape.selectors, reader, read_filter, now, interests.as_ref(), columns).await?;
    // Documents are read for the page alone, unless the ranking reads
    // custom data: then for every candidate, in one statement.
    let reads_custom =
        shape.ranking.as_ref().is_some_and(|r| r.variables().iter().any(|v| matches!(v, Var::Custom(_))));
    let mut documents: HashMap<String, Activity> = HashMap::new();
    if reads_custom {
        let ids: Vec<String> = candidates.iter().map(|c| c.fields.id.clone()).collect();
        documents = live_documents(ctx, &ids).await?;
    }
    let mut ranked: Vec<Scored> = match &shape.ranking {
        Some(ranking) => {
            let inputs = ScoreInputs { external, interests: interests.as_ref(), vars: score_vars };
            score(ctx, ranking, candidates, &documents, inputs, now).await?
        }
        None => candidates
            .into_iter()
            .map(|Candidate { fields, source }| Scored { fields, score: 0.0, source, vars: None })
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
    let page: Vec<Scored> = ranked.drain(start..end).collect();
    let missing: Vec<String> =
        page.iter().map(|r| &r.fields.id).filter(|id| !documents.contains_key(*id)).cloned().collect();
    documents.extend(live_documents(ctx, &missing).await?);
    // An activity deleted since its selector read it leaves the page.
    let items = page
        .into_iter()
        .filter_map(|Scored { fields, score, source, vars }| {
            documents.remove(&fields.id).map(|activity| Ranked { activity, score, source, vars })
        })
        .collect();
    Ok(SelectedPage { items, next, prev })
}

/// The live documents of `ids`, by id.
async fn live_documents(ctx: &Ctx, ids: &[String]) -> Result<HashMap<String, Activity>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let activities = ctx.store.get_activities(ids).await?;
    Ok(activities.into_iter().filter(|a| a.deleted_at.is_none()).map(|a| (a.id.clone(), a)).collect())
}

/// What a read adds to each activity's own inputs.
struct ScoreInputs<'a> {
    external: Option<&'a Map<String, Value>>,
    /// The reader's interests, for `interest_score` (rankings of type
    /// `interest`; with `expression` it reads its default, else 0).
    interests: Option<&'a Interests>,
    /// Keep each activity's `score_vars`.
    vars: bool,
}

/// Scores every candidate with the group's expression, from its
/// `RankFields` (and its document, given when the expression reads custom
/// data). Counts are loaded (one statement for all candidates) only when the
/// expression reads them; the random seed and the clock are the page's
/// frozen instant, so every page of one read scores alike.
async fn score(
    ctx: &Ctx,
    ranking: &Ranking,
    candidates: Vec<Candidate>,
    documents: &HashMap<String, Activity>,
    read: ScoreInputs<'_>,
    now: Timestamp,
) -> Result<Vec<Scored>> {
    let ScoreInputs { external, interests, vars } = read;
    let interests = interests.filter(|_| ranking.kind == RankingKind::Interest);
    // The counts are loaded only when the expression reads one; popularity
    // alone is kept on the activity, and read with the candidates.
    let variables = ranking.variables();
    let counted = variables.iter().any(|v| {
        matches!(
            v,
            Var::ReactionCount | Var::ReactionCounts(_) | Var::CommentCount | Var::BookmarkCount | Var::ShareCount
        )
    });
    let extras = if counted {
        let ids: Vec<String> = candidates.iter().map(|c| c.fields.id.clone()).collect();
        ctx.store.activity_extras(&ids, None, 0, 0).await?
    } else {
        Default::default()
    };
    let env = Env { now: now.0 as f64 / 1e9, seed: now.0 as u64 };
    let count = |map: &HashMap<String, i64>, id: &str| map.get(id).copied().unwrap_or(0) as f64;
    Ok(candidates
        .into_iter()
        .map(|Candidate { fields, source }| {
            let id = fields.id.as_str();
            let reaction_counts: BTreeMap<String, i64> = extras
                .reactions
                .get(id)
                .map(|r| r.groups.iter().map(|(kind, g)| (kind.clone(), g.count)).collect())
                .unwrap_or_default();
            let inputs = ActivityInputs {
                time: Some(fields.created_at.0 as f64 / 1e9),
                kind: Some(&fields.kind),
                custom: documents.get(id).map(|a| &a.custom),
                reaction_count: counted.then(|| reaction_counts.values().sum::<i64>() as f64),
                reaction_counts: counted.then_some(&reaction_counts),
                comment_count: counted.then(|| count(&extras.comment_counts, id)),
                bookmark_count: counted.then(|| count(&extras.bookmark_counts, id)),
                share_count: counted.then(|| count(&extras.share_counts, id)),
                selector_source: Some(source),
                external,
                // With counts, popularity is computed from them (the same sum).
                popularity: (!counted).then_some(fields.popularity as f64),
                interest_score: interests.map(|i| i.score(&fields.interest_tags)),
                ..Default::default()
            };
            let score = ranking.score(&inputs, env);
            let vars = vars.then(|| ranking.score_vars(&inputs, env));
            Scored { fields, score, source, vars }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranked(id: &str, score: f64, at: i64) -> Scored {
        let fields = RankFields {
            id: id.into(),
            created_at: Timestamp(at),
            kind: "post".into(),
            popularity: 0,
            interest_tags: Vec::new(),
        };
        Scored { fields, score, source: "popular", vars: None }
    }

    #[test]
    fn order_is_score_then_newest_then_id() {
        let mut v = [ranked("a", 1.0, 5), ranked("b", 2.0, 1), ranked("c", 1.0, 5), ranked("d", 1.0, 9)];
        v.sort_by(order);
        let ids: Vec<_> = v.iter().map(|r| r.fields.id.as_str()).collect();
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
