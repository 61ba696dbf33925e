#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| drop(lb_k8s::config::check_manifests(&String::from_utf8_lossy(data))));
