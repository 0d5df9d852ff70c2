//! Tests: a reference model and a model-based property test, delivery rules, crash atomicity
//! under injected I/O failures, and a commit-cost measurement (ignored by default).

mod bench;
mod crash;
mod delivery;
mod model;
