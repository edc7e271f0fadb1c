//! A change as the group's stream holds it: the summary as the leader's
//! poll found it, and the bookmark right after it.

use serde::{Deserialize, Serialize};

use crate::{Change, Error, inbox::watch::Bookmark, types::ConversationSummary};

#[derive(Serialize, Deserialize)]
struct Payload {
    summary: ConversationSummary,
    bookmark: Bookmark,
}

/// `change` as JSON for the stream.
pub(super) fn write(summary: &ConversationSummary, bookmark: &Bookmark) -> String {
    #[derive(Serialize)]
    struct Borrowed<'a> {
        summary: &'a ConversationSummary,
        bookmark: &'a Bookmark,
    }
    // Plain data: serializing it cannot fail.
    serde_json::to_string(&Borrowed { summary, bookmark }).unwrap_or_default()
}

/// The change a stream entry holds; an error for one this version cannot
/// read (written by another version of the crate, or by hand).
pub(super) fn read(payload: &str) -> Result<Change, Error> {
    let payload: Payload = serde_json::from_str(payload)
        .map_err(|e| Error::bookmark(format!("a group's change cannot be read: {e}")))?;
    payload.bookmark.check()?;
    Ok(Change {
        summary: payload.summary,
        bookmark: payload.bookmark,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_survives_the_stream() {
        let summary = ConversationSummary {
            conversation_uuid: Some("c-1".into()),
            last_message_dts: Some(crate::Timestamp::parse("2022-07-18T10:15:30-04:00")),
            ..Default::default()
        };
        let mut bookmark = Bookmark::start();
        bookmark.advance(Some(1_658_153_730), "c-1");
        let change = read(&write(&summary, &bookmark)).unwrap();
        assert_eq!(change.summary, summary);
        assert_eq!(change.bookmark, bookmark);
        assert!(read("{}").is_err());
        assert!(read("not json").is_err());
    }
}
