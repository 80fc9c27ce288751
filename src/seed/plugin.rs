//! Where an age plugin would run from. The age crate finds `age-plugin-NAME` on `PATH` the
//! way a shell does, so an empty `PATH` element (`PATH=:/usr/bin`, `/usr/bin::/bin`), `.` or
//! any other relative element makes it run a program from the working directory: a
//! repository's committed `./age-plugin-evil`, named by a recipient `age1evil1…` in
//! `keyseed.recipients`. Go age refuses a plugin that resolves to the current directory; so
//! does keyseed, before the age crate looks the plugin up.

use std::path::{Path, PathBuf};

/// The relative `PATH` element (`""` for an empty one) that `age-plugin-NAME` would be run
/// from, when the first `PATH` directory holding an executable of that name is relative:
/// such a plugin must not run. `None` when it resolves in an absolute directory, or not at
/// all (the age crate then says it is missing).
pub fn relative_location(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let binary = format!("age-plugin-{name}");
    let cwd = std::env::current_dir().ok();
    for dir in std::env::split_paths(&path) {
        let candidate = if dir.is_absolute() {
            dir.join(&binary)
        } else {
            match &cwd {
                Some(cwd) => cwd.join(&dir).join(&binary),
                None => dir.join(&binary),
            }
        };
        if is_executable(&candidate) {
            return (!dir.is_absolute()).then_some(dir);
        }
    }
    None
}

/// What the `which` crate (which age uses) accepts: a regular file (after links), executable.
fn is_executable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

/// How a relative `PATH` element is named in messages.
pub fn describe(dir: &Path) -> String {
    if dir.as_os_str().is_empty() {
        "an empty PATH element (the working directory)".into()
    } else {
        format!("the relative PATH element `{}`", dir.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_relative_elements_are_named() {
        assert!(describe(Path::new("")).contains("empty"));
        assert!(describe(Path::new(".")).contains("`.`"));
    }
}
