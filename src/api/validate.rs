//! The facade's checks on its paging arguments, made before any request is
//! sent. Path values are checked where the route is built
//! ([`crate::http::Operation::url`]).

use crate::Error;

/// Largest page UltraCart serves.
pub(crate) const MAX_PAGE_SIZE: u32 = 200;

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
    fn paging_arguments() {
        assert!(page_limit(0).is_err());
        assert!(page_limit(201).is_err());
        assert_eq!(page_limit(200).unwrap(), 200);
        assert!(offset(u32::MAX).is_err());
        assert_eq!(offset(5).unwrap(), 5);
    }
}
