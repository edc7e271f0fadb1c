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
    offset: u32,
    limit: u32,
    pub(crate) items: Vec<ConversationSummary>,
    pub(crate) result_set: Option<ResultSet>,
}

impl OnePage {
    /// Fetches the page at `offset` through the client's pipeline.
    pub(crate) async fn fetch(client: &Client, limit: u32, offset: u32) -> Result<Self, Error> {
        let answer = client.conversations_answer(limit, offset).await?;
        let page: ConversationsResponse = decode::model(&answer)?;
        Ok(Self {
            offset,
            limit,
            items: page.conversations.unwrap_or_default(),
            result_set: page.metadata.and_then(|m| m.result_set),
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
        let facts = PageFacts {
            offset: self.offset,
            limit: self.limit,
            items: self.items.len(),
            result_set: self.result_set.as_ref(),
        };
        match plan::next_after(facts, None) {
            Next::Fetch { offset } => Ok(Some(offset)),
            Next::Done => Ok(None),
            Next::Broken(message) => Err(Error::pagination(message)),
        }
    }
}
