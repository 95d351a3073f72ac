//! Test execution: projects of suites and tests, their expansion into run plans, the run engine, the station hub
//! and link, and the test-source directory.

pub mod engine;
pub mod hub;
pub mod legacy_xml;
pub mod plan;
pub mod project;
pub mod scripts;
pub mod sources;

pub use engine::{Engine, RunView};
pub use hub::Hub;
pub use project::Project;
pub use sources::Sources;
