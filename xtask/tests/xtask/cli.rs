//! The binary: `--help`, exit codes and messages as a maintainer sees them.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::json;

use crate::support::{fixture, read, temp_root};

fn xtask(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("--root")
        .arg(root)
        .args(args)
        .output()
        .expect("the xtask binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn help_lists_the_commands() {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("--help")
        .output()
        .expect("runs");
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for command in ["import", "generate", "lint-spec"] {
        assert!(help.contains(command), "--help lacks {command}:\n{help}");
    }
}

#[test]
fn a_failed_import_exits_non_zero_and_names_the_problem() {
    let (dir, layout) = temp_root();
    let before = read(&layout.spec());
    let output = xtask(
        dir.path(),
        &["import", &fixture("swagger-2.0.json").to_string_lossy()],
    );
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("Swagger 2.0"),
        "{}",
        stderr(&output)
    );
    assert_eq!(read(&layout.spec()), before);
}

#[test]
fn lint_spec_exits_by_its_findings() {
    let (dir, layout) = temp_root();
    let ok = xtask(dir.path(), &["lint-spec"]);
    assert!(ok.status.success(), "{}", stderr(&ok));

    let mut spec: serde_json::Value = serde_json::from_str(&read(&layout.spec())).expect("JSON");
    spec["components"]["schemas"]["Orphan"] = json!({ "type": "object" });
    std::fs::write(layout.spec(), spec.to_string()).expect("write");
    let failed = xtask(dir.path(), &["lint-spec"]);
    assert!(!failed.status.success());
    assert!(
        stderr(&failed).contains("components.schemas.Orphan is unused"),
        "{}",
        stderr(&failed)
    );
}

#[test]
fn generate_check_exits_non_zero_when_stale() {
    let (dir, _layout) = temp_root();
    let output = xtask(dir.path(), &["generate", "--check"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("run `cargo xtask generate`"),
        "{}",
        stderr(&output)
    );
}
