//! Polls, their options and their votes.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::core::enrichment::Lookup;
use crate::core::model::{Custom, Poll, PollOption, PollVote};
use crate::core::time::Timestamp;

use super::UserResponse;

#[derive(Debug, Serialize)]
pub struct PollOptionResponseData {
    pub id: String,
    pub text: String,
    pub custom: Custom,
}

impl From<&PollOption> for PollOptionResponseData {
    fn from(o: &PollOption) -> Self {
        PollOptionResponseData { id: o.id.clone(), text: o.text.clone(), custom: o.custom.clone() }
    }
}

#[derive(Debug, Serialize)]
pub struct PollVoteResponseData {
    pub id: String,
    pub poll_id: String,
    pub option_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer_text: Option<String>,
    pub is_answer: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<UserResponse>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Serialize)]
pub struct PollResponseData {
    pub id: String,
    pub name: String,
    pub description: String,
    pub options: Vec<PollOptionResponseData>,
    pub voting_visibility: String,
    pub enforce_unique_vote: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_votes_allowed: Option<i64>,
    pub allow_answers: bool,
    pub allow_user_suggested_options: bool,
    pub is_closed: bool,
    pub custom: Custom,
    pub created_by_id: String,
    pub created_by: UserResponse,
    pub vote_count: i64,
    pub answers_count: i64,
    pub vote_counts_by_option: BTreeMap<String, i64>,
    pub latest_votes_by_option: BTreeMap<String, Vec<PollVoteResponseData>>,
    pub latest_answers: Vec<PollVoteResponseData>,
    pub own_votes: Vec<PollVoteResponseData>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Lookup {
    /// A vote; on `anonymous` polls voters stay hidden (`own` votes excepted).
    pub fn vote(&self, v: &PollVote, anonymous: bool) -> PollVoteResponseData {
        PollVoteResponseData {
            id: v.id.clone(),
            poll_id: v.poll_id.clone(),
            option_id: v.option_id.clone(),
            answer_text: v.answer_text.clone(),
            is_answer: v.is_answer,
            user_id: (!anonymous).then(|| v.user_id.clone()),
            user: (!anonymous).then(|| self.user(&v.user_id)),
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }

    pub fn poll(&self, id: &str) -> Option<PollResponseData> {
        let (p, tally) = self.polls.get(id)?;
        Some(self.poll_response(p, tally))
    }

    fn poll_response(&self, p: &Poll, tally: &crate::core::model::PollTally) -> PollResponseData {
        let anonymous = p.voting_visibility == "anonymous";
        PollResponseData {
            id: p.id.clone(),
            name: p.name.clone(),
            description: p.description.clone(),
            options: p.options.iter().map(Into::into).collect(),
            voting_visibility: p.voting_visibility.clone(),
            enforce_unique_vote: p.enforce_unique_vote,
            max_votes_allowed: p.max_votes_allowed,
            allow_answers: p.allow_answers,
            allow_user_suggested_options: p.allow_user_suggested_options,
            is_closed: p.is_closed,
            custom: p.custom.clone(),
            created_by_id: p.created_by_id.clone(),
            created_by: self.user(&p.created_by_id),
            vote_count: tally.vote_count,
            answers_count: tally.answers_count,
            vote_counts_by_option: tally.counts_by_option.clone(),
            latest_votes_by_option: tally
                .latest_by_option
                .iter()
                .map(|(option, votes)| (option.clone(), votes.iter().map(|v| self.vote(v, anonymous)).collect()))
                .collect(),
            latest_answers: tally.latest_answers.iter().map(|v| self.vote(v, anonymous)).collect(),
            own_votes: tally.own.iter().map(|v| self.vote(v, false)).collect(),
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}
