//! Writes the protocol test vectors to stdout, or to the path given as the first argument.

use std::process::ExitCode;

fn main() -> ExitCode {
    let text = match witness_protocol::vectors::generate_pretty() {
        Ok(text) => text,
        Err(error) => {
            eprintln!("generating vectors failed: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = match std::env::args().nth(1) {
        Some(path) => std::fs::write(&path, text),
        None => std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("writing vectors failed: {error}");
            ExitCode::FAILURE
        }
    }
}
