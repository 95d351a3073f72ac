//! Shared helpers of the integration tests.

#![allow(dead_code)]

pub mod ovs;
pub mod pki;
pub mod rig;
