//! One run at a time on an output: two runs on one path would interleave
//! their lines and each other's progress.

use std::{
    fs::{File, OpenOptions, TryLockError},
    path::Path,
};

use crate::Error;

/// An advisory lock on the output file itself, held for a whole run and
/// released when the run ends, or by the system when its process dies, so
/// that a killed run never leaves a lock behind.
#[derive(Debug)]
pub(super) struct OutputLock {
    _file: File,
}

impl OutputLock {
    /// Takes the lock, or fails at once if another run, in this process or
    /// another, holds it. Writes nothing to an output that exists.
    pub(super) fn take(output: &Path) -> Result<Self, Error> {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(output)
            .map_err(|e| Error::export(output, "cannot open the output", Some(e)))?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(TryLockError::WouldBlock) => Err(Error::export(
                output,
                "another export is running on this output; wait for it to end, or export to another path",
                None,
            )),
            Err(TryLockError::Error(e)) => {
                Err(Error::export(output, "cannot lock the output", Some(e)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_one_output_fails_until_the_first_is_dropped() {
        let dir = std::env::temp_dir().join(format!("uc-export-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let output = dir.join("out.jsonl");
        let first = OutputLock::take(&output).unwrap();
        let refused = OutputLock::take(&output).unwrap_err();
        assert!(refused.to_string().contains("out.jsonl"), "{refused}");
        drop(first);
        OutputLock::take(&output).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
