//! Long-running work over `getConversations`: listing every conversation,
//! following the inbox, exporting it. Each reads the listing page by page
//! through the client's pipeline ([`scan`]), and none of it is a call of
//! its own.

pub(crate) mod export;
pub(crate) mod listing;
pub(crate) mod scan;
pub(crate) mod watch;

pub use export::{Export, ExportProgress, ExportReport};
pub use listing::{ConversationPage, ConversationPager};
pub use watch::{Bookmark, Change, Watch};
#[cfg(feature = "redis")]
pub use watch::{Delivery, GroupWatch, WatchGroup};
