//! The one error type of the crate.

use std::path::PathBuf;

/// Why a fleet or device operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A stored file does not hold what it should.
    #[error("{path}: {message}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A key file can be read by other users.
    #[error("{path}: key file has mode {mode:o}; it must be readable by its owner only (0600)")]
    InsecureKeyFile {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// `Fleet::create` found a fleet already there.
    #[error("{0}: a fleet already exists here")]
    AlreadyExists(PathBuf),
    /// The device signs an ownership statement only after its pairing button is pressed.
    #[error(
        "device {0}: press the pairing button on the unit first (it signs within two minutes of a press)"
    )]
    ButtonNotPressed(String),
    /// No device (or unit) with this id or handle.
    #[error("unknown device {0}")]
    UnknownDevice(String),
    /// The device never sealed a reading with this counter.
    #[error("device {device} has no sealed reading with counter {counter}")]
    UnknownCounter {
        /// The device.
        device: String,
        /// The counter asked for.
        counter: u64,
    },
    /// An argument (spec, scenario, URL, hex field, ...) is not acceptable.
    #[error("invalid {what}: {message}")]
    Invalid {
        /// Which argument.
        what: &'static str,
        /// Why.
        message: String,
    },
    /// The wire protocol refused to encode or sign something.
    #[error("protocol: {0}")]
    Protocol(#[from] witness_protocol::Error),
    /// The HTTP client could not be built.
    #[error("http client: {0}")]
    Http(String),
    /// The operating system's random source failed.
    #[error("randomness: {0}")]
    Randomness(String),
    /// A background task panicked or was cancelled.
    #[error("background task failed: {0}")]
    Task(String),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, message: impl std::fmt::Display) -> Self {
        Self::Corrupt {
            path: path.into(),
            message: message.to_string(),
        }
    }

    pub(crate) fn invalid(what: &'static str, message: impl std::fmt::Display) -> Self {
        Self::Invalid {
            what,
            message: message.to_string(),
        }
    }

    /// A stable machine-readable code (used in the local link's JSON errors).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Io { .. } => "io",
            Self::Corrupt { .. } => "corrupt_state",
            Self::InsecureKeyFile { .. } => "insecure_key_file",
            Self::AlreadyExists(_) => "already_exists",
            Self::UnknownDevice(_) => "unknown_device",
            Self::ButtonNotPressed(_) => "press_button",
            Self::UnknownCounter { .. } => "unknown_counter",
            Self::Invalid { .. } => "invalid_argument",
            Self::Protocol(e) => e.code(),
            Self::Http(_) => "http",
            Self::Randomness(_) => "randomness",
            Self::Task(_) => "task_failed",
        }
    }
}

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
