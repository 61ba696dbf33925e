//! Benchmarks live in `benches/`; run them with `cargo bench -p lb-benches`.
//!
//! This library is empty: the package exists only to host the criterion bench targets, so that
//! bench-only dependencies (criterion and the peer crates compared against) stay out of the
//! library crates.
