//! Running `witness` in tests, in the style of ripgrep's `tests/util.rs`: build the command,
//! then ask for what the test needs; every failure shows the command line and its stderr.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

/// A `witness` invocation being built.
pub struct Witness {
    cmd: Command,
    line: Vec<String>,
}

/// `witness` with no arguments yet.
pub fn witness() -> Witness {
    Witness {
        cmd: Command::new(env!("CARGO_BIN_EXE_witness")),
        line: vec!["witness".into()],
    }
}

impl Witness {
    /// One more argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Self {
        self.line.push(arg.as_ref().to_string_lossy().into_owned());
        self.cmd.arg(arg);
        self
    }

    /// More arguments.
    pub fn args<S: AsRef<OsStr>>(&mut self, args: impl IntoIterator<Item = S>) -> &mut Self {
        for arg in args {
            self.arg(arg);
        }
        self
    }

    /// `--data-dir DIR`.
    pub fn data_dir(&mut self, dir: &Path) -> &mut Self {
        self.arg("--data-dir").arg(dir)
    }

    /// Starts it as a long-running process with its stdout piped (for a ready line) and its
    /// stderr shown with the test's.
    pub fn spawn(&mut self) -> Child {
        self.cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", self.line.join(" ")))
    }

    /// Runs it.
    pub fn output(&mut self) -> Output {
        self.cmd
            .output()
            .unwrap_or_else(|e| panic!("{}: {e}", self.line.join(" ")))
    }

    /// Runs it, asserts it succeeded, returns its stdout.
    pub fn stdout(&mut self) -> String {
        let output = self.output();
        assert!(
            output.status.success(),
            "{} failed: {}",
            self.line.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Runs it, asserts it failed, returns its stdout and stderr.
    pub fn fails(&mut self) -> (String, String) {
        let output = self.output();
        assert!(
            !output.status.success(),
            "{} succeeded: {}",
            self.line.join(" "),
            String::from_utf8_lossy(&output.stdout)
        );
        (
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// Runs it and parses its stdout as JSON: whether it succeeded, and the JSON.
    pub fn json(&mut self) -> (bool, Value) {
        let output = self.output();
        let value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "{}: stdout is not JSON ({e}): {}",
                self.line.join(" "),
                String::from_utf8_lossy(&output.stderr)
            )
        });
        (output.status.success(), value)
    }
}
