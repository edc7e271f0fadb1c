//! Checks made before any request is sent.

use crate::Error;

/// Largest page UltraCart serves.
pub(crate) const MAX_PAGE_SIZE: u32 = 200;

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

pub(crate) fn page_limit(limit: u32) -> Result<i32, Error> {
    if !(1..=MAX_PAGE_SIZE).contains(&limit) {
        return Err(Error::invalid_input(format!(
            "`limit` must be between 1 and {MAX_PAGE_SIZE}, not {limit}"
        )));
    }
    Ok(limit as i32)
}

pub(crate) fn offset(offset: u32) -> Result<i32, Error> {
    i32::try_from(offset).map_err(|_| {
        Error::invalid_input(format!(
            "`offset` must be at most {}, not {offset}",
            i32::MAX
        ))
    })
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

    #[test]
    fn paging_arguments() {
        assert!(page_limit(0).is_err());
        assert!(page_limit(201).is_err());
        assert_eq!(page_limit(200).unwrap(), 200);
        assert!(offset(u32::MAX).is_err());
        assert_eq!(offset(5).unwrap(), 5);
    }
}
