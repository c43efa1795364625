use std::collections::HashMap;

use async_trait::async_trait;

use crate::args;
use crate::core::error::Result;
use crate::core::events::Item;
use crate::core::model::{Activity, Poll, PollTally, PollVote, VoteOutcome, LATEST_VOTES};
use crate::core::storage::{ExtraWrites, ListQuery, PollStore};
use crate::core::time::Timestamp;
use crate::store::db::{Arg, Db};
use crate::store::{dialect, sql};

#[async_trait]
impl<D: Db> PollStore for D {
    async fn insert_poll(&self, poll: &Poll) -> Result<bool> {
        let mut tx = self.write().await?;
        let n = tx
            .exec(
                "INSERT INTO polls (id, created_at, doc) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
                args![&poll.id, poll.created_at, Arg::doc(poll)?],
            )
            .await?;
        tx.commit().await?;
        Ok(n > 0)
    }

    async fn put_poll_with(
        &self,
        poll: &Poll,
        removed_options: &[String],
        if_updated_at: Option<Timestamp>,
        extra: &ExtraWrites,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        if let Some(at) = if_updated_at {
            if !super::versions_hold(&mut *tx, sql::versions::POLL, &[(vec![poll.id.clone()], at)]).await? {
                return Ok(false);
            }
        }
        super::write_extra(&mut *tx, extra).await?;
        tx.exec("UPDATE polls SET doc = $2 WHERE id = $1", args![&poll.id, Arg::doc(poll)?]).await?;
        if !removed_options.is_empty() {
            tx.exec(
                "DELETE FROM poll_votes WHERE poll_id = $1 AND option_id = ANY($2)",
                args![&poll.id, removed_options],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn get_polls(&self, ids: &[String]) -> Result<Vec<Poll>> {
        super::docs_by_key(self, "polls", "id", ids).await
    }

    async fn delete_poll_with(&self, id: &str, extra: &ExtraWrites) -> Result<bool> {
        let mut tx = self.write().await?;
        tx.exec("DELETE FROM poll_votes WHERE poll_id = $1", args![id]).await?;
        let poll: Option<Poll> = tx.doc("DELETE FROM polls WHERE id = $1 RETURNING doc", args![id]).await?;
        let Some(poll) = poll else { return Ok(false) };
        super::write_extra_but_each(&mut *tx, extra).await?;
        super::record_each(&mut *tx, extra, Item::Poll(&poll)).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn poll_activity(&self, poll: &Poll) -> Result<Option<Activity>> {
        let mut read = self.read().await?;
        // A vote names the activity it was cast through (index on poll_id).
        let voted = read
            .texts(
                "SELECT doc->>'activity_id' FROM poll_votes WHERE poll_id = $1 AND doc->>'activity_id' IS NOT NULL
                 LIMIT 1",
                args![&poll.id],
            )
            .await?;
        if let Some(id) = voted.first() {
            let found: Option<Activity> = read
                .doc(
                    "SELECT doc FROM activities WHERE id = $1 AND deleted_at IS NULL AND doc->>'poll_id' = $2",
                    args![id, &poll.id],
                )
                .await?;
            if found.is_some() {
                return Ok(found);
            }
        }
        // Else its creator's first activity since the poll that carries it
        // (the `(user_id, created_at)` index bounds the scan).
        read.doc(
            "SELECT doc FROM activities WHERE user_id = $1 AND created_at >= $2 AND deleted_at IS NULL
               AND doc->>'poll_id' = $3 ORDER BY created_at LIMIT 1",
            args![&poll.created_by_id, poll.created_at, &poll.id],
        )
        .await
    }

    async fn query_polls(&self, q: &ListQuery) -> Result<Vec<Poll>> {
        super::list(self, &sql::POLLS, q).await
    }

    async fn cast_vote_with(
        &self,
        vote: &PollVote,
        exclusive: bool,
        max_votes: Option<i64>,
        extra: &ExtraWrites,
    ) -> Result<VoteOutcome> {
        let mut tx = self.write().await?;
        // One (poll, user) at a time, so limits and replacements hold under
        // concurrent votes.
        dialect::lock_poll_voter(&mut *tx, &vote.poll_id, &vote.user_id).await?;
        let existing: Vec<PollVote> = tx
            .docs(
                "SELECT doc FROM poll_votes WHERE poll_id = $1 AND user_id = $2 AND is_answer = $3
                 ORDER BY created_at",
                args![&vote.poll_id, &vote.user_id, vote.is_answer],
            )
            .await?;
        let replaced: Vec<PollVote> = if vote.is_answer || exclusive {
            existing
        } else {
            if let Some(same) = existing.iter().find(|v| v.option_id == vote.option_id) {
                return Ok(VoteOutcome::Cast { vote: same.clone(), replaced: Vec::new() });
            }
            if max_votes.is_some_and(|max| existing.len() as i64 >= max) {
                return Ok(VoteOutcome::TooManyVotes);
            }
            Vec::new()
        };
        super::write_extra_but_each(&mut *tx, extra).await?;
        super::record_each(&mut *tx, extra, Item::Vote { vote, replaced: !replaced.is_empty() }).await?;
        if !replaced.is_empty() {
            let gone: Vec<String> = replaced.iter().map(|v| v.id.clone()).collect();
            tx.exec("DELETE FROM poll_votes WHERE id = ANY($1)", args![gone]).await?;
        }
        tx.exec(
            "INSERT INTO poll_votes (id, poll_id, user_id, option_id, is_answer, created_at, doc)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            args![
                &vote.id,
                &vote.poll_id,
                &vote.user_id,
                &vote.option_id,
                vote.is_answer,
                vote.created_at,
                Arg::doc(vote)?
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(VoteOutcome::Cast { vote: vote.clone(), replaced })
    }

    async fn delete_vote_with(
        &self,
        poll_id: &str,
        vote_id: &str,
        voter: Option<&str>,
        extra: &ExtraWrites,
    ) -> Result<Option<PollVote>> {
        let mut tx = self.write().await?;
        let deleted: Option<PollVote> = tx
            .doc(
                "DELETE FROM poll_votes WHERE poll_id = $1 AND id = $2 AND user_id = COALESCE($3, user_id)
                 RETURNING doc",
                args![poll_id, vote_id, voter],
            )
            .await?;
        let Some(deleted) = deleted else { return Ok(None) };
        super::write_extra_but_each(&mut *tx, extra).await?;
        super::record_each(&mut *tx, extra, Item::Vote { vote: &deleted, replaced: false }).await?;
        tx.commit().await?;
        Ok(Some(deleted))
    }

    async fn poll_tallies(&self, poll_ids: &[String], viewer: Option<&str>) -> Result<HashMap<String, PollTally>> {
        let mut out: HashMap<String, PollTally> = HashMap::new();
        if poll_ids.is_empty() {
            return Ok(out);
        }
        // All reads on one connection: taking a second one from the pool
        // while holding this one could starve the pool under load.
        let mut read = self.read().await?;
        let counts = read
            .rows(
                "SELECT poll_id, option_id, is_answer, COUNT(*) FROM poll_votes WHERE poll_id = ANY($1)
                 GROUP BY poll_id, option_id, is_answer",
                args![poll_ids],
            )
            .await?;
        for r in &counts {
            let tally = out.entry(r.text(0)?).or_default();
            let n = r.int(3)?;
            if r.bool(2)? {
                tally.answers_count += n;
            } else {
                tally.vote_count += n;
                tally.counts_by_option.insert(r.text(1)?, n);
            }
        }
        let latest: Vec<PollVote> = read
            .docs(
                "SELECT doc FROM (
                     SELECT doc, created_at, ROW_NUMBER() OVER (PARTITION BY poll_id, option_id, is_answer
                                                                ORDER BY created_at DESC, id) AS n
                     FROM poll_votes WHERE poll_id = ANY($1)) v
                 WHERE n <= $2 ORDER BY created_at DESC",
                args![poll_ids, LATEST_VOTES],
            )
            .await?;
        for v in latest {
            let tally = out.entry(v.poll_id.clone()).or_default();
            if v.is_answer {
                tally.latest_answers.push(v);
            } else {
                tally.latest_by_option.entry(v.option_id.clone()).or_default().push(v);
            }
        }
        if let Some(viewer) = viewer {
            let own: Vec<PollVote> = read
                .docs(
                    "SELECT doc FROM poll_votes WHERE poll_id = ANY($1) AND user_id = $2 ORDER BY created_at DESC",
                    args![poll_ids, viewer],
                )
                .await?;
            for vote in own {
                out.entry(vote.poll_id.clone()).or_default().own.push(vote);
            }
        }
        Ok(out)
    }

    async fn query_votes(&self, q: &ListQuery) -> Result<Vec<PollVote>> {
        super::list(self, &sql::POLL_VOTES, q).await
    }
}
