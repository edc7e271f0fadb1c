//! Exporting an inbox to JSON Lines, resumable after a kill at any point,
//! and following it afterwards.

mod files;
mod lock;
mod run;

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use futures::stream::BoxStream;

use crate::{
    Client, Error,
    inbox::{listing::ConversationPager, watch::Bookmark},
};

/// Writes every conversation to a JSON Lines file, one a line, and a small
/// progress file beside it (`<path>.progress`); made by [`Client::export`].
///
/// # Resuming
///
/// After each batch (a page of summaries, or one whole conversation) the
/// lines are flushed and made durable (`fsync`), and only then is the
/// progress file replaced, atomically (written aside, made durable,
/// renamed). Run again on the same path, an export resumes where the
/// progress file says ([`ExportReport::resumed`]): it cuts the output back
/// to the lines the progress file counts (so a half line from a kill
/// disappears), reads which conversations are already there, and goes on
/// from the next page. Killed between any two writes, the rerun completes
/// the file with every conversation exactly once, and sends at most one
/// request more than the killed run had left. [`fresh`](Self::fresh)
/// starts over: it removes the progress file first, so that a kill before
/// the output is emptied leaves an output a rerun starts over too.
///
/// # One run at a time
///
/// A run holds an advisory lock on its output (`flock`) from its start to
/// its end, released by the system if its process dies. A second run on
/// the same path, in this process or another, fails at once with an
/// [`Error::Export`] naming the path, having written nothing and sent
/// nothing.
///
/// # A server that pages for ever
///
/// Like a listing, an export ends with [`Error::Pagination`] rather than
/// page on when the server's `next_offset` goes back, or when four pages in
/// a row bring only conversations this run has already read (a proxy that
/// ignores `_offset`). Pages of conversations written by an earlier run
/// are no such sign: the inbox may have grown and shifted them down.
///
/// # On a changing inbox
///
/// Like [`ConversationPager::items`](crate::ConversationPager::items), it
/// writes every conversation that existed when it started, once: pages that
/// shift bring conversations round again, which it skips; once the pages
/// are done it reads from the top down to the newest second of its first
/// page, for the conversations that moved above the pages meanwhile.
/// [`follow`](Self::follow) then keeps appending changes.
///
#[doc = mock_fence!()]
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ultracart_conversation::Error> {
/// # let demo = ultracart_conversation::mock::DemoServer::start().await;
/// # let client = demo.client()?;
/// # let dir = std::env::temp_dir().join(format!("uc-export-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("conversations.jsonl");
/// let report = client.export(&path).fresh().run().await?;
/// assert_eq!(report.lines(), 350);
///
/// // Run again: nothing left to do, and no request sent.
/// let again = client.export(&path).run().await?;
/// assert!(again.resumed() && again.requests() == 0);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[must_use = "an export does nothing until `run` or `follow` is awaited"]
pub struct Export {
    /// The client, and the page size.
    pager: ConversationPager,
    path: PathBuf,
    fresh: bool,
    whole: bool,
}

/// How far an export has got, after each batch; see [`Export::run_with`].
///
#[doc = mock_fence!()]
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ultracart_conversation::Error> {
/// # let demo = ultracart_conversation::mock::DemoServer::with_conversations(30).await;
/// # let client = demo.client()?;
/// # let path = std::env::temp_dir().join(format!("uc-export-progress-{}.jsonl", std::process::id()));
/// client
///     .export(&path)
///     .fresh()
///     .run_with(|progress| eprintln!("{} of {:?}", progress.lines(), progress.total()))
///     .await?;
/// # std::fs::remove_file(&path).ok();
/// # std::fs::remove_file(path.with_extension("jsonl.progress")).ok();
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExportProgress {
    lines: u64,
    total: Option<u64>,
    requests: u64,
    whole: bool,
    page_size: u32,
}

impl ExportProgress {
    /// Lines in the output so far, resumed ones included.
    ///
    /// ```
    /// # fn show(p: &ultracart_conversation::ExportProgress) {
    /// println!("{} written", p.lines());
    /// # }
    /// ```
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// How many conversations the server says there are, if it says.
    ///
    /// ```
    /// # fn show(p: &ultracart_conversation::ExportProgress) {
    /// if let Some(total) = p.total() { println!("of {total}"); }
    /// # }
    /// ```
    pub fn total(&self) -> Option<u64> {
        self.total
    }

    /// Requests this run has sent so far.
    ///
    /// ```
    /// # fn show(p: &ultracart_conversation::ExportProgress) {
    /// println!("{} requests", p.requests());
    /// # }
    /// ```
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// About how many requests are still to send: a page per page size
    /// left, and with [`whole_conversations`](Export::whole_conversations)
    /// one per conversation left too. With [`RateLimit`](crate::RateLimit)'s
    /// pace, it gives the time left within a request budget.
    ///
    /// ```
    /// # fn show(p: &ultracart_conversation::ExportProgress) {
    /// // UltraCart's default budget: 1,000 requests an hour.
    /// let hours = p.requests_left().unwrap_or(0) as f64 / 1_000.0;
    /// # let _ = hours;
    /// # }
    /// ```
    pub fn requests_left(&self) -> Option<u64> {
        let left = self.total?.saturating_sub(self.lines);
        let pages = left.div_ceil(u64::from(self.page_size.max(1))) + 1;
        Some(if self.whole { left + pages } else { pages })
    }
}

/// What an export did; see [`Export::run`].
///
#[doc = mock_fence!()]
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ultracart_conversation::Error> {
/// # let demo = ultracart_conversation::mock::DemoServer::with_conversations(10).await;
/// # let client = demo.client()?;
/// # let path = std::env::temp_dir().join(format!("uc-export-report-{}.jsonl", std::process::id()));
/// let report = client.export(&path).fresh().run().await?;
/// println!("{} lines in {} requests", report.lines(), report.requests());
/// # assert_eq!((report.lines(), report.requests()), (10, 2));
/// # std::fs::remove_file(&path).ok();
/// # std::fs::remove_file(path.with_extension("jsonl.progress")).ok();
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportReport {
    resumed: bool,
    lines: u64,
    written: u64,
    requests: u64,
    bookmark: Bookmark,
}

impl ExportReport {
    /// Whether this run went on from an earlier one's progress.
    ///
    /// ```
    /// # fn show(r: &ultracart_conversation::ExportReport) {
    /// if r.resumed() { println!("resumed"); }
    /// # }
    /// ```
    pub fn resumed(&self) -> bool {
        self.resumed
    }

    /// Lines in the output, resumed ones included.
    ///
    /// ```
    /// # fn show(r: &ultracart_conversation::ExportReport) {
    /// println!("{} lines", r.lines());
    /// # }
    /// ```
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// Lines this run wrote.
    ///
    /// ```
    /// # fn show(r: &ultracart_conversation::ExportReport) {
    /// println!("{} new", r.written());
    /// # }
    /// ```
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Requests this run sent.
    ///
    /// ```
    /// # fn show(r: &ultracart_conversation::ExportReport) {
    /// println!("{} requests", r.requests());
    /// # }
    /// ```
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// Where a [`Watch`](crate::Watch) goes on from, to follow what changes
    /// after the export.
    ///
    /// ```
    /// # fn follow(client: &ultracart_conversation::Client, r: &ultracart_conversation::ExportReport) {
    /// let watch = client.conversations().watch().from(r.bookmark());
    /// # let _ = watch;
    /// # }
    /// ```
    pub fn bookmark(&self) -> Bookmark {
        self.bookmark.clone()
    }
}

impl Client {
    /// Exports every conversation to `path` as JSON Lines, resumably; see
    /// [`Export`].
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # let demo = ultracart_conversation::mock::DemoServer::with_conversations(5).await;
    /// # let client = demo.client()?;
    /// # let path = std::env::temp_dir().join(format!("uc-export-client-{}.jsonl", std::process::id()));
    /// let report = client.export(&path).fresh().run().await?;
    /// # assert_eq!(report.lines(), 5);
    /// # std::fs::remove_file(&path).ok();
    /// # std::fs::remove_file(path.with_extension("jsonl.progress")).ok();
    /// # Ok(()) }
    /// ```
    pub fn export(&self, path: impl AsRef<Path>) -> Export {
        Export {
            pager: self.conversations(),
            path: path.as_ref().to_path_buf(),
            fresh: false,
            whole: false,
        }
    }
}

impl Export {
    /// Starts over, whatever an earlier run left.
    ///
    /// ```
    /// # let client = ultracart_conversation::Client::builder().api_key("k").build()?;
    /// let export = client.export("/tmp/conversations.jsonl").fresh();
    /// # let _ = export;
    /// # Ok::<(), ultracart_conversation::Error>(())
    /// ```
    pub fn fresh(mut self) -> Self {
        self.fresh = true;
        self
    }

    /// Writes whole conversations, messages and participants, one
    /// `getConversation` each, instead of the listing's summaries. At
    /// UltraCart's default budget (1,000 requests an hour) that is about
    /// 1,000 conversations an hour: give the client
    /// [`RateLimit::ultracart_default`](crate::RateLimit::ultracart_default)
    /// so that it stays inside. A conversation deleted before it is read is
    /// left out. An export resumes only as what it began as.
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # let demo = ultracart_conversation::mock::DemoServer::with_conversations(3).await;
    /// # let client = demo.client()?;
    /// # let path = std::env::temp_dir().join(format!("uc-export-whole-{}.jsonl", std::process::id()));
    /// let report = client.export(&path).fresh().whole_conversations().run().await?;
    /// # assert_eq!((report.lines(), report.requests()), (3, 3 + 2));
    /// # std::fs::remove_file(&path).ok();
    /// # std::fs::remove_file(path.with_extension("jsonl.progress")).ok();
    /// # Ok(()) }
    /// ```
    pub fn whole_conversations(mut self) -> Self {
        self.whole = true;
        self
    }

    /// Summaries per listing request, 1 to 200 (default 200).
    ///
    /// ```
    /// # let client = ultracart_conversation::Client::builder().api_key("k").build()?;
    /// let export = client.export("/tmp/conversations.jsonl").page_size(100);
    /// # let _ = export;
    /// # Ok::<(), ultracart_conversation::Error>(())
    /// ```
    pub fn page_size(mut self, page_size: u32) -> Self {
        self.pager = self.pager.page_size(page_size);
        self
    }

    /// The progress file beside the output.
    ///
    /// ```
    /// # let client = ultracart_conversation::Client::builder().api_key("k").build()?;
    /// let export = client.export("/tmp/out.jsonl");
    /// assert_eq!(export.progress_path(), std::path::Path::new("/tmp/out.jsonl.progress"));
    /// # Ok::<(), ultracart_conversation::Error>(())
    /// ```
    pub fn progress_path(&self) -> PathBuf {
        files::progress_path(&self.path)
    }

    /// Runs the export to its end; see [`run_with`](Self::run_with).
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # let demo = ultracart_conversation::mock::DemoServer::with_conversations(3).await;
    /// # let client = demo.client()?;
    /// # let path = std::env::temp_dir().join(format!("uc-export-run-{}.jsonl", std::process::id()));
    /// let report = client.export(&path).fresh().run().await?;
    /// # assert_eq!(report.written(), 3);
    /// # std::fs::remove_file(&path).ok();
    /// # std::fs::remove_file(path.with_extension("jsonl.progress")).ok();
    /// # Ok(()) }
    /// ```
    pub async fn run(self) -> Result<ExportReport, Error> {
        self.run_with(|_| {}).await
    }

    /// Runs the export to its end, calling `on_progress` after each batch
    /// is durable. A failed request ends it with the error (after the
    /// client's own retries); what was written stays, and a rerun resumes.
    /// A run on an export already complete sends nothing.
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # let demo = ultracart_conversation::mock::DemoServer::with_conversations(3).await;
    /// # let client = demo.client()?;
    /// # let path = std::env::temp_dir().join(format!("uc-export-with-{}.jsonl", std::process::id()));
    /// let mut batches = 0;
    /// client.export(&path).fresh().run_with(|_| batches += 1).await?;
    /// # assert_eq!(batches, 2);
    /// # std::fs::remove_file(&path).ok();
    /// # std::fs::remove_file(path.with_extension("jsonl.progress")).ok();
    /// # Ok(()) }
    /// ```
    pub async fn run_with(
        self,
        on_progress: impl FnMut(&ExportProgress) + Send,
    ) -> Result<ExportReport, Error> {
        run::run(self, on_progress).await
    }

    /// After the export (it runs it first if it is not complete), keeps
    /// appending what changes: each conversation a [`Watch`](crate::Watch)
    /// reports, polled `every` so often, as a line in its newest state
    /// (so a conversation can have several lines). The progress file keeps
    /// the watch's bookmark after each line, and a rerun follows on from
    /// there. The stream yields each change once it is durable.
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # let demo = ultracart_conversation::mock::DemoServer::builder().conversations(20).changing_inbox(50.0).start().await;
    /// # let client = demo.client()?;
    /// # let path = std::env::temp_dir().join(format!("uc-export-follow-{}.jsonl", std::process::id()));
    /// use futures::TryStreamExt;
    /// use std::time::Duration;
    ///
    /// let mut changes = client.export(&path).fresh().follow(Duration::from_millis(20));
    /// while let Some(change) = changes.try_next().await? {
    ///     println!("appended {:?}", change.summary().conversation_uuid);
    /// #   break;
    /// }
    /// # std::fs::remove_file(&path).ok();
    /// # std::fs::remove_file(path.with_extension("jsonl.progress")).ok();
    /// # Ok(()) }
    /// ```
    pub fn follow(self, every: Duration) -> BoxStream<'static, Result<crate::Change, Error>> {
        run::follow(self, every)
    }
}
