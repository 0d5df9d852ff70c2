//! Integration tests of verity-inference, in one binary.

mod bad_inputs;
mod digits;
mod fixtures;
mod third_party;
