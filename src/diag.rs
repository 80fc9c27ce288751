//! Diagnostics every layer shares: where something is in the manifest stream ([`Location`]),
//! and one problem found there ([`Finding`], an error or a warning).
//!
//! A finding names the document, resource and field, never a secret value. Findings are
//! collected by the stages that find them and rendered once, by the application layer.

use std::fmt;

/// Where in the manifest stream something is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// Document number in the stream, from 1.
    pub document: usize,
    /// Helm 3 `# Source:` file or Helm 4 filename annotation, when known.
    pub source: Option<String>,
    /// Path of a List/ResourceList item (`.items[3]`), when the resource is one.
    pub item: Option<String>,
    /// `kind` of the resource.
    pub kind: Option<String>,
    /// `metadata.namespace`, when set.
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: Option<String>,
}

impl Location {
    /// The location of a whole document, before anything about its resource is known.
    pub fn document(number: usize) -> Self {
        Location {
            document: number,
            ..Location::default()
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "document {}", self.document)?;
        if let Some(item) = &self.item {
            write!(f, " {item}")?;
        }
        let kind = self.kind.as_deref().unwrap_or("resource");
        let what = match (&self.kind, &self.namespace, &self.name) {
            (_, Some(ns), Some(n)) => Some(format!("{kind} {ns}/{n}")),
            (_, None, Some(n)) => Some(format!("{kind} {n}")),
            (Some(k), _, None) => Some(format!("{k} without a name")),
            (None, _, None) => None,
        };
        match (what, &self.source) {
            (Some(w), Some(s)) => write!(f, " ({w}, from {s})"),
            (Some(w), None) => write!(f, " ({w})"),
            (None, Some(s)) => write!(f, " (from {s})"),
            (None, None) => Ok(()),
        }
    }
}

/// Whether a finding fails the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Fails the run (after every finding was collected).
    Error,
    /// Printed on stderr; the run goes on.
    Warning,
}

/// One problem. All findings are collected, then keyseed fails once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// Where in the stream; `None` for findings about a file (the config, the lock, a
    /// certificate file), whose message names the file.
    pub location: Option<Location>,
    /// The field path, e.g. `.stringData.password` or `.data."tls.crt"` (may be empty).
    pub field: String,
    /// What is wrong (never a secret value).
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

impl Finding {
    /// An error at `location` and `field`.
    pub fn error(location: &Location, field: &str, message: String, hint: Option<String>) -> Self {
        Finding {
            severity: Severity::Error,
            location: Some(location.clone()),
            field: field.to_string(),
            message,
            hint,
        }
    }

    /// An error about a file rather than a document (its message names the file).
    pub fn about_file(message: String, hint: Option<String>) -> Self {
        Finding {
            severity: Severity::Error,
            location: None,
            field: String::new(),
            message,
            hint,
        }
    }

    /// A warning about the run rather than a document (its message names the file, if any).
    pub fn warning_about_file(message: String) -> Self {
        Finding {
            severity: Severity::Warning,
            ..Finding::about_file(message, None)
        }
    }

    /// Whether it fails the run.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.location, self.field.is_empty()) {
            (None, true) => write!(f, "{}", self.message),
            (None, false) => write!(f, "{}: {}", self.field, self.message),
            (Some(l), true) => write!(f, "{l}: {}", self.message),
            (Some(l), false) => write!(f, "{l} {}: {}", self.field, self.message),
        }
    }
}
