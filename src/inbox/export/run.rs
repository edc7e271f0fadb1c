//! An export's steps: the listing's pages, the read at the top, then
//! following; each batch durable before the progress that counts it.

use std::{collections::BTreeSet, path::PathBuf, time::Duration};

use futures::{StreamExt, stream::BoxStream};

use super::{
    Export, ExportProgress, ExportReport,
    files::{self, Progress, Stage, Written},
    lock::OutputLock,
};
use crate::{
    Change, Client, Error, StatusCode,
    inbox::{
        scan::{
            marks::{Keys, marks},
            one_page::OnePage,
            stale::StaleGuard,
            top_read::{self, Take},
        },
        watch::{self, Bookmark},
    },
    types::ConversationSummary,
};

/// Runs blocking file work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(join) => std::panic::resume_unwind(join.into_panic()),
    }
}

/// One run of an export: its files, what they hold, what it has sent.
struct Run {
    client: Client,
    path: PathBuf,
    page_size: u32,
    progress: Progress,
    /// The conversations the output holds.
    written: Written,
    resumed: bool,
    requests: u64,
    lines_written: u64,
    /// Pages in a row that brought nothing this run had not met.
    stale: StaleGuard,
    keys: Keys,
    _lock: OutputLock,
}

impl Run {
    async fn open(export: Export) -> Result<Self, Error> {
        let page_size = export.pager.checked_page_size()?;
        let path = export.path.clone();
        let (fresh, whole) = (export.fresh, export.whole);
        let (lock, opened) = blocking(move || {
            // Taken before anything is read or written, and held to the end.
            let lock = OutputLock::take(&path)?;
            Ok((lock, files::open(&path, fresh, whole)?))
        })
        .await?;
        Ok(Self {
            client: export.pager.client().clone(),
            path: export.path,
            page_size,
            progress: opened.progress,
            written: opened.written,
            resumed: opened.resumed,
            requests: 0,
            lines_written: 0,
            stale: StaleGuard::default(),
            keys: Keys::default(),
            _lock: lock,
        })
    }

    fn report(&self) -> ExportProgress {
        ExportProgress {
            lines: self.progress.lines,
            total: self.progress.total,
            requests: self.requests,
            whole: self.progress.whole,
            page_size: self.page_size,
        }
    }

    /// Runs the stages left.
    async fn run_stages(
        &mut self,
        on_progress: &mut (impl FnMut(&ExportProgress) + Send),
    ) -> Result<(), Error> {
        loop {
            match self.progress.stage {
                Stage::Pages { offset } => self.page(offset, on_progress).await?,
                Stage::Top => self.top(on_progress).await?,
                Stage::Done => return Ok(()),
            }
        }
    }

    /// One page of the listing: its new conversations, then the next stage.
    async fn page(
        &mut self,
        offset: u32,
        on_progress: &mut (impl FnMut(&ExportProgress) + Send),
    ) -> Result<(), Error> {
        let page = OnePage::fetch(&self.client, self.page_size, offset).await;
        self.requests += 1;
        let page = page?;
        if let Some(total) = page.total() {
            self.progress.total = Some(total);
        }
        if offset == 0 && self.progress.start_second.is_none() {
            // The newest first: what moves up later is at least as new.
            self.progress.start_second = page.items.iter().find_map(second_of);
        }
        // A page of conversations already written is no sign of a broken
        // server when the inbox grew since the last run and shifted them
        // down; a page of nothing this run has not met already is.
        self.stale.page_of(&marks(&self.keys, &page.items))?;
        let next = match page.next_offset()? {
            Some(offset) => Stage::Pages { offset },
            None => Stage::Top,
        };
        let items = page.items;
        self.write(items, next, on_progress).await
    }

    /// The read at the top, for what moved above the pages while they were
    /// read: down to the first conversation already written that has not
    /// changed since (everything below it is older, or unchanged too), or
    /// to the newest second of the first page. It also gives where
    /// following goes on from.
    async fn top(
        &mut self,
        on_progress: &mut (impl FnMut(&ExportProgress) + Send),
    ) -> Result<(), Error> {
        let floor = self.progress.start_second.unwrap_or(i64::MIN);
        let mut newest: Option<(i64, BTreeSet<String>)> = None;
        let written = &self.written;
        let read = top_read::read(&self.client, self.page_size, |summary, _, again| {
            let Some(uuid) = summary.conversation_uuid.as_deref() else {
                return Take::Skip;
            };
            let second = second_of(summary);
            if let Some(second) = second {
                let (top, at_top) = newest.get_or_insert_with(|| (second, BTreeSet::new()));
                if second == *top {
                    at_top.insert(uuid.to_string());
                }
                if second < floor {
                    return Take::Stop;
                }
            }
            match written.get(uuid) {
                Some(&Some(written)) if second.is_some_and(|s| s <= written) => Take::Stop,
                Some(_) => Take::Skip,
                None if again => Take::Skip,
                None => Take::Keep,
            }
        })
        .await?;
        self.requests += u64::from(read.pages);
        self.progress.bookmark = Some(match newest {
            // What this read did not reach of the newest second is below
            // the conversation it stopped at, unchanged and written.
            Some((second, mut at_top)) => {
                let written = self.written.iter().filter(|(_, s)| **s == Some(second));
                at_top.extend(written.map(|(uuid, _)| uuid.clone()));
                Bookmark::reported(second, at_top)
            }
            None => Bookmark::after_nothing(),
        });
        self.write(read.items, Stage::Done, on_progress).await
    }

    /// Writes the conversations not in the output yet, then moves to
    /// `next`: summaries as one batch; whole conversations one at a time,
    /// each durable and counted before the next is asked for.
    async fn write(
        &mut self,
        items: Vec<ConversationSummary>,
        next: Stage,
        on_progress: &mut (impl FnMut(&ExportProgress) + Send),
    ) -> Result<(), Error> {
        let mut batch = Vec::new();
        let mut batch_lines = 0;
        for summary in items {
            let Some(uuid) = summary.conversation_uuid.clone() else {
                continue;
            };
            if self.written.contains_key(&uuid) {
                continue;
            }
            if self.progress.whole {
                let Some(line) = self.whole_line(&uuid).await? else {
                    continue;
                };
                self.written.insert(uuid, second_of(&summary));
                self.commit(line, 1, None).await?;
                on_progress(&self.report());
            } else {
                batch.extend(line_of(&summary));
                self.written.insert(uuid, second_of(&summary));
                batch_lines += 1;
            }
        }
        self.commit(batch, batch_lines, Some(next)).await?;
        on_progress(&self.report());
        Ok(())
    }

    /// One conversation, whole, as a line; `None` if it is gone.
    async fn whole_line(&mut self, uuid: &str) -> Result<Option<Vec<u8>>, Error> {
        self.requests += 1;
        match self.client.get_conversation(uuid).await {
            Ok(conversation) => Ok(Some(line_of(&conversation))),
            Err(error) if error.status() == Some(StatusCode::NOT_FOUND) => {
                tracing::warn!(uuid, "conversation gone before it was exported; left out");
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }

    /// Makes `lines` durable, then the progress that counts them (and, if
    /// given, the next stage).
    async fn commit(
        &mut self,
        lines: Vec<u8>,
        new_lines: u64,
        next: Option<Stage>,
    ) -> Result<(), Error> {
        if !lines.is_empty() {
            let path = self.path.clone();
            self.progress.length = blocking(move || files::append(&path, &lines)).await?;
        }
        self.progress.lines += new_lines;
        self.lines_written += new_lines;
        if let Some(next) = next {
            self.progress.stage = next;
        }
        let (path, progress) = (self.path.clone(), self.progress.clone());
        blocking(move || files::save(&path, &progress)).await
    }

    fn finish(&self) -> ExportReport {
        ExportReport {
            resumed: self.resumed,
            lines: self.progress.lines,
            written: self.lines_written,
            requests: self.requests,
            bookmark: self
                .progress
                .bookmark
                .clone()
                .unwrap_or_else(Bookmark::start),
        }
    }
}

fn second_of(summary: &ConversationSummary) -> Option<i64> {
    summary.last_message_dts.as_ref().and_then(watch::second_of)
}

/// A model as one line of JSON.
fn line_of(model: &impl serde::Serialize) -> Vec<u8> {
    // The models are plain data: serializing them cannot fail.
    let mut line = serde_json::to_vec(model).unwrap_or_default();
    line.push(b'\n');
    line
}

pub(super) async fn run(
    export: Export,
    mut on_progress: impl FnMut(&ExportProgress) + Send,
) -> Result<ExportReport, Error> {
    let mut run = Run::open(export).await?;
    run.run_stages(&mut on_progress).await?;
    Ok(run.finish())
}

pub(super) fn follow(export: Export, every: Duration) -> BoxStream<'static, Result<Change, Error>> {
    let start = async move {
        let mut run = Run::open(export).await?;
        run.run_stages(&mut |_| {}).await?;
        let bookmark = run.finish().bookmark;
        let watch = run
            .client
            .conversations()
            .page_size(run.page_size)
            .watch()
            .every(every)
            .from(bookmark);
        Ok::<_, Error>((run, watch))
    };
    futures::stream::once(start)
        .map(|started| match started {
            Ok((run, watch)) => futures::stream::unfold(Some((run, watch)), |state| async move {
                let (mut run, mut watch) = state?;
                let change = match watch.next().await? {
                    Ok(change) => change,
                    Err(error) => return Some((Err(error), None)),
                };
                match run.append_change(&change).await {
                    Ok(()) => Some((Ok(change), Some((run, watch)))),
                    Err(error) => Some((Err(error), None)),
                }
            })
            .boxed(),
            Err(error) => futures::stream::once(async move { Err(error) }).boxed(),
        })
        .flatten()
        .fuse()
        .boxed()
}

impl Run {
    /// Appends a change in its newest state, and moves the progress file's
    /// bookmark past it.
    async fn append_change(&mut self, change: &Change) -> Result<(), Error> {
        let line = if self.progress.whole {
            let uuid = change
                .summary()
                .conversation_uuid
                .clone()
                .unwrap_or_default();
            self.whole_line(&uuid).await?.unwrap_or_default()
        } else {
            line_of(change.summary())
        };
        let new_lines = u64::from(!line.is_empty());
        self.progress.bookmark = Some(change.bookmark());
        self.commit(line, new_lines, None).await
    }
}
