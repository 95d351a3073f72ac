//! The resource tree (testbeds, devices, modules as named nodes with properties) and its reservations.
//!
//! Every change runs in one write transaction that also appends the audit entry, checks the node's version
//! (optimistic concurrency for editors), and refuses to touch equipment someone else holds. Secret property
//! values are sealed at rest and only leave the controller when a caller with `reveal_secrets` asks.

pub mod exchange;
pub mod path;
pub mod queue;
pub mod reservations;
pub mod tree;

pub use path::{Address, NodePath, NodeRef};
pub use tree::Inventory;
