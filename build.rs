//! Generates the low-level client from the checked-in spec at build time.

#[path = "codegen/generate.rs"]
mod generate;
#[path = "codegen/operations.rs"]
mod operations;

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo::rerun-if-changed={}", generate::SPEC_PATH);
    println!("cargo::rerun-if-changed={}", operations::OPERATIONS_PATH);
    println!("cargo::rerun-if-changed=codegen/generate.rs");
    println!("cargo::rerun-if-changed=codegen/operations.rs");
    println!("cargo::rerun-if-changed=build.rs");

    let (Some(spec), Some(classification)) =
        (read(generate::SPEC_PATH), read(operations::OPERATIONS_PATH))
    else {
        return;
    };
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    write(
        &out_dir.join("conversation_api.rs"),
        generate::generate(&spec),
    );
    write(
        &out_dir.join("operations.rs"),
        operations::generate_table(&spec, &classification),
    );
    // Only the `mock` feature compiles these, but generating them is cheap.
    write(
        &out_dir.join("conversation_httpmock.rs"),
        generate::generate_httpmock(&spec),
    );
}

fn write(path: &Path, code: Result<String, String>) {
    match code {
        Ok(code) => {
            if let Err(e) = std::fs::write(path, code) {
                println!("cargo::error=cannot write {}: {e}", path.display());
            }
        }
        Err(message) => println!("cargo::error={message}"),
    }
}

/// The file at `path`, or `None` after telling cargo why not.
fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .map_err(|e| println!("cargo::error=cannot read {path}: {e}"))
        .ok()
}
