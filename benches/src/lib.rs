//! Benchmarks live in `benches/`; run them with `cargo bench -p lb-benches`.
//!
//! The package exists to host the criterion bench targets, so that bench-only dependencies
//! (criterion and the peer crates compared against) stay out of the library crates. This
//! library holds what several benches share: reading back the medians criterion measured, so
//! that a bench can print the ratio of two rows' medians from the same run.

pub mod estimates;
