//! Fuzzes what runs over final documents: rollout-annotation analysis and annotation edits,
//! and TLS validation. No panic on any input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let ranges = keyseed::stream::split(data);
    let texts: Vec<&[u8]> = ranges.iter().map(|r| &data[r.clone()]).collect();
    let ctx = keyseed::inject::PlanContext::default();
    let settings = keyseed::rollme::RollmeSettings::default();
    let a = keyseed::rollme::analyze(&texts, &ctx, &settings);
    let _ = a.annotate(&texts, Some(b"fuzz-key"));
    let opts = keyseed::tls::TlsOptions::new(Some("2027-01-01T00:00:00Z"), None).unwrap();
    let _ = keyseed::validate::validate(&texts, &ctx, &opts);
});
