//! Fuzzes what runs over final documents: rollout-annotation analysis and annotation edits
//! (every edit either parses or is refused), and TLS validation. No panic on any input.
//! Differential: `render`'s analysis (workloads pre-filtered by the names of the stream's
//! objects) must produce exactly the edits of `plan`'s (every workload parsed).
#![no_main]

use keyseed::testkit::{
    analyze, check_tls, Context, Documents, Report, RolloutSettings, SecretBytes, TlsOptions,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut docs) = Documents::split(SecretBytes::new(data.to_vec())) else { return };
    let ctx = Context::default();
    let key = Some(b"fuzz-key".as_slice());
    let settings = RolloutSettings::default();
    let every = analyze(&docs, &ctx, &settings, Report::Every);
    let annotated = analyze(&docs, &ctx, &settings, Report::Annotated);
    let flat = |a: &keyseed::testkit::Analysis| -> Vec<(usize, std::ops::Range<usize>, String)> {
        a.edits(&a.digests(key))
            .into_iter()
            .flat_map(|(i, es)| es.into_iter().map(move |e| (i, e.range.clone(), e.text.expose().to_string())))
            .collect()
    };
    assert_eq!(flat(&every), flat(&annotated), "the name pre-filter missed a reference");
    for (i, edits) in every.edits(&every.digests(key)) {
        let _ = docs.apply(i, edits);
    }
    let _ = check_tls(&docs, &ctx, &TlsOptions::at(1_798_761_600, None));
});
