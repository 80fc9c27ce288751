//! Bounded reads of the files keyseed is pointed at (seed, identities, config, recipients,
//! lock, certificates): only regular files, never more than a cap. A FIFO or a device named
//! as a seed must fail at once, not hang or fill memory; the open is non-blocking so a FIFO
//! without a writer cannot stall it.

use std::io::{self, Read};
use std::path::Path;

/// The largest seed file keyseed reads (its values are at most 1 MiB each).
pub const MAX_SEED_FILE: u64 = 16 << 20;
/// The largest config, identity, recipients or plugin config file keyseed reads.
pub const MAX_SMALL_FILE: u64 = 4 << 20;
/// The largest lock or certificate file keyseed reads.
pub const MAX_DATA_FILE: u64 = 64 << 20;

/// Reads a regular file of at most `cap` bytes. Anything else is an `io::Error` saying why
/// (`InvalidInput` for a file that is not regular or too large).
pub fn read_regular(path: &Path, cap: u64) -> io::Result<Vec<u8>> {
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut opts, libc::O_NONBLOCK | libc::O_CLOEXEC);
    let f = opts.open(path)?;
    let meta = f.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file (a directory, FIFO, socket or device)",
        ));
    }
    if meta.len() > cap {
        return Err(too_large(cap));
    }
    let mut buf = Vec::with_capacity(meta.len() as usize);
    f.take(cap + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > cap {
        return Err(too_large(cap));
    }
    Ok(buf)
}

/// [`read_regular`] as UTF-8 text.
pub fn read_regular_text(path: &Path, cap: u64) -> io::Result<String> {
    String::from_utf8(read_regular(path, cap)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"))
}

fn too_large(cap: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("larger than {cap} bytes, the most keyseed reads from it"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_and_directories_are_refused_and_sizes_capped() {
        assert!(read_regular(Path::new("/dev/zero"), 10).is_err());
        assert!(read_regular(Path::new("/"), 10).is_err());
        let dir = std::env::temp_dir().join(format!("keyseed-io-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("f");
        std::fs::write(&f, b"0123456789").unwrap();
        assert_eq!(read_regular(&f, 10).unwrap(), b"0123456789");
        assert!(read_regular(&f, 9).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
