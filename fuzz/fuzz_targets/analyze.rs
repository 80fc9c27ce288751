//! Fuzzes what runs over final documents: rollout-annotation analysis and annotation edits
//! (every edit either parses or is refused), and TLS validation. No panic on any input.
#![no_main]

use keyseed::testkit::{analyze, check_tls, Context, Documents, RolloutSettings, SecretBytes, TlsOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut docs) = Documents::split(SecretBytes::new(data.to_vec())) else { return };
    let ctx = Context::default();
    let a = analyze(&docs, &ctx, &RolloutSettings::default());
    for (i, edits) in a.edits(Some(b"fuzz-key")) {
        let _ = docs.apply(i, edits);
    }
    let _ = check_tls(&docs, &ctx, &TlsOptions::at(1_798_761_600, None));
});
