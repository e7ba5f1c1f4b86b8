//! Test and benchmark support for copper-bulk: a scriptable fake of
//! Copper's bulk endpoints.

pub mod fake;
