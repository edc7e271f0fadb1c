//! Where a watch is: the newest second of `last_message_dts` it has
//! reported, and the conversations it reported in that second. Small,
//! stable and versioned, so that it can be saved and resumed from in
//! another process or another version of the crate.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::Error;

/// The format [`Bookmark`]s are written in; one this crate cannot read is
/// refused with [`Error::Bookmark`].
const FORMAT: u32 = 1;

/// A watch's position: everything up to it has been reported. Save the one
/// of the last [`Change`](crate::Change) you handled and give it to
/// [`Watch::from`](crate::Watch::from) to go on after a restart, with
/// nothing missed and nothing reported twice.
///
/// It serializes to a few dozen bytes plus the uuids of the conversations
/// reported within its last second (UltraCart's times have one-second
/// resolution, so several changes can share one). Its contents are not
/// part of the API: store it, do not build or edit it. A bookmark saved by
/// a later, incompatible version of the crate makes the watch yield
/// [`Error::Bookmark`] and end.
///
#[doc = mock_fence!()]
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let demo = ultracart_conversation::mock::DemoServer::with_conversations(3).await;
/// # let client = demo.client()?;
/// use futures::TryStreamExt;
/// use ultracart_conversation::Bookmark;
///
/// let mut watch = client.conversations().watch().include_existing();
/// let change = watch.try_next().await?.expect("a change");
/// let saved = serde_json::to_string(&change.bookmark())?;
///
/// let bookmark: Bookmark = serde_json::from_str(&saved)?;
/// let resumed = client.conversations().watch().from(bookmark);
/// # let _ = resumed;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bookmark {
    /// The format, so that a later crate can read or refuse it.
    #[serde(rename = "v")]
    format: u32,
    /// The newest second reported (Unix time); `None` before anything was
    /// read, which resumes with every conversation that exists.
    #[serde(default)]
    second: Option<i64>,
    /// Conversations already reported whose latest message is in `second`.
    #[serde(default)]
    seen: BTreeSet<String>,
}

/// What a conversation read at the top is to a watch at this bookmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Standing {
    /// Not reported in this state: a change.
    New,
    /// Reported already, in this second.
    Reported,
    /// Older than the bookmark: so is everything below it.
    Older,
}

impl Bookmark {
    /// Before anything: resuming from it reports every conversation.
    pub(crate) fn start() -> Self {
        Self {
            format: FORMAT,
            second: None,
            seen: BTreeSet::new(),
        }
    }

    /// After everything that could be read had been: what comes later is
    /// reported, whatever its time.
    pub(crate) fn after_nothing() -> Self {
        Self {
            second: Some(i64::MIN),
            ..Self::start()
        }
    }

    /// After `second`, with `seen` the conversations reported in it.
    pub(crate) fn reported(second: i64, seen: BTreeSet<String>) -> Self {
        Self {
            second: Some(second),
            seen,
            ..Self::start()
        }
    }

    /// Whether this crate can resume from it.
    pub(crate) fn check(&self) -> Result<(), Error> {
        if self.format == FORMAT {
            Ok(())
        } else {
            Err(Error::bookmark(format!(
                "it is in format {}, and this version of the crate reads format {FORMAT}",
                self.format
            )))
        }
    }

    /// The newest second reported, if any.
    pub(crate) fn second(&self) -> Option<i64> {
        self.second
    }

    /// Where a conversation whose latest message is in `second` stands.
    pub(crate) fn standing(&self, second: i64, uuid: &str) -> Standing {
        match self.second {
            Some(mark) if second < mark => Standing::Older,
            Some(mark) if second == mark && self.seen.contains(uuid) => Standing::Reported,
            _ => Standing::New,
        }
    }

    /// Moves past a conversation just reported. Changes are reported
    /// oldest first, so the bookmark only moves forward; one without a
    /// time (no message yet) does not move it.
    pub(crate) fn advance(&mut self, second: Option<i64>, uuid: &str) {
        let Some(second) = second else {
            return;
        };
        match self.second {
            Some(mark) if second < mark => {}
            Some(mark) if second == mark => {
                self.seen.insert(uuid.to_owned());
            }
            _ => {
                self.second = Some(second);
                self.seen.clear();
                self.seen.insert(uuid.to_owned());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holds_every_conversation_reported_in_it() {
        let mut mark = Bookmark::start();
        assert_eq!(mark.standing(10, "a"), Standing::New);
        mark.advance(Some(10), "a");
        mark.advance(Some(10), "b");
        assert_eq!(mark.standing(10, "a"), Standing::Reported);
        assert_eq!(mark.standing(10, "b"), Standing::Reported);
        assert_eq!(
            mark.standing(10, "c"),
            Standing::New,
            "same second, not reported"
        );
        assert_eq!(mark.standing(9, "z"), Standing::Older);
        mark.advance(Some(11), "a");
        assert_eq!(mark.standing(10, "b"), Standing::Older);
        assert_eq!(mark.standing(11, "b"), Standing::New);
        assert_eq!(mark.seen.len(), 1, "only the newest second is kept");
    }

    #[test]
    fn the_bookmark_never_moves_back_and_ignores_undated_conversations() {
        let mut mark = Bookmark::start();
        mark.advance(Some(20), "a");
        mark.advance(Some(19), "b");
        mark.advance(None, "c");
        assert_eq!(mark.second(), Some(20));
        assert_eq!(mark.standing(20, "b"), Standing::New);
    }

    #[test]
    fn after_nothing_everything_dated_is_new() {
        let mark = Bookmark::after_nothing();
        assert_eq!(mark.standing(i64::MIN + 1, "a"), Standing::New);
        assert_eq!(mark.standing(0, "a"), Standing::New);
    }

    #[test]
    fn it_round_trips_through_json_and_refuses_other_formats() {
        let mut mark = Bookmark::start();
        mark.advance(Some(1_749_847_327), "c-1");
        let json = serde_json::to_string(&mark).unwrap();
        assert_eq!(json, r#"{"v":1,"second":1749847327,"seen":["c-1"]}"#);
        let back: Bookmark = serde_json::from_str(&json).unwrap();
        assert_eq!(back, mark);
        assert!(back.check().is_ok());

        let old: Bookmark = serde_json::from_str(r#"{"v":0,"watermark":"x"}"#).unwrap();
        let error = old.check().unwrap_err();
        assert!(matches!(error, Error::Bookmark { .. }), "{error:?}");
        assert!(!error.is_retryable());
        assert!(
            serde_json::from_str::<Bookmark>(r#"{"second":1}"#).is_err(),
            "no format"
        );
    }
}
