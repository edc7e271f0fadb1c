//! Label sets made once and kept for the life of the process, so that
//! recording a request's metrics allocates nothing, recorder or not.
//!
//! The facade's macros build a `Vec` of labels on every call when a label
//! value is not a literal. Every label value of a request's metrics comes
//! from a small fixed set instead (an operationId, an HTTP status, a retry
//! reason), so each combination is built once, leaked, and looked up
//! after: at most the spec's operations × the statuses UltraCart answers,
//! a few hundred bytes each.

use std::sync::{LazyLock, RwLock};

use metrics::{Counter, Histogram, Key, Label, Level, Metadata};

/// One combination of label values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Set {
    /// `operation`, and `status`: an HTTP status, or `None` for no answer.
    Request {
        operation: &'static str,
        status: Option<u16>,
    },
    /// `operation` alone.
    Operation(&'static str),
    /// `operation` and `reason`.
    Retry {
        operation: &'static str,
        reason: &'static str,
    },
}

impl Set {
    fn build(self) -> Vec<Label> {
        match self {
            Self::Request { operation, status } => vec![
                Label::from_static_parts("operation", operation),
                match status {
                    Some(code) => Label::new("status", code.to_string()),
                    None => Label::from_static_parts("status", "error"),
                },
            ],
            Self::Operation(operation) => vec![Label::from_static_parts("operation", operation)],
            Self::Retry { operation, reason } => vec![
                Label::from_static_parts("operation", operation),
                Label::from_static_parts("reason", reason),
            ],
        }
    }
}

type Interned = foldhash::HashMap<Set, &'static [Label]>;

static INTERNED: LazyLock<RwLock<Interned>> = LazyLock::new(RwLock::default);

/// The labels of `set`, built the first time they are asked for.
pub(super) fn labels(set: Set) -> &'static [Label] {
    // Every write leaves the map whole, so a poisoned lock is still usable.
    if let Some(found) = INTERNED.read().unwrap_or_else(|p| p.into_inner()).get(&set) {
        return found;
    }
    let mut interned = INTERNED.write().unwrap_or_else(|p| p.into_inner());
    interned.entry(set).or_insert_with(|| set.build().leak())
}

static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

/// The counter `name` with the labels of `set`, from the installed
/// recorder (the facade's no-op one if none).
pub(super) fn counter(name: &'static str, set: Set) -> Counter {
    let key = Key::from_static_labels(name, labels(set));
    metrics::with_recorder(|recorder| recorder.register_counter(&key, &METADATA))
}

/// The histogram `name` with the labels of `set`.
pub(super) fn histogram(name: &'static str, set: Set) -> Histogram {
    let key = Key::from_static_labels(name, labels(set));
    metrics::with_recorder(|recorder| recorder.register_histogram(&key, &METADATA))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_combination_is_built_once_and_reads_as_it_should() {
        let set = Set::Request {
            operation: "getConversations",
            status: Some(429),
        };
        let first = labels(set);
        assert!(std::ptr::eq(first, labels(set)), "looked up, not rebuilt");
        let pairs: Vec<_> = first.iter().map(|l| (l.key(), l.value())).collect();
        assert_eq!(
            pairs,
            [("operation", "getConversations"), ("status", "429")]
        );
        let error = labels(Set::Request {
            operation: "getConversation",
            status: None,
        });
        assert_eq!(error[1].value(), "error");
        let retry = labels(Set::Retry {
            operation: "getConversations",
            reason: "rate_limited",
        });
        assert_eq!(retry[1].key(), "reason");
        assert_eq!(labels(Set::Operation("joinConversation")).len(), 1);
    }
}
