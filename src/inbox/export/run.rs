//! An export's steps: the listing's pages, the read at the top, then
//! following; each batch durable before the progress that counts it.

use std::{
    collections::{BTreeSet, HashSet},
    path::PathBuf,
    time::Duration,
};

use futures::{StreamExt, stream::BoxStream};

use super::{
    Export, ExportProgress, ExportReport,
    files::{self, Progress, Stage, Written},
};
use crate::{
    Change, Client, Error, StatusCode,
    api::validate,
    inbox::{
        scan::one_page::OnePage,
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
}

impl Run {
    async fn open(export: Export) -> Result<Self, Error> {
        validate::page_limit(export.page_size)?;
        let path = export.path.clone();
        let earlier = if export.fresh {
            None
        } else {
            let path = path.clone();
            blocking(move || files::load(&path)).await?
        };
        let (progress, written, resumed) = match earlier {
            Some(progress) if progress.whole != export.whole => {
                return Err(Error::export(
                    &path,
                    format!(
                        "the output was begun with {}; resume it as that, or start over with `fresh`",
                        if progress.whole {
                            "whole conversations"
                        } else {
                            "summaries"
                        }
                    ),
                    None,
                ));
            }
            Some(progress) => {
                let (path, length) = (path.clone(), progress.length);
                let written = blocking(move || files::resume(&path, length)).await?;
                (progress, written, true)
            }
            None => {
                let path = path.clone();
                blocking(move || files::start_over(&path)).await?;
                (Progress::new(export.whole), Written::new(), false)
            }
        };
        Ok(Self {
            client: export.client,
            path,
            page_size: export.page_size,
            progress,
            written,
            resumed,
            requests: 0,
            lines_written: 0,
        })
    }

    fn report(&self) -> ExportProgress {
        ExportProgress {
            lines: self.progress.lines,
            total: self.progress.total,
            requests: self.requests,
            whole: self.progress.whole,
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
        let mut offset = 0;
        let mut newest: Option<(i64, BTreeSet<String>)> = None;
        let mut moved = Vec::new();
        let mut met = HashSet::new();
        'pages: loop {
            let page = OnePage::fetch(&self.client, self.page_size, offset).await;
            self.requests += 1;
            let page = page?;
            let next = page.next_offset();
            for summary in page.items {
                let Some(uuid) = summary.conversation_uuid.clone() else {
                    continue;
                };
                let second = second_of(&summary);
                if let Some(second) = second {
                    let (top, at_top) = newest.get_or_insert_with(|| (second, BTreeSet::new()));
                    if second == *top {
                        at_top.insert(uuid.clone());
                    }
                    if second < floor {
                        break 'pages;
                    }
                }
                match self.written.get(&uuid) {
                    Some(&Some(written)) if second.is_some_and(|s| s <= written) => break 'pages,
                    Some(_) => {}
                    None if met.insert(uuid.clone()) => moved.push(summary),
                    None => {}
                }
            }
            match next? {
                Some(next) => offset = next,
                None => break,
            }
        }
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
        self.write(moved, Stage::Done, on_progress).await
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
