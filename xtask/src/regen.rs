//! `generate`: the reviewable copies of what build.rs compiles into the crate.
//!
//! build.rs generates into OUT_DIR, which nobody reviews; writing the same
//! output to `generated/` turns every spec change into a Rust diff. The
//! copies are not part of any crate: nothing includes them and the package
//! excludes them.

use std::path::PathBuf;

use crate::document::write_atomic;
use crate::{Error, Layout, Result};
use crate::{classification, codegen};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Changed,
    Unchanged,
}

/// Everything build.rs generates from one spec: the client, the typed
/// httpmock helpers of the `mock` feature, and the operation table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    pub client: String,
    pub httpmock: String,
    pub operations: String,
}

impl Generated {
    /// Generates all three from the spec and the operations' classification,
    /// with build.rs's own functions.
    pub fn from_texts(spec: &str, classification: &str) -> std::result::Result<Self, String> {
        Ok(Self {
            client: codegen::generate(spec)?,
            httpmock: codegen::generate_httpmock(spec)?,
            operations: classification::generate_table(spec, classification)?,
        })
    }

    fn files(&self, layout: &Layout) -> [(PathBuf, &str); 3] {
        [
            (layout.generated(), &self.client),
            (layout.generated_httpmock(), &self.httpmock),
            (layout.generated_operations(), &self.operations),
        ]
    }
}

pub(crate) fn read(layout: &Layout, path: &std::path::Path) -> Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| Error::new(format!("cannot read {}: {e}", layout.display(path))))
}

/// The generated code for the layout's spec.
pub fn code(layout: &Layout) -> Result<Generated> {
    let spec = read(layout, &layout.spec())?;
    let classification = read(layout, &layout.operations())?;
    Generated::from_texts(&spec, &classification).map_err(Error::new)
}

/// Writes the generated files, leaving each alone when it is current.
pub fn generate(layout: &Layout) -> Result<Written> {
    write_if_changed(layout, &code(layout)?)
}

pub fn write_if_changed(layout: &Layout, generated: &Generated) -> Result<Written> {
    let mut written = Written::Unchanged;
    for (out, code) in generated.files(layout) {
        if std::fs::read_to_string(&out).is_ok_and(|existing| existing == code) {
            continue;
        }
        write_atomic(&out, code)?;
        written = Written::Changed;
    }
    Ok(written)
}

/// Fails when a checked-in copy is missing or differs from what the spec
/// generates now.
pub fn check(layout: &Layout) -> Result<()> {
    let generated = code(layout)?;
    for (out, code) in generated.files(layout) {
        let shown = layout.display(&out);
        let existing = match std::fs::read_to_string(&out) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::new(format!(
                    "{shown} does not exist; run `cargo xtask generate` and commit it"
                )));
            }
            Err(e) => return Err(Error::new(format!("cannot read {shown}: {e}"))),
        };
        if existing != code {
            return Err(Error::new(format!(
                "{shown} is stale: it differs from what {} generates now; run `cargo xtask generate` and commit the result",
                layout.display(&layout.spec())
            )));
        }
    }
    Ok(())
}
