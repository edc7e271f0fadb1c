//! `$ref` bookkeeping: finding references, naming the component each one
//! points at, and the transitive closure of components a document part uses.

use std::collections::BTreeSet;

use serde_json::Value;

/// Component sections a `$ref` can point into (securitySchemes are named by
/// security requirements instead, so they are handled apart).
pub const REF_SECTIONS: [&str; 8] = [
    "schemas",
    "responses",
    "parameters",
    "examples",
    "requestBodies",
    "headers",
    "links",
    "callbacks",
];

/// One component, e.g. `schemas` / `Conversation`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Component {
    pub section: String,
    pub name: String,
}

impl Component {
    pub fn new(section: &str, name: &str) -> Self {
        Self {
            section: section.to_string(),
            name: name.to_string(),
        }
    }

    /// The `$ref` string that points at this component.
    pub fn reference(&self) -> String {
        format!(
            "#/components/{}/{}",
            self.section,
            escape_pointer_token(&self.name)
        )
    }

    pub fn get<'a>(&self, doc: &'a Value) -> Option<&'a Value> {
        doc.get("components")?.get(&self.section)?.get(&self.name)
    }
}

/// A `$ref` found in a document, with the JSON pointer of where it sits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub at: String,
    pub target: String,
}

/// Every `$ref` string under `value`, in document order.
pub fn references(value: &Value, at: &str) -> Vec<Reference> {
    let mut found = Vec::new();
    collect(value, at.to_string(), &mut found);
    found
}

fn collect(value: &Value, at: String, found: &mut Vec<Reference>) {
    match value {
        Value::Object(object) => {
            for (key, child) in object {
                if key == "$ref" {
                    if let Value::String(target) = child {
                        found.push(Reference {
                            at: at.clone(),
                            target: target.clone(),
                        });
                    }
                } else {
                    collect(child, format!("{at}/{}", escape_pointer_token(key)), found);
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                collect(child, format!("{at}/{i}"), found);
            }
        }
        _ => {}
    }
}

/// The component a local reference names. A reference into a component
/// (`#/components/schemas/A/properties/b`) still needs all of `A`.
pub fn component_of(target: &str) -> Option<Component> {
    let rest = target.strip_prefix("#/components/")?;
    let mut tokens = rest.split('/');
    let section = tokens.next()?;
    let name = tokens.next()?;
    if !REF_SECTIONS.contains(&section) || name.is_empty() {
        return None;
    }
    Some(Component {
        section: section.to_string(),
        name: unescape_pointer_token(name),
    })
}

/// The components a part of a document uses, and the references in it that
/// lead nowhere (each with where it sits, so all can be named at once).
#[derive(Debug, Default)]
pub struct Closure {
    pub reached: BTreeSet<Component>,
    pub dangling: Vec<String>,
}

/// Components reachable from `roots`, following references through the
/// components themselves.
pub fn closure<'a>(doc: &Value, roots: impl IntoIterator<Item = (&'a Value, String)>) -> Closure {
    let mut closure = Closure::default();
    let mut pending: Vec<Reference> = roots
        .into_iter()
        .flat_map(|(value, at)| references(value, &at))
        .collect();
    while let Some(reference) = pending.pop() {
        let Some(component) = component_of(&reference.target) else {
            closure.dangling.push(format!(
                "{} at {} is not a local #/components/... reference",
                reference.target, reference.at
            ));
            continue;
        };
        if closure.reached.contains(&component) {
            continue;
        }
        match component.get(doc) {
            Some(value) => {
                let at = format!(
                    "/components/{}/{}",
                    component.section,
                    escape_pointer_token(&component.name)
                );
                pending.extend(references(value, &at));
                closure.reached.insert(component);
            }
            None => closure.dangling.push(format!(
                "{} at {} points at nothing",
                reference.target, reference.at
            )),
        }
    }
    closure.dangling.sort();
    closure.dangling.dedup();
    closure
}

pub fn escape_pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn unescape_pointer_token(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}
