//! Fuzzes the config loader (`keyseed.yaml`): no panic on any input, and an accepted config
//! is accepted again (loading is deterministic).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let first = keyseed::testkit::parse_config(text);
    assert_eq!(first.is_ok(), keyseed::testkit::parse_config(text).is_ok());
});
