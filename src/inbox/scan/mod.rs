//! Reading the listing page by page: who a conversation on a page is
//! ([`marks`]), where the server says the next page is ([`plan`]), one page
//! on its own ([`one_page`]), the guard against a server that answers the
//! same page for ever ([`stale`]), and the read from the top down to a stop
//! rule that the listing, the watch and the export share ([`top_read`]).

pub(crate) mod marks;
pub(crate) mod one_page;
pub(crate) mod plan;
pub(crate) mod stale;
pub(crate) mod top_read;
