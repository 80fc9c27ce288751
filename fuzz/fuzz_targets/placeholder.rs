//! Fuzzes the placeholder grammar: parsing never panics, and a parsed placeholder's canonical
//! format parses back to the same format.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(p) = keyseed::testkit::parse(text) {
        let again = keyseed::testkit::parse_spec(&p.format.canonical()).expect("canonical parses");
        assert_eq!(again.format, p.format);
    }
    let _ = keyseed::testkit::parse_spec(text);
});
