//! Test and benchmark support for copper-bulk: a scriptable fake of
//! Copper's bulk endpoints, the goal benchmarks hold clients to, and a real
//! Redis server for the shared rate limiter.

pub mod fake;
pub mod goal;
pub mod redis;
