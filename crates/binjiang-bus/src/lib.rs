//! Binjiang beyond one machine, on NATS JetStream (clustered, replicated, durable consumers,
//! work queues) through `async-nats` — not a home-made cluster.
//!
//! This first part distributes what-if runs: `binjiang whatif … --workers nats://…` puts each
//! (arm, seed) run on a work-queue stream; `binjiang worker --bus nats://…`, on any machine
//! holding the same scene folder, takes runs, returns each result on a results stream and only
//! then acknowledges the run (a worker that dies mid-run leaves it to be redelivered). The
//! coordinator gathers one result per run and writes the same report as a local run, byte
//! for byte: runs are deterministic per seed, and results travel as exact JSON.

pub mod city;
pub mod gateway;
pub mod ingest;
pub mod nats;
pub mod whatif;

pub use nats::BusError;
pub use whatif::{coordinate, work};
