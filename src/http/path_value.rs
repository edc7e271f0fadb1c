//! What a value may be when it becomes one segment of a route's path: the
//! rules the facade checks its arguments by, and the raw client's requests
//! are checked by before they leave.

use crate::Error;

/// A value that becomes one URL path segment. The generated client
/// percent-encodes it, but URL parsing would still treat `.` and `..` as
/// directory moves and `\` as a separator, and an empty value would address
/// a different endpoint.
pub(crate) fn path_segment(name: &str, value: &str) -> Result<(), Error> {
    if value.is_empty() {
        return Err(Error::invalid_input(format!("`{name}` is empty")));
    }
    if value == "." || value == ".." {
        return Err(Error::invalid_input(format!(
            "`{name}` cannot be `.` or `..`"
        )));
    }
    if value.contains('\\') {
        return Err(Error::invalid_input(format!(
            "`{name}` cannot contain `\\`"
        )));
    }
    Ok(())
}

/// A path value of the spec's parameter `name`, by that parameter's rules.
pub(crate) fn path_value(name: &str, value: &str) -> Result<(), Error> {
    match name {
        "extension" => extension(value),
        _ => path_segment(name, value),
    }
}

/// A file extension for the upload URL, with or without its leading dot.
pub(crate) fn extension(value: &str) -> Result<(), Error> {
    path_segment("extension", value)?;
    if value.contains('/') {
        return Err(Error::invalid_input("`extension` cannot contain `/`"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments() {
        for bad in ["", ".", "..", "a\\b"] {
            assert!(
                path_segment("conversation_uuid", bad)
                    .unwrap_err()
                    .is_invalid_input()
            );
        }
        for good in ["abc", "a/b", "...", "a b?#%", "ünï"] {
            assert!(path_segment("conversation_uuid", good).is_ok(), "{good}");
        }
        assert!(extension("a/b").is_err());
        assert!(extension(".jpg").is_ok());
    }
}
