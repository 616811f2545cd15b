//! Durable files: atomic replacement (write, fsync, rename, fsync the directory), owner-only
//! permissions, the key file and the counter file.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead as _, BufReader, Write as _};
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;
use witness_protocol::SigningKey;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

#[cfg(unix)]
fn private_file_options(options: &mut OpenOptions) -> &mut OpenOptions {
    use std::os::unix::fs::OpenOptionsExt as _;
    options.mode(0o600)
}

#[cfg(not(unix))]
fn private_file_options(options: &mut OpenOptions) -> &mut OpenOptions {
    options
}

/// Creates `path` (and parents) readable by the owner only.
pub(crate) fn create_private_dir(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(path)
            .map_err(|e| Error::io(path, e))
    }
    #[cfg(not(unix))]
    {
        fs::create_dir_all(path).map_err(|e| Error::io(path, e))
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io(dir, e))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Replaces `path` with `bytes` atomically and durably; the file is mode 0600.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    {
        let mut file =
            private_file_options(OpenOptions::new().write(true).create(true).truncate(true))
                .open(&tmp)
                .map_err(|e| Error::io(&tmp, e))?;
        file.write_all(bytes).map_err(|e| Error::io(&tmp, e))?;
        file.sync_all().map_err(|e| Error::io(&tmp, e))?;
    }
    fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
    sync_dir(dir)
}

/// Writes `value` as pretty JSON, atomically.
pub(crate) fn write_json(path: &Path, value: &impl Serialize) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|e| Error::corrupt(path, e))?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

/// Reads a JSON file.
pub(crate) fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = fs::read(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::corrupt(path, e))
}

/// Appends one line and syncs it to disk.
pub(crate) fn append_line(path: &Path, line: &str) -> Result<()> {
    let mut file = private_file_options(OpenOptions::new().create(true).append(true))
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    let mut bytes = Vec::with_capacity(line.len() + 1);
    bytes.extend_from_slice(line.as_bytes());
    bytes.push(b'\n');
    file.write_all(&bytes).map_err(|e| Error::io(path, e))?;
    file.sync_data().map_err(|e| Error::io(path, e))
}

/// Reads a JSON-lines file; a missing file is empty; a torn last line (crash while
/// appending) is ignored.
pub(crate) fn read_json_lines<T: DeserializeOwned>(path: &Path) -> Result<Vec<T>> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(path, e)),
    };
    let lines: Vec<String> = BufReader::new(file)
        .lines()
        .collect::<std::io::Result<_>>()
        .map_err(|e| Error::io(path, e))?;
    let last = lines.len().saturating_sub(1);
    let mut out = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(line) {
            Ok(value) => out.push(value),
            Err(e) if i == last => {
                tracing::warn!(path = %path.display(), error = %e, "ignoring a torn last log line");
            }
            Err(e) => return Err(Error::corrupt(path, format!("line {}: {e}", i + 1))),
        }
    }
    Ok(out)
}

/// Stores a signing key (its 32-byte seed in hex), mode 0600.
pub(crate) fn write_key(path: &Path, key: &SigningKey) -> Result<()> {
    let text = Zeroizing::new(format!("{}\n", hex::encode(key.to_seed().as_ref())));
    write_atomic(path, text.as_bytes())
}

/// Loads a signing key; refuses a file other users can read.
pub(crate) fn read_key(path: &Path) -> Result<SigningKey> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = fs::metadata(path)
            .map_err(|e| Error::io(path, e))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(Error::InsecureKeyFile {
                path: path.to_path_buf(),
                mode: mode & 0o777,
            });
        }
    }
    let text = Zeroizing::new(fs::read_to_string(path).map_err(|e| Error::io(path, e))?);
    let mut seed = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(text.trim(), seed.as_mut())
        .map_err(|_| Error::corrupt(path, "expected 64 hex digits"))?;
    Ok(SigningKey::from_seed(&seed))
}

/// The persistent counter: the file holds the next unused counter. [`Self::reserve`] writes
/// the new value durably before handing out the range, so a crash can waste counters but
/// never reuse one.
#[derive(Debug)]
pub(crate) struct CounterFile {
    path: PathBuf,
    next: u64,
}

impl CounterFile {
    /// Creates the file with `next` as the first counter to use.
    pub(crate) fn create(path: PathBuf, next: u64) -> Result<Self> {
        write_atomic(&path, format!("{next}\n").as_bytes())?;
        Ok(Self { path, next })
    }

    pub(crate) fn load(path: PathBuf) -> Result<Self> {
        let text = fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let next = text
            .trim()
            .parse()
            .map_err(|_| Error::corrupt(&path, "expected a decimal counter"))?;
        Ok(Self { path, next })
    }

    /// The next counter that would be handed out.
    pub(crate) fn next(&self) -> u64 {
        self.next
    }

    /// Reserves `n` consecutive counters, durably, before anyone uses them.
    pub(crate) fn reserve(&mut self, n: u64) -> Result<Range<u64>> {
        let end = self
            .next
            .checked_add(n)
            .ok_or_else(|| Error::corrupt(&self.path, "counter space exhausted"))?;
        write_atomic(&self.path, format!("{end}\n").as_bytes())?;
        let range = self.next..end;
        self.next = end;
        Ok(range)
    }

    /// Moves the counter forward to at least `next` (never back).
    pub(crate) fn advance_to(&mut self, next: u64) -> Result<()> {
        if next > self.next {
            write_atomic(&self.path, format!("{next}\n").as_bytes())?;
            self.next = next;
        }
        Ok(())
    }
}
