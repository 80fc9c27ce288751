//! File writes that never leave a broken file behind: create-new for files keyseed makes,
//! temp file + fsync + rename for files it replaces (the seed, recipients, the lock). The
//! one place keyseed writes files other than the error file.

use std::io::Write;
use std::path::{Path, PathBuf};

/// A file keyseed cannot write.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    /// keyseed never overwrites a file it would create.
    #[error("`{}` already exists; keyseed never overwrites it", .0.display())]
    Exists(PathBuf),
    /// Writing failed.
    #[error("failed to write `{}`", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Replaces `path` atomically: writes a temp file in the same directory, syncs it, renames
/// it over `path`, then syncs the directory. An interrupted write leaves the old file intact.
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> Result<(), FsError> {
    let err = |source| FsError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.keyseed-tmp-{}", std::process::id()));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let result = (|| {
        let mut f = opts.open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(err)
}

/// Creates `path` exclusively (never overwrites) with `mode`, writes `data`, syncs.
pub fn write_new(path: &Path, data: &[u8], mode: u32) -> Result<(), FsError> {
    let err = |source| FsError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(err)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = opts.open(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            FsError::Exists(path.to_path_buf())
        } else {
            err(source)
        }
    })?;
    f.write_all(data).and_then(|_| f.sync_all()).map_err(err)
}
