//! One page of `getConversations` read on its own, and where the server
//! says the next one is: the step of every read that pages one request at a
//! time (a watch's poll, an export).

use super::plan::{self, Next, PageFacts};
use crate::{
    Client, Error,
    api::answer::decode,
    types::{ConversationSummary, ConversationsResponse, ResultSet},
};

/// A page's conversations and paging metadata.
pub(crate) struct OnePage {
    pub(crate) items: Vec<ConversationSummary>,
    pub(crate) result_set: Option<ResultSet>,
    next: Next,
}

impl OnePage {
    /// Fetches the page at `offset` through the client's pipeline.
    pub(crate) async fn fetch(client: &Client, limit: u32, offset: u32) -> Result<Self, Error> {
        let answer = client.conversations_answer(limit, offset).await?;
        let page: ConversationsResponse = decode::model(&answer)?;
        let items = page.conversations.unwrap_or_default();
        let result_set = page.metadata.and_then(|m| m.result_set);
        let facts = PageFacts {
            offset,
            limit,
            items: items.len(),
            result_set: result_set.as_ref(),
        };
        let next = plan::next_after(facts, None);
        Ok(Self {
            items,
            result_set,
            next,
        })
    }

    /// The server's `total_records`, if it said.
    pub(crate) fn total(&self) -> Option<u64> {
        self.result_set
            .as_ref()
            .and_then(|r| r.total_records)
            .and_then(|total| u64::try_from(total).ok())
    }

    /// Where the next page starts (`None`: this was the last), or the
    /// error of a server whose paging would loop. Asked only by a reader
    /// going on, so a broken `next_offset` on the page it stops at is no
    /// error.
    pub(crate) fn next_offset(&self) -> Result<Option<u32>, Error> {
        match &self.next {
            Next::Fetch { offset } => Ok(Some(*offset)),
            Next::Done => Ok(None),
            Next::Broken(message) => Err(Error::pagination(message.clone())),
        }
    }
}
