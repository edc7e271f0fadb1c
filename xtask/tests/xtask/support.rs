//! Shared helpers: fixtures, temporary roots, spec comparison.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;
use tempfile::TempDir;
use xtask::{Layout, document, import::HEADER_KEY};

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn workspace() -> Layout {
    Layout::workspace()
}

pub fn checked_in_spec() -> String {
    read(&workspace().spec())
}

pub fn checked_in_spec_value() -> Value {
    document::parse_json(&checked_in_spec()).expect("the checked-in spec is JSON")
}

pub fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// A temporary root holding copies of the checked-in spec, overlay and
/// classification, and no generated/ directory.
pub fn temp_root() -> (TempDir, Layout) {
    let dir = TempDir::new().expect("temp dir");
    let layout = Layout::new(dir.path());
    let real = workspace();
    for (from, to) in [
        (real.spec(), layout.spec()),
        (real.overlay(), layout.overlay()),
        (real.operations(), layout.operations()),
    ] {
        fs::create_dir_all(to.parent().expect("has a parent")).expect("create openapi/");
        fs::copy(&from, &to).expect("copy into the temp root");
    }
    (dir, layout)
}

/// Writes `doc` as a file in `dir` and returns its path.
pub fn write_doc(dir: &Path, name: &str, doc: &Value) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, document::to_pretty(doc)).expect("write the doc");
    path
}

/// The fixture document, parsed, for tests that break it on purpose.
pub fn fixture_value(name: &str) -> Value {
    document::read_any(&fixture(name)).expect("fixture parses")
}

/// Asserts two spec texts are byte-identical except for the header field
/// that names the imported file.
pub fn assert_same_spec(actual: &str, expected: &str) {
    let source = |text: &str| -> Value {
        let value = document::parse_json(text).expect("spec is JSON");
        value
            .get(HEADER_KEY)
            .and_then(|h| h.get("source"))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let mut value = document::parse_json(actual).expect("spec is JSON");
    if let Some(header) = value.get_mut(HEADER_KEY).and_then(Value::as_object_mut) {
        header.insert("source".to_string(), source(expected));
    }
    let actual = document::to_pretty(&value);
    if actual != expected {
        let line = actual
            .lines()
            .zip(expected.lines())
            .position(|(a, e)| a != e)
            .map_or(0, |i| i + 1);
        panic!(
            "specs differ (first at line {line}):\n--- actual\n{actual}\n--- expected\n{expected}"
        );
    }
}
