#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| lb_bfd::fuzzing::session(data));
