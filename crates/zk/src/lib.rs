//! LIB-PLACEHOLDER
#![deny(missing_docs)]

pub mod circuit;
pub mod groth16;
