//! The one DER and PEM writer: minimal DER (tag, length, content), positive INTEGERs,
//! SEQUENCEs, and PEM with LF line ends and 64-column base64. Keys and certificates keyseed
//! writes go through it, so their bytes never depend on another crate's encoder.

use base64::Engine as _;

/// DER: tag, length, content.
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|&b| b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// DER INTEGER of an unsigned big-endian number.
pub fn der_uint(be: &[u8]) -> Vec<u8> {
    let mut v: Vec<u8> = be.iter().copied().skip_while(|&b| b == 0).collect();
    if v.is_empty() || v[0] & 0x80 != 0 {
        v.insert(0, 0);
    }
    tlv(0x02, &v)
}

pub fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

/// PEM with LF line ends and 64-column base64.
pub fn pem(label: &str, der: &[u8]) -> String {
    let b = base64::engine::general_purpose::STANDARD.encode(der);
    let mut s = format!("-----BEGIN {label}-----\n");
    for chunk in b.as_bytes().chunks(64) {
        s.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        s.push('\n');
    }
    s.push_str(&format!("-----END {label}-----\n"));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_integers_are_minimal_and_positive() {
        assert_eq!(der_uint(&[0]), vec![2, 1, 0]);
        assert_eq!(der_uint(&[0x80]), vec![2, 2, 0, 0x80]);
        assert_eq!(der_uint(&[0, 0, 5]), vec![2, 1, 5]);
        assert_eq!(tlv(4, &[0; 200])[..3], [4, 0x81, 200]);
    }

    #[test]
    fn pem_is_lf_and_64_columns() {
        let p = pem("X", &[0u8; 60]);
        assert!(p.starts_with("-----BEGIN X-----\n"));
        assert!(p.lines().all(|l| l.len() <= 64));
        assert!(!p.contains('\r'));
    }
}
