//! How the examples end: success, or the error and its causes on one line
//! (never a struct dump) and a failing exit status.

use std::process::ExitCode;

use ultracart_conversation::Error;

pub fn exit_code(outcome: Result<(), Error>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", error.report());
            ExitCode::FAILURE
        }
    }
}
