//! `import`: UltraCart's whole upstream document in, our spec out.
//!
//! Order matters: everything that can fail (parsing, the version, the seven
//! operations, the overlay, lint, code generation) runs before anything is
//! written, so a bad input leaves the checked-in spec exactly as it was.

use std::fmt;
use std::path::Path;

use serde_json::{Value, json};

use crate::diff::{self, Change};
use crate::document::{self, write_atomic};
use crate::overlay::{Effect, Outcome, Overlay};
use crate::regen::{self, Written};
use crate::{Error, Layout, Result, filter, lint};

/// The top-level extension that records where the spec came from. It lives
/// in the document (not a comment) so the file stays plain JSON/OpenAPI.
pub const HEADER_KEY: &str = "x-import";

/// What an import did, printed for the person who ran it.
#[derive(Debug)]
pub struct Report {
    pub spec: String,
    pub generated: String,
    pub generated_written: Written,
    pub previous: Previous,
    pub changes: Vec<Change>,
    pub overlay: Vec<Outcome>,
}

/// The spec the import replaced, which the changes are measured against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Previous {
    Read,
    Missing,
    /// Unparsable; the changes are then measured against an empty spec.
    Unreadable(String),
}

pub fn import(source: &Path, layout: &Layout) -> Result<Report> {
    let upstream = document::read_any(source)?;
    lint::check_version(&upstream).map_err(|problem| {
        Error::new(format!(
            "{} cannot be imported: {problem}",
            source.display()
        ))
    })?;
    let overlay = Overlay::load(&layout.overlay())?;
    let operations = crate::operations(layout)?;
    let kept: Vec<&str> = operations.iter().map(String::as_str).collect();

    let mut spec = filter::keep_operations(&upstream, &kept)
        .map_err(|e| Error::new(format!("{} cannot be imported: {e}", source.display())))?;
    let outcomes = overlay.apply(&mut spec)?;
    if let Value::Object(object) = &mut spec {
        object.insert(HEADER_KEY.to_string(), header(source, &kept));
    }

    let problems = lint::lint(&spec);
    if !problems.is_empty() {
        return Err(Error::new(format!(
            "the imported spec would fail lint-spec, so nothing was written:\n  {}\nFix the upstream document, or add a rule with its reason to {}.",
            problems.join("\n  "),
            layout.display(&layout.overlay())
        )));
    }
    let text = document::to_pretty(&spec);
    let classification = regen::read(layout, &layout.operations())?;
    let code = regen::Generated::from_texts(&text, &classification).map_err(|e| {
        Error::new(format!(
            "the imported spec cannot be compiled into a client, so nothing was written: {e}"
        ))
    })?;

    let spec_path = layout.spec();
    let (previous, before) = previous_spec(&spec_path);
    let changes = diff::compare(&before, &spec);

    write_atomic(&spec_path, &text)?;
    let generated_written = regen::write_if_changed(layout, &code)?;
    Ok(Report {
        spec: layout.display(&spec_path),
        generated: layout.display(&layout.generated()),
        generated_written,
        previous,
        changes,
        overlay: outcomes,
    })
}

fn header(source: &Path, operations: &[&str]) -> Value {
    // Only the file name: a full path would differ per machine and make every
    // import a diff.
    let name = source
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| source.display().to_string());
    json!({
        "note": "Written by `cargo xtask import`; do not edit by hand. Deliberate differences from upstream are rules in overlay.json beside this file.",
        "operations": operations,
        "source": name,
    })
}

fn previous_spec(path: &Path) -> (Previous, Value) {
    match std::fs::read_to_string(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Previous::Missing, json!({})),
        Err(e) => (Previous::Unreadable(e.to_string()), json!({})),
        Ok(text) => match document::parse_json(&text) {
            Ok(value) => (Previous::Read, value),
            Err(e) => (Previous::Unreadable(e), json!({})),
        },
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Wrote {}.", self.spec)?;
        match self.generated_written {
            Written::Changed => writeln!(f, "Regenerated {}.", self.generated)?,
            Written::Unchanged => writeln!(f, "{} is unchanged.", self.generated)?,
        }
        writeln!(f)?;
        match &self.previous {
            Previous::Read => {}
            Previous::Missing => writeln!(f, "There was no previous spec; all of it is new.")?,
            Previous::Unreadable(e) => writeln!(
                f,
                "The previous spec could not be read ({e}); changes are against an empty spec."
            )?,
        }
        if self.changes.is_empty() {
            writeln!(
                f,
                "API changes: none (text such as descriptions may still differ; see the file diff)."
            )?;
        } else {
            writeln!(f, "API changes:")?;
            for change in &self.changes {
                writeln!(f, "  {change}")?;
            }
        }
        writeln!(f)?;
        writeln!(f, "Overlay rules:")?;
        for outcome in &self.overlay {
            match &outcome.effect {
                Effect::Changed => writeln!(f, "  applied: {}", outcome.rule)?,
                Effect::Idle(why) => writeln!(f, "  nothing to do: {}: {why}", outcome.rule)?,
            }
        }
        if self.overlay.iter().any(|o| o.effect != Effect::Changed) {
            writeln!(
                f,
                "A rule with nothing to do is either already satisfied by the input, obsolete (upstream caught up: remove it) or aimed at something upstream moved (retarget it)."
            )?;
        }
        Ok(())
    }
}
