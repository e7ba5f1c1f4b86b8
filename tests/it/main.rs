//! copper-bulk's integration tests, compiled into one binary.

mod contract;
mod decoding;
mod entities;
mod facade;
mod faults;
mod fuzz;
mod limiter;
mod matching;
mod oauth;
mod raw_client;
mod real_payloads;
mod reconcile;
mod redis_limiter;
mod request_bodies;
mod sandbox;
mod search;
mod spec_examples;
mod stopping;
mod support;
mod upsert;
