//! Reading the listing one page at a time: where the server says the next
//! page is, and the read from the top down to a stop rule that the
//! listing, the watch and the export share.

pub(crate) mod one_page;
pub(crate) mod plan;
