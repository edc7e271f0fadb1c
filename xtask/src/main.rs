//! `cargo xtask`: the maintainer's commands for the spec and generated client.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use xtask::{Error, Layout, import, lint, regen};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "Import, check and review the Conversation API spec and its generated client"
)]
struct Cli {
    /// Directory holding openapi/ and generated/ [default: the workspace root]
    #[arg(long, global = true, value_name = "DIR")]
    root: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Import UltraCart's whole upstream spec and report what changed
    ///
    /// Reads an OpenAPI 3.0 document (JSON or YAML), keeps the seven
    /// conversation operations and what they use, applies
    /// openapi/overlay.json, checks the result (lint-spec, code generation),
    /// then writes openapi/conversation.json and generated/conversation_api.rs.
    /// A failing input writes nothing.
    Import {
        /// The upstream document (e.g. UltraCart's whole REST API spec)
        file: PathBuf,
    },
    /// Write generated/conversation_api.rs, the reviewable generated client
    ///
    /// Runs the same generation as build.rs (codegen/generate.rs) on
    /// openapi/conversation.json.
    Generate {
        /// Only check that generated/conversation_api.rs is current; fail if not
        #[arg(long)]
        check: bool,
    },
    /// Check openapi/conversation.json and list every problem
    ///
    /// Every $ref resolves; every operation has an operationId, a security
    /// requirement, a success response and the error responses 400, 401,
    /// 410, 429 and 500; no component is unused; date-times are plain.
    LintSpec,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let layout = cli.root.map_or_else(Layout::workspace, Layout::new);
    match run(cli.command, &layout) {
        Ok(message) => {
            print!("{message}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command, layout: &Layout) -> Result<String, Error> {
    match command {
        Command::Import { file } => import::import(&file, layout).map(|report| report.to_string()),
        Command::Generate { check: true } => {
            regen::check(layout)?;
            Ok(format!(
                "{} is up to date.\n",
                layout.display(&layout.generated())
            ))
        }
        Command::Generate { check: false } => {
            let shown = layout.display(&layout.generated());
            Ok(match regen::generate(layout)? {
                regen::Written::Changed => {
                    format!(
                        "Wrote {shown}, the httpmock helpers and the operation table beside it.\n"
                    )
                }
                regen::Written::Unchanged => format!("{shown} is already up to date.\n"),
            })
        }
        Command::LintSpec => {
            lint::check_spec(layout)?;
            Ok(format!(
                "{} passes lint-spec.\n",
                layout.display(&layout.spec())
            ))
        }
    }
}
