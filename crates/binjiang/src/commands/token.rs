//! `binjiang token add`: issue an access token for the live service.

use binjiang_live::auth::{add_token, Role};
use binjiang_scene::Agency;
use std::path::PathBuf;
use std::process::ExitCode;

/// Token commands.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Create a token; it is printed once, as the last word of the output (only its hash is kept).
    Add {
        /// The service's database.
        #[arg(long, default_value = "binjiang.db")]
        db: PathBuf,
        /// admin, operator, display or gateway.
        #[arg(long)]
        role: String,
        /// For an operator of one agency: the agency's key.
        #[arg(long)]
        agency: Option<String>,
        /// Who (a person or a gateway): shown in the audit trail.
        #[arg(long)]
        name: String,
    },
}

/// Runs the command.
pub fn run(command: &Command) -> anyhow::Result<ExitCode> {
    let Command::Add {
        db,
        role,
        agency,
        name,
    } = command;
    let Some(role) = Role::parse(role) else {
        bail_usage!("--role {role}: expected admin, operator, display or gateway");
    };
    let agency = match agency.as_deref() {
        None => None,
        Some(a) if role == Role::Operator => Some(Agency::parse(a).ok_or_else(|| {
            crate::failure::usage(format!(
                "--agency {a}: expected one of {}",
                Agency::expected()
            ))
        })?),
        Some(_) => bail_usage!("--agency is for operators only"),
    };
    if name.trim().is_empty() {
        bail_usage!("--name must say who the token is for");
    }
    let conn = binjiang_live::store::open(db)?;
    let token = add_token(&conn, role, agency, name)?;
    println!(
        "{} token for {name}{} (shown once; keep it secret): {token}",
        role.key(),
        agency.map(|a| format!(" of {a}")).unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}
