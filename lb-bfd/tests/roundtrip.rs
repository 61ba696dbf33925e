//! Property tests of the codec (parse → emit → parse, and arbitrary octets never panic) and
//! the replay of the fuzz corpora in `fuzz/corpus/bfd_*`.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use lb_bfd::wire::{Auth, Diagnostic, Packet, Password, Repr, State, auth};
use proptest::prelude::*;

fn state() -> impl Strategy<Value = State> {
    prop_oneof![
        Just(State::AdminDown),
        Just(State::Down),
        Just(State::Init),
        Just(State::Up)
    ]
}

fn auth_section() -> impl Strategy<Value = Option<Auth>> {
    prop_oneof![
        Just(None),
        (any::<u8>(), proptest::collection::vec(any::<u8>(), 1..=16)).prop_map(|(k, p)| Some(
            Auth::SimplePassword {
                key_id: k,
                password: Password::new(&p).unwrap(),
            }
        )),
        (any::<bool>(), any::<u8>(), any::<u32>(), any::<[u8; 16]>()).prop_map(
            |(meticulous, key_id, sequence, digest)| Some(Auth::KeyedMd5 {
                meticulous,
                key_id,
                sequence,
                digest,
            })
        ),
        (any::<bool>(), any::<u8>(), any::<u32>(), any::<[u8; 20]>()).prop_map(
            |(meticulous, key_id, sequence, hash)| Some(Auth::KeyedSha1 {
                meticulous,
                key_id,
                sequence,
                hash,
            })
        ),
    ]
}

prop_compose! {
    fn repr()(
        diag in 0u8..32,
        state in state(),
        flags in any::<[bool; 4]>(),
        detect_mult in 1u8..=255,
        my in 1u32..,
        your in any::<u32>(),
        tx in any::<u32>(),
        rx in any::<u32>(),
        echo in any::<u32>(),
        auth in auth_section(),
    ) -> Repr {
        let your = if your == 0 && matches!(state, State::Init | State::Up) { 1 } else { your };
        Repr {
            diagnostic: Diagnostic::from(diag),
            state,
            poll: flags[0],
            final_: flags[1],
            control_plane_independent: flags[2],
            demand: flags[3],
            detect_mult,
            my_discriminator: my,
            your_discriminator: your,
            desired_min_tx: tx,
            required_min_rx: rx,
            required_min_echo_rx: echo,
            auth,
        }
    }
}

proptest! {
    #[test]
    fn emit_then_parse_is_identity(r in repr()) {
        let (buf, len) = r.to_bytes();
        prop_assert_eq!(len, r.buffer_len());
        prop_assert_eq!(usize::from(buf[3]), len);
        prop_assert_eq!(Repr::parse_bytes(&buf[..len]).unwrap(), r);
    }

    #[test]
    fn signed_packets_verify_and_a_flipped_bit_does_not(
        r in repr(),
        key in proptest::collection::vec(any::<u8>(), 1..=16),
        bit in 0usize..(24 * 8),
    ) {
        let (mut buf, len) = r.to_bytes();
        auth::sign(&mut buf[..len], &key).unwrap();
        match r.auth {
            Some(Auth::KeyedMd5 { .. } | Auth::KeyedSha1 { .. }) => {
                prop_assert!(auth::verify(&buf[..len], &key).is_ok());
                let mut bad = buf;
                bad[bit / 8] ^= 1 << (bit % 8);
                // Either the flip breaks a discard rule or the digest check catches it.
                prop_assert!(auth::verify(&bad[..len], &key).is_err());
            }
            Some(Auth::SimplePassword { password, .. }) => {
                prop_assert_eq!(auth::verify(&buf[..len], &key).is_ok(), password.as_bytes() == key);
            }
            None => prop_assert!(auth::verify(&buf[..len], &key).is_err()),
        }
    }

    #[test]
    fn arbitrary_octets_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
        lb_bfd::fuzzing::packet(&bytes);
        if let Ok(p) = Packet::new_checked(&bytes[..]) {
            let _ = p.auth_data();
        }
    }

    #[test]
    fn arbitrary_session_scripts_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        lb_bfd::fuzzing::session(&bytes);
    }
}

fn corpus_files(target: &str) -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut files = Vec::new();
    for dir in [format!("corpus/{target}"), format!("regressions/{target}")] {
        if let Ok(entries) = std::fs::read_dir(root.join(dir)) {
            files.extend(
                entries
                    .filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.is_file()),
            );
        }
    }
    files.sort();
    files
}

#[test]
fn fuzz_corpora_replay() {
    for target in lb_bfd::fuzzing::TARGETS {
        let files = corpus_files(target.name);
        assert!(!files.is_empty(), "the {} corpus is missing", target.name);
        for f in files {
            (target.run)(&std::fs::read(&f).unwrap());
        }
    }
}
