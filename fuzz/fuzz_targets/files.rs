//! Fuzzes the formats of the files keyseed keeps for a team: the recipients file (every line
//! either parses as one recipient or is refused; none holds a control character) and the
//! seed file's plaintext (`keyseed: 1`, `seed`, `values`): what parses writes back to text
//! that parses to the same seed and values. No panic on any input.
#![no_main]

use keyseed::testkit::{parse_recipient, parse_recipients_text, SecretBytes, SeedFile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        for r in parse_recipients_text(text) {
            if parse_recipient(&r).is_ok() {
                assert!(!r.chars().any(char::is_control));
            }
        }
    }
    let plain = SecretBytes::new(data.to_vec());
    if let Ok(seed) = SeedFile::parse(&plain, std::path::Path::new("fuzz")) {
        // Written for a recipient set, the plaintext records its digest; it parses back.
        let recipients = ["age1fuzz".to_string()];
        let again = SeedFile::parse(&seed.to_plaintext(&recipients), std::path::Path::new("fuzz"))
            .expect("written plaintext parses");
        assert!(again.recipients.as_deref().is_some_and(|d| d.starts_with("sha256:")));
        assert_eq!(again.seed.expose(), seed.seed.expose());
        assert_eq!(again.values.len(), seed.values.len());
        for (k, v) in &seed.values {
            assert_eq!(again.values[k].expose(), v.expose());
        }
    }
});
