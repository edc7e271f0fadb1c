//! Walking the operations of an OpenAPI document.

use serde_json::Value;

/// The path-item keys that hold operations; every other key of a path item
/// (`parameters`, `summary`, `servers`, ...) applies to the whole path.
pub const HTTP_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// One operation of a document.
#[derive(Debug, Clone, Copy)]
pub struct Operation<'a> {
    pub path: &'a str,
    pub method: &'a str,
    pub value: &'a Value,
}

impl<'a> Operation<'a> {
    pub fn id(&self) -> Option<&'a str> {
        self.value.get("operationId").and_then(Value::as_str)
    }

    /// `GET /conversation/conversations`, for messages.
    pub fn route(&self) -> String {
        format!("{} {}", self.method.to_ascii_uppercase(), self.path)
    }
}

/// Every operation, in path order then method order.
pub fn all(doc: &Value) -> Vec<Operation<'_>> {
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return Vec::new();
    };
    paths
        .iter()
        .flat_map(|(path, item)| {
            HTTP_METHODS.iter().filter_map(move |method| {
                item.get(*method).map(|value| Operation {
                    path,
                    method,
                    value,
                })
            })
        })
        .collect()
}

/// The operation with this `operationId`, mutably (for overlay rules).
pub fn find_mut<'a>(doc: &'a mut Value, id: &str) -> Option<&'a mut Value> {
    doc.get_mut("paths")?
        .as_object_mut()?
        .values_mut()
        .flat_map(|item| {
            item.as_object_mut()
                .into_iter()
                .flat_map(|methods| methods.iter_mut())
                .filter(|(key, _)| HTTP_METHODS.contains(&key.as_str()))
                .map(|(_, operation)| operation)
        })
        .find(|operation| operation.get("operationId").and_then(Value::as_str) == Some(id))
}
