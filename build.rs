//! Generates the low-level client from the checked-in spec at build time.

#[path = "codegen/generate.rs"]
mod generate;

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo::rerun-if-changed={}", generate::SPEC_PATH);
    println!("cargo::rerun-if-changed=codegen/generate.rs");
    println!("cargo::rerun-if-changed=build.rs");

    let code = match generate::generate_from_path(Path::new(generate::SPEC_PATH)) {
        Ok(code) => code,
        Err(message) => {
            println!("cargo::error={message}");
            return;
        }
    };
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("conversation_api.rs");
    if let Err(e) = std::fs::write(&out, code) {
        println!("cargo::error=cannot write {}: {e}", out.display());
    }
}
