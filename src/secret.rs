//! Purpose-named wrappers for secret material.
//!
//! Every type here zeroizes on drop (a mapped [`SecretInput`] is unmapped instead, which
//! takes its pages out of the process) and prints `[REDACTED]` for `Debug`. None implements
//! `Display`, `Clone`, `Serialize` or `PartialEq`: the bytes are reached only through
//! `expose()`, at the leaf where they are used, so a reviewer can grep for it.

use std::fmt;

use zeroize::{Zeroize, Zeroizing};

/// The 32 seed bytes decrypted from `keyseed.age`: the input keying material of every
/// derivation.
pub struct Seed(Zeroizing<[u8; 32]>);

impl Seed {
    /// Wraps 32 seed bytes.
    pub fn new(bytes: [u8; 32]) -> Self {
        Seed(Zeroizing::new(bytes))
    }

    /// The raw seed bytes. SECRET: only the KDF calls this.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Seed([REDACTED])")
    }
}

/// A value that will be written into a Secret: a derived key, a password, a static value.
pub struct SecretValue(Zeroizing<String>);

impl SecretValue {
    /// Wraps a secret string.
    pub fn new(s: String) -> Self {
        SecretValue(Zeroizing::new(s))
    }

    /// The secret text. SECRET: only the writer of Secret data calls this.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue([REDACTED])")
    }
}

/// A buffer of secret bytes (derived key material, a decrypted seed file, the output stream).
#[derive(Default)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Wraps a byte buffer.
    pub fn new(v: Vec<u8>) -> Self {
        SecretBytes(v)
    }

    /// A zeroed buffer of `len` bytes, allocated once at full size.
    pub fn zeroed(len: usize) -> Self {
        SecretBytes(vec![0u8; len])
    }

    /// The bytes. SECRET: callers use them at once and do not copy them out.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Mutable access for filling the buffer.
    pub fn expose_mut(&mut self) -> &mut Vec<u8> {
        &mut self.0
    }
}

/// Zeroizes the bytes and the spare capacity as slices: `zeroize`'s slice path is one
/// volatile fill, where its `Vec` path writes element by element (16 times slower on a
/// 3.4 MB stream, measured in issue #13).
impl Drop for SecretBytes {
    fn drop(&mut self) {
        self.0.as_mut_slice().zeroize();
        self.0.spare_capacity_mut().zeroize();
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes([REDACTED; {} bytes])", self.0.len())
    }
}

/// The manifest stream as read: in a heap buffer (zeroized like [`SecretBytes`]), or in a
/// private anonymous mapping made at full size with its pages populated at once (see
/// `app::read_stdin`). A mapping is not zeroized: dropping it unmaps it, so its pages leave
/// the process (no later allocation of this process can see them) and the kernel clears
/// them before it hands them to anyone; wiping 3.4 MB first cost 0.17 ms and protected
/// nothing more.
pub enum SecretInput {
    /// Read into the heap.
    Heap(SecretBytes),
    /// Read into a mapping: the first `usize` bytes are the input.
    Mapped(memmap2::MmapMut, usize),
}

impl SecretInput {
    /// The bytes. SECRET: callers use them at once and do not copy them out.
    pub fn expose(&self) -> &[u8] {
        match self {
            SecretInput::Heap(b) => b.expose(),
            SecretInput::Mapped(m, len) => &m[..*len],
        }
    }
}

impl From<SecretBytes> for SecretInput {
    fn from(b: SecretBytes) -> Self {
        SecretInput::Heap(b)
    }
}

impl fmt::Debug for SecretInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretInput([REDACTED; {} bytes])", self.expose().len())
    }
}

/// Secret text (the manifest stream, an edited document): checked to be UTF-8 once, so
/// reading a slice of it costs no second check. Zeroized on drop like [`SecretBytes`].
#[derive(Default)]
pub struct SecretText(String);

impl SecretText {
    /// The bytes as text, or where they stop being UTF-8 (the bytes are zeroized then).
    pub fn from_utf8(mut bytes: SecretBytes) -> Result<Self, std::str::Utf8Error> {
        String::from_utf8(std::mem::take(bytes.expose_mut()))
            .map(SecretText)
            .map_err(|e| {
                let why = e.utf8_error();
                drop(SecretBytes::new(e.into_bytes()));
                why
            })
    }

    /// Wraps secret text.
    pub fn new(s: String) -> Self {
        SecretText(s)
    }

    /// The text. SECRET: callers use it at once and do not copy it out.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The bytes go back into a [`SecretBytes`] (no copy), which zeroizes them as slices.
impl Drop for SecretText {
    fn drop(&mut self) {
        drop(SecretBytes::new(std::mem::take(&mut self.0).into_bytes()));
    }
}

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretText([REDACTED; {} bytes])", self.0.len())
    }
}

/// Zeroizes a `String` in place; used for temporaries that held secret text.
pub fn wipe(s: &mut String) {
    s.zeroize();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_does_not_output_secret_material() {
        let s = Seed::new([0x41; 32]);
        let v = SecretValue::new("hunter2-very-secret".into());
        let b = SecretBytes::new(b"topsecretbytes".to_vec());
        let out = format!("{s:?} {v:?} {b:?} {s:#?}");
        assert!(!out.contains("AAAA"), "{out}");
        assert!(!out.contains("65"), "{out}");
        assert!(!out.contains("hunter2"), "{out}");
        assert!(!out.contains("topsecret"), "{out}");
        assert!(out.contains("REDACTED"));
    }
}
