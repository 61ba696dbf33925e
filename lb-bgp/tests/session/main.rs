//! The sans-IO session in virtual time: the RFC 4271 §8 FSM (transitions, collisions, timers,
//! backoff, errors) and the route advertiser, between two sessions and against scripted octets.

#![allow(clippy::unwrap_used)]

mod advertiser;
mod fsm;
mod harness;
mod scripted;
