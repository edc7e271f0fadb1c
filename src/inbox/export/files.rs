//! The export's two files on disk: the JSON Lines output, only ever
//! appended to and made durable batch by batch, and the progress file
//! beside it, replaced whole and atomically once the lines it counts are
//! durable. A kill between any two writes leaves a progress file that
//! counts only complete, durable lines; whatever follows them (a batch
//! written but not yet counted, half a line) is cut off on resume.

use std::{
    collections::HashMap,
    fs::{self, File, OpenOptions},
    io::{self, BufRead, BufReader, Read, Write},
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

use crate::{
    Error, Timestamp,
    inbox::watch::{self, Bookmark},
};

/// The conversations an output holds, each with the second of its latest
/// message as written (`None`: no message, or a time that cannot be read).
pub(super) type Written = HashMap<String, Option<i64>>;

/// The progress file's format; one this crate cannot read is refused.
const FORMAT: u32 = 1;

/// Where an export is, as the progress file records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Progress {
    #[serde(rename = "v")]
    pub(super) format: u32,
    /// Whether the lines are whole conversations rather than summaries.
    pub(super) whole: bool,
    /// Bytes of the output that hold complete, durable lines.
    pub(super) length: u64,
    pub(super) lines: u64,
    pub(super) stage: Stage,
    /// The newest second on the listing's first page: what moved above it
    /// while the export ran is read at the top once the pages are done.
    pub(super) start_second: Option<i64>,
    /// `total_records`, as the server last said.
    pub(super) total: Option<u64>,
    /// Once done: where following the inbox goes on from.
    pub(super) bookmark: Option<Bookmark>,
}

/// What is left to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub(super) enum Stage {
    /// Reading the listing's pages, the next one at `offset`.
    Pages {
        offset: u32,
    },
    /// Reading at the top for what moved up while the pages were read.
    Top,
    Done,
}

impl Progress {
    pub(super) fn new(whole: bool) -> Self {
        Self {
            format: FORMAT,
            whole,
            length: 0,
            lines: 0,
            stage: Stage::Pages { offset: 0 },
            start_second: None,
            total: None,
            bookmark: None,
        }
    }
}

/// The progress file beside `output`: `out.jsonl` → `out.jsonl.progress`.
pub(super) fn progress_path(output: &Path) -> PathBuf {
    let mut name = output.as_os_str().to_owned();
    name.push(".progress");
    PathBuf::from(name)
}

fn io_error(path: &Path, doing: &str) -> impl FnOnce(io::Error) -> Error {
    let path = path.to_path_buf();
    let doing = doing.to_string();
    move |e| Error::export(path, doing, Some(e))
}

/// Reads the progress file, or `None` when there is none.
fn load(output: &Path) -> Result<Option<Progress>, Error> {
    let path = progress_path(output);
    let text = match fs::read(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(&path, "cannot read the progress file")(e)),
    };
    let progress: Progress = serde_json::from_slice(&text).map_err(|e| {
        Error::export(
            &path,
            format!("the progress file cannot be read ({e}); start over with `fresh`"),
            None,
        )
    })?;
    if progress.format != FORMAT {
        return Err(Error::export(
            &path,
            format!(
                "the progress file is in format {}, and this version of the crate reads format \
                 {FORMAT}; start over with `fresh`",
                progress.format
            ),
            None,
        ));
    }
    Ok(Some(progress))
}

/// Replaces the progress file atomically: a temporary file, made durable,
/// renamed over it, and the rename made durable.
pub(super) fn save(output: &Path, progress: &Progress) -> Result<(), Error> {
    let path = progress_path(output);
    let mut temporary = path.clone().into_os_string();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    let failed = io_error(&path, "cannot write the progress file");
    let written = (|| {
        let mut file = File::create(&temporary)?;
        file.write_all(&serde_json::to_vec(progress).map_err(io::Error::other)?)?;
        file.sync_all()?;
        fs::rename(&temporary, &path)?;
        sync_directory(&path)
    })();
    written.map_err(failed)
}

/// Makes a rename in the directory of `path` durable (where the system
/// allows opening a directory).
fn sync_directory(path: &Path) -> io::Result<()> {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    match File::open(directory) {
        Ok(directory) => directory.sync_all().or(Ok(())),
        Err(_) => Ok(()),
    }
}

/// The output as a run finds it.
#[derive(Debug)]
pub(super) struct Opened {
    pub(super) progress: Progress,
    /// The conversations the output holds.
    pub(super) written: Written,
    /// Whether it goes on from an earlier run.
    pub(super) resumed: bool,
}

/// Opens the output for a run that holds its lock: goes on from the
/// progress file, or starts over when told to or when there is none.
pub(super) fn open(output: &Path, fresh: bool, whole: bool) -> Result<Opened, Error> {
    let earlier = if fresh { None } else { load(output)? };
    match earlier {
        Some(progress) if progress.whole != whole => Err(Error::export(
            output,
            format!(
                "the output was begun with {}; resume it as that, or start over with `fresh`",
                if progress.whole {
                    "whole conversations"
                } else {
                    "summaries"
                }
            ),
            None,
        )),
        Some(progress) => Ok(Opened {
            written: resume(output, progress.length)?,
            progress,
            resumed: true,
        }),
        None => {
            start_over(output)?;
            Ok(Opened {
                progress: Progress::new(whole),
                written: Written::new(),
                resumed: false,
            })
        }
    }
}

/// Starting over, step by step, in the one order in which a kill between
/// any two steps leaves what a rerun completes: the progress file goes
/// first, durably, so that an output whose lines it counted is started over
/// again, never resumed from a count it no longer holds.
const START_OVER: [FileStep; 2] = [forget_progress, empty_output];

/// One step of file work on the output.
type FileStep = fn(&Path) -> Result<(), Error>;

/// Starts the output empty, and removes any progress of an earlier run.
fn start_over(output: &Path) -> Result<(), Error> {
    START_OVER.iter().try_for_each(|step| step(output))
}

fn forget_progress(output: &Path) -> Result<(), Error> {
    let path = progress_path(output);
    match fs::remove_file(&path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            Err(io_error(output, "cannot remove the old progress file")(e))
        }
        _ => sync_directory(&path).map_err(io_error(output, "cannot remove the old progress file")),
    }
}

fn empty_output(output: &Path) -> Result<(), Error> {
    File::create(output)
        .and_then(|file| file.sync_all())
        .map_err(io_error(output, "cannot create the output"))
}

/// Cuts the output back to the `length` bytes the progress file counts
/// (dropping a batch written but not counted, or half a line), and returns
/// the conversations it holds.
fn resume(output: &Path, length: u64) -> Result<Written, Error> {
    let failed = || io_error(output, "cannot resume the output");
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(output)
        .map_err(failed())?;
    let on_disk = file.metadata().map_err(failed())?.len();
    if on_disk < length {
        return Err(Error::export(
            output,
            format!(
                "the output holds {on_disk} bytes but its progress file counts {length}; \
                 start over with `fresh`"
            ),
            None,
        ));
    }
    file.set_len(length).map_err(failed())?;
    file.sync_all().map_err(failed())?;
    /// A summary's line, or a whole conversation's (its messages oldest
    /// first).
    #[derive(Deserialize)]
    struct Line {
        conversation_uuid: Option<String>,
        last_message_dts: Option<Timestamp>,
        messages: Option<Vec<Message>>,
    }
    #[derive(Deserialize)]
    struct Message {
        message_dts: Option<Timestamp>,
    }
    let mut uuids = Written::new();
    for line in BufReader::new(file.take(length)).split(b'\n') {
        let line = line.map_err(failed())?;
        let parsed: Line = serde_json::from_slice(&line).map_err(|e| {
            Error::export(
                output,
                format!("a line of the output is not JSON ({e}); start over with `fresh`"),
                None,
            )
        })?;
        let latest = parsed.last_message_dts.or_else(|| {
            let messages = parsed.messages.unwrap_or_default();
            messages.into_iter().last().and_then(|m| m.message_dts)
        });
        if let Some(uuid) = parsed.conversation_uuid {
            uuids.insert(uuid, latest.as_ref().and_then(watch::second_of));
        }
    }
    Ok(uuids)
}

/// Appends whole lines and makes them durable; returns the new length.
pub(super) fn append(output: &Path, lines: &[u8]) -> Result<u64, Error> {
    let failed = io_error(output, "cannot append to the output");
    let appended = (|| {
        let mut file = OpenOptions::new().append(true).open(output)?;
        file.write_all(lines)?;
        file.sync_data()?;
        Ok(file.metadata()?.len())
    })();
    appended.map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("uc-export-{}-{name}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        dir.join("out.jsonl")
    }

    #[test]
    fn a_resume_cuts_off_what_the_progress_file_does_not_count() {
        let output = scratch("cut");
        start_over(&output).unwrap();
        let line =
            br#"{"conversation_uuid":"a","messages":[{"message_dts":"2022-07-18T10:15:30Z"}]}"#;
        let length = append(&output, &[&line[..], b"\n"].concat()).unwrap();
        let mut progress = Progress::new(false);
        progress.length = length;
        progress.lines = 1;
        save(&output, &progress).unwrap();
        // A batch written but not counted, ending in half a line.
        append(&output, b"{\"conversation_uuid\":\"b\"}\n{\"conversation_u").unwrap();

        let loaded = load(&output).unwrap().unwrap();
        assert_eq!(loaded, progress);
        let uuids = resume(&output, loaded.length).unwrap();
        assert_eq!(
            uuids,
            Written::from([("a".to_string(), Some(1_658_139_330))])
        );
        assert_eq!(fs::read(&output).unwrap(), [&line[..], b"\n"].concat());
        fs::remove_dir_all(output.parent().unwrap()).unwrap();
    }

    /// An output of `lines` complete lines, all counted by its progress
    /// file: what an export leaves when it ends.
    fn finished(output: &Path, lines: u64) {
        start_over(output).unwrap();
        let mut progress = Progress::new(false);
        for n in 0..lines {
            let line = format!("{{\"conversation_uuid\":\"c-{n}\"}}\n");
            progress.length = append(output, line.as_bytes()).unwrap();
            progress.lines += 1;
        }
        progress.stage = Stage::Done;
        save(output, &progress).unwrap();
    }

    #[test]
    fn a_kill_at_any_step_of_starting_over_leaves_what_a_rerun_completes() {
        let output = scratch("fresh-kill");
        for killed_after in 0..=START_OVER.len() {
            finished(&output, 3);
            for step in &START_OVER[..killed_after] {
                step(&output).unwrap();
            }
            // The rerun after the kill, fresh or not.
            let resumed = open(&output, false, false)
                .unwrap_or_else(|e| panic!("killed after step {killed_after}: {e}"));
            let lines = fs::read(&output)
                .unwrap()
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            assert_eq!(
                resumed.written.len(),
                lines,
                "killed after step {killed_after}"
            );
            assert_eq!(resumed.progress.lines as usize, lines);
            assert!(open(&output, true, false).is_ok());
        }
        fs::remove_dir_all(output.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_progress_file_in_another_format_or_longer_than_the_output_is_refused() {
        let output = scratch("refuse");
        start_over(&output).unwrap();
        fs::write(progress_path(&output), br#"{"v":9}"#).unwrap();
        assert!(matches!(load(&output), Err(Error::Export { .. })));
        assert!(matches!(resume(&output, 10), Err(Error::Export { .. })));
        start_over(&output).unwrap();
        assert!(
            load(&output).unwrap().is_none(),
            "starting over forgets progress"
        );
        fs::remove_dir_all(output.parent().unwrap()).unwrap();
    }
}
