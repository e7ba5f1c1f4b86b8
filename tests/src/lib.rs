//! Test and benchmark support for copper-bulk: a scriptable fake of
//! Copper's bulk endpoints, and the goal benchmarks hold clients to.

pub mod fake;
pub mod goal;
