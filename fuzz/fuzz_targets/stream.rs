//! Fuzzes the stream splitter, the spanned YAML parser and the placeholder planner: no
//! panic, and splitting is byte-exact, on any input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let ranges = keyseed::testkit::split(data);
    let mut joined = Vec::with_capacity(data.len());
    for r in &ranges {
        joined.extend_from_slice(&data[r.clone()]);
    }
    assert_eq!(joined, data, "split must be byte-exact");
    let Ok(text) = std::str::from_utf8(data) else { return };
    for (i, r) in ranges.into_iter().enumerate() {
        let doc = &text[r];
        if let Ok(roots) = keyseed::testkit::parse_yaml(doc) {
            let ctx = keyseed::testkit::Context::default();
            let (injections, _findings) = keyseed::testkit::plan_document(i + 1, doc, &roots, &ctx);
            for inj in injections {
                assert!(inj.range.start <= inj.range.end && inj.range.end <= doc.len());
                assert!(doc.is_char_boundary(inj.range.start) && doc.is_char_boundary(inj.range.end));
            }
        }
    }
});
