//! File writes that never leave a broken file behind, never write through a planted link,
//! and never lose a concurrent writer's change. The one place keyseed writes files other
//! than the error file.
//!
//! - Files keyseed creates (`init`) are staged as temp files and then linked into place with
//!   no-clobber: all of them or none.
//! - Files it replaces (seed, recipients, lock) get a fresh temp file (`O_EXCL`, random name,
//!   removed on error) in the same directory, fsync, rename, directory fsync. A path that is
//!   a symbolic link is refused rather than replaced by a regular file.
//! - Read-modify-write of the seed and recipients holds an exclusive lock on their directory
//!   ([`DirLock`]), so concurrent `values set` or `recipients` commands serialise.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A file keyseed cannot write.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    /// keyseed never overwrites a file it would create.
    #[error("`{}` already exists; keyseed never overwrites it", .0.display())]
    Exists(PathBuf),
    /// keyseed replaces files atomically and will not replace a link by a regular file.
    #[error("`{}` is a symbolic link; keyseed will not replace it", .0.display())]
    Symlink(PathBuf),
    /// Writing failed.
    #[error("failed to write `{}`", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file keyseed wrote does not read back as written.
    #[error("`{}` does not read back as written; the old file was kept", .0.display())]
    ReadBack(PathBuf),
    /// A file keyseed would replace is a directory, a device or another non-regular file.
    #[error("`{}` is not a regular file; keyseed will not replace it", .0.display())]
    NotRegular(PathBuf),
}

impl FsError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            FsError::Symlink(p) | FsError::NotRegular(p) => Some(format!(
                "replace `{}` by a regular file (e.g. a copy of what the link points to); nothing was written",
                p.display()
            )),
            FsError::Exists(_) => Some("move the file away, or use it as it is".into()),
            FsError::Write { .. } => {
                Some("check that the directory exists and is writable".into())
            }
            FsError::ReadBack(_) => None,
        }
    }
}

fn dir_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// A temp file next to `path`, written, with `mode`, synced.
fn staged(path: &Path, data: &[u8], mode: u32) -> Result<tempfile::NamedTempFile, FsError> {
    let err = |source| FsError::Write {
        path: path.to_path_buf(),
        source,
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".keyseed-tmp")
        .tempfile_in(dir_of(path))
        .map_err(err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(err)?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    tmp.write_all(data).map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    Ok(tmp)
}

fn sync_dir(path: &Path) {
    if let Ok(d) = File::open(dir_of(path)) {
        let _ = d.sync_all();
    }
}

/// Replaces `path` atomically (see the module doc). An interrupted write leaves the old file
/// intact; a symbolic link at `path` is refused.
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> Result<(), FsError> {
    replaceable(path)?;
    let tmp = staged(path, data, mode)?;
    persist(tmp, path)
}

/// Renames a staged temp file over `path` and syncs the directory.
fn persist(tmp: tempfile::NamedTempFile, path: &Path) -> Result<(), FsError> {
    tmp.persist(path).map_err(|e| FsError::Write {
        path: path.to_path_buf(),
        source: e.error,
    })?;
    sync_dir(path);
    Ok(())
}

/// A file [`write_atomic`] may replace: absent, or a regular file (not a link to one).
fn replaceable(path: &Path) -> Result<(), FsError> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(FsError::Symlink(path.to_path_buf())),
        Ok(m) if !m.is_file() => Err(FsError::NotRegular(path.to_path_buf())),
        _ => Ok(()),
    }
}

/// Replaces every `(path, data, mode)` as [`write_atomic`] does, in order, after checking all
/// of them: every path is absent or a regular file, and every temp file is written and
/// synced before the first rename. So a link, a directory, a read-only directory or a full
/// disk at any of the paths writes none of them (only a failing rename, after the checks,
/// can leave the earlier files replaced).
pub fn replace_all(files: &[(&Path, &[u8], u32)]) -> Result<(), FsError> {
    for (path, _, _) in files {
        replaceable(path)?;
    }
    let mut staged_files = Vec::with_capacity(files.len());
    for (path, data, mode) in files {
        staged_files.push((*path, staged(path, data, *mode)?));
    }
    for (path, tmp) in staged_files {
        replaceable(path)?;
        persist(tmp, path)?;
    }
    Ok(())
}

/// Creates every `(path, data, mode)` exclusively, or none of them: each is staged first,
/// then linked into place without clobbering; on any failure the ones already placed are
/// removed.
pub fn create_all(files: &[(&Path, &[u8], u32)]) -> Result<(), FsError> {
    let mut staged_files = Vec::with_capacity(files.len());
    for (path, data, mode) in files {
        if std::fs::symlink_metadata(path).is_ok() {
            return Err(FsError::Exists(path.to_path_buf()));
        }
        std::fs::create_dir_all(dir_of(path)).map_err(|source| FsError::Write {
            path: path.to_path_buf(),
            source,
        })?;
        staged_files.push((*path, staged(path, data, *mode)?));
    }
    let mut placed: Vec<&Path> = Vec::new();
    for (path, tmp) in staged_files {
        if let Err(e) = tmp.persist_noclobber(path) {
            for p in placed {
                let _ = std::fs::remove_file(p);
            }
            return Err(if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                FsError::Exists(path.to_path_buf())
            } else {
                FsError::Write {
                    path: path.to_path_buf(),
                    source: e.error,
                }
            });
        }
        sync_dir(path);
        placed.push(path);
    }
    Ok(())
}

/// An exclusive lock on a directory, held until dropped. Every read-modify-write of the seed
/// file and the recipients file holds it.
#[derive(Debug)]
pub struct DirLock {
    _dir: File,
}

impl DirLock {
    /// Locks the directory of `path`, waiting for another keyseed that holds it.
    pub fn of(path: &Path) -> Result<DirLock, FsError> {
        let dir = dir_of(path);
        let err = |source| FsError::Write {
            path: dir.to_path_buf(),
            source,
        };
        let f = File::open(dir).map_err(err)?;
        f.lock().map_err(err)?;
        Ok(DirLock { _dir: f })
    }
}
