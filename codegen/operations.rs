//! The facade's operation table: each operation's route from the spec, and
//! whether it may be repeated from `openapi/operations.json`.
//!
//! `build.rs` and `cargo xtask` both include this file, so the table compiled
//! into the crate, the reviewable copy under `generated/` and the spec lint
//! agree on which operations exist and how each may be retried.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

/// Path of the classification, relative to the crate root.
pub const OPERATIONS_PATH: &str = "openapi/operations.json";

/// The path-item keys that hold operations.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// One operation as the table describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Upstream `operationId`, such as `getConversation`.
    pub id: String,
    /// The method in upper case.
    pub method: String,
    /// The path template, such as `/conversation/conversations/{conversation_uuid}`.
    pub path: String,
    /// `safe` or `once`.
    pub repeat: String,
}

/// How each operation may be repeated, by `operationId`, from the text of
/// `openapi/operations.json`.
pub fn classification(text: &str) -> Result<BTreeMap<String, String>, String> {
    let doc: Value = serde_json::from_str(text)
        .map_err(|e| format!("{OPERATIONS_PATH} is not valid JSON: {e}"))?;
    let operations = doc
        .get("operations")
        .and_then(Value::as_object)
        .ok_or_else(|| format!("{OPERATIONS_PATH} has no `operations` object"))?;
    let mut classes = BTreeMap::new();
    for (id, entry) in operations {
        let repeat = entry.get("repeat").and_then(Value::as_str);
        let reason = entry.get("reason").and_then(Value::as_str).unwrap_or("");
        match repeat {
            Some("safe" | "once") if !reason.trim().is_empty() => {
                classes.insert(id.clone(), repeat.unwrap_or_default().to_string());
            }
            Some("safe" | "once") => {
                return Err(format!("{OPERATIONS_PATH}: `{id}` needs a `reason`"));
            }
            _ => {
                return Err(format!(
                    "{OPERATIONS_PATH}: `{id}` needs `repeat` set to \"safe\" or \"once\""
                ));
            }
        }
    }
    Ok(classes)
}

/// Every operation of the spec with its classification. Fails, naming them,
/// when an operation of the spec is not classified or a classified one is not
/// in the spec.
pub fn rows(spec_text: &str, operations_text: &str) -> Result<Vec<Row>, String> {
    let spec: Value =
        serde_json::from_str(spec_text).map_err(|e| format!("the spec is not valid JSON: {e}"))?;
    let mut classes = classification(operations_text)?;
    let mut rows = Vec::new();
    let mut unclassified = Vec::new();
    let paths = spec.get("paths").and_then(Value::as_object);
    for (path, item) in paths.into_iter().flatten() {
        for method in METHODS {
            let Some(id) = item
                .get(method)
                .and_then(|op| op.get("operationId"))
                .and_then(Value::as_str)
            else {
                continue;
            };
            match classes.remove(id) {
                Some(repeat) => rows.push(Row {
                    id: id.to_string(),
                    method: method.to_ascii_uppercase(),
                    path: path.clone(),
                    repeat,
                }),
                None => unclassified.push(id.to_string()),
            }
        }
    }
    if !unclassified.is_empty() {
        return Err(format!(
            "operations of the spec missing from {OPERATIONS_PATH} (say whether each may be repeated): {}",
            unclassified.join(", ")
        ));
    }
    if !classes.is_empty() {
        let stale: Vec<_> = classes.into_keys().collect();
        return Err(format!(
            "{OPERATIONS_PATH} names operations the spec does not have: {}",
            stale.join(", ")
        ));
    }
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(rows)
}

/// progenitor's name for an operation: its `operationId` in snake case.
pub fn snake_case(id: &str) -> String {
    let mut out = String::with_capacity(id.len() + 4);
    for (i, c) in id.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The Rust table: one `Operation` constant per operation and `ALL`.
pub fn generate_table(spec_text: &str, operations_text: &str) -> Result<String, String> {
    let rows = rows(spec_text, operations_text)?;
    let mut code = format!(
        "// @generated from openapi/conversation.json and {OPERATIONS_PATH}. Do not edit:\n\
         // change those files, then run `cargo xtask generate`.\n"
    );
    for row in &rows {
        let name = snake_case(&row.id);
        let repeat = if row.repeat == "safe" { "Safe" } else { "Once" };
        // Infallible: String's fmt::Write never fails.
        let _ = write!(
            code,
            "\n/// `{id}`: {method} {path}\n\
             pub(crate) const {constant}: Operation = Operation {{\n    \
             id: {id:?},\n    \
             name: {name:?},\n    \
             method: http::Method::{method},\n    \
             path: {path:?},\n    \
             repeat: Repeat::{repeat},\n\
             }};\n",
            id = row.id,
            method = row.method,
            path = row.path,
            constant = name.to_ascii_uppercase(),
        );
    }
    let _ = write!(
        code,
        "\n/// Every operation of the spec.\npub(crate) const ALL: [Operation; {}] = [{}];\n",
        rows.len(),
        rows.iter()
            .map(|row| snake_case(&row.id).to_ascii_uppercase())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = r#"{"paths": {
        "/a/{x}": {"get": {"operationId": "getThing"}, "parameters": []},
        "/a": {"put": {"operationId": "startThing"}}
    }}"#;

    #[test]
    fn every_operation_must_be_classified_both_ways() {
        let both = r#"{"operations": {
            "getThing": {"repeat": "safe", "reason": "a read"},
            "startThing": {"repeat": "once", "reason": "creates"}}}"#;
        let table = rows(SPEC, both).unwrap();
        assert_eq!(table.len(), 2);
        assert_eq!(table[0].method, "GET");

        let missing = r#"{"operations": {"getThing": {"repeat": "safe", "reason": "r"}}}"#;
        assert!(rows(SPEC, missing).unwrap_err().contains("startThing"));

        let extra = r#"{"operations": {
            "getThing": {"repeat": "safe", "reason": "r"},
            "startThing": {"repeat": "once", "reason": "r"},
            "gone": {"repeat": "safe", "reason": "r"}}}"#;
        assert!(rows(SPEC, extra).unwrap_err().contains("gone"));

        let unclear = r#"{"operations": {
            "getThing": {"repeat": "maybe", "reason": "r"},
            "startThing": {"repeat": "once", "reason": "r"}}}"#;
        assert!(rows(SPEC, unclear).unwrap_err().contains("getThing"));
    }

    #[test]
    fn names_follow_progenitor() {
        assert_eq!(
            snake_case("getConversationMultimediaUploadUrl"),
            "get_conversation_multimedia_upload_url"
        );
    }
}
