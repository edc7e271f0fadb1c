//! Where the spec, the overlay and the generated file live.
//!
//! Every command works on one root directory (the workspace by default) so
//! tests can point a whole run at a temporary copy and never touch the real
//! `openapi/` or `generated/`.

use std::path::{Path, PathBuf};

use crate::codegen::SPEC_PATH;

/// The overlay sits beside the spec so a reviewer finds both in `openapi/`.
const OVERLAY_FILE: &str = "overlay.json";
const GENERATED_PATH: &str = "generated/conversation_api.rs";
const GENERATED_OPERATIONS_PATH: &str = "generated/operations.rs";
const GENERATED_HTTPMOCK_PATH: &str = "generated/conversation_httpmock.rs";

#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The workspace root, found from this crate's own manifest so the
    /// commands work from any directory `cargo xtask` is run in.
    pub fn workspace() -> Self {
        let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        Self::new(manifest_dir.parent().unwrap_or(manifest_dir))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `openapi/conversation.json`, the path build.rs reads.
    pub fn spec(&self) -> PathBuf {
        self.root.join(SPEC_PATH)
    }

    pub fn overlay(&self) -> PathBuf {
        self.spec().with_file_name(OVERLAY_FILE)
    }

    /// `openapi/operations.json`: which operations exist and how each may
    /// be retried.
    pub fn operations(&self) -> PathBuf {
        self.root.join(crate::classification::OPERATIONS_PATH)
    }

    pub fn generated_operations(&self) -> PathBuf {
        self.root.join(GENERATED_OPERATIONS_PATH)
    }

    pub fn generated(&self) -> PathBuf {
        self.root.join(GENERATED_PATH)
    }

    pub fn generated_httpmock(&self) -> PathBuf {
        self.root.join(GENERATED_HTTPMOCK_PATH)
    }

    /// A path as the user should read it: relative to the root when inside it.
    pub fn display(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .unwrap_or(path)
            .display()
            .to_string()
    }
}
