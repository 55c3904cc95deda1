//! `binjiang token add|list|revoke`: the live service's access tokens.

use binjiang_live::auth::{add_token, list_tokens, revoke_tokens, Role};
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
    /// List every token: name, role, agency, created, revoked (never the secret).
    List {
        /// The service's database.
        #[arg(long, default_value = "binjiang.db")]
        db: PathBuf,
        /// Print one JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke every token given to NAME; a running service refuses them within a second.
    Revoke {
        /// The service's database.
        #[arg(long, default_value = "binjiang.db")]
        db: PathBuf,
        /// Whose tokens.
        name: String,
    },
}

/// Runs the command.
pub fn run(command: &Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Add {
            db,
            role,
            agency,
            name,
        } => add(db, role, agency.as_deref(), name),
        Command::List { db, json } => list(db, *json),
        Command::Revoke { db, name } => revoke(db, name),
    }
}

/// A database that must already exist (listing or revoking never creates one).
fn existing(db: &std::path::Path) -> anyhow::Result<binjiang_live::store::Connection> {
    if !db.is_file() {
        return Err(anyhow::Error::from(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("no database at {}", db.display()),
        )));
    }
    Ok(binjiang_live::store::open(db)?)
}

fn list(db: &std::path::Path, json: bool) -> anyhow::Result<ExitCode> {
    let tokens = list_tokens(&existing(db)?)?;
    if json {
        println!("{}", serde_json::to_string(&tokens)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<24} {:<9} {:<20} {:<21} {:<21} hash",
        "name", "role", "agency", "created", "revoked"
    );
    for t in &tokens {
        println!(
            "{:<24} {:<9} {:<20} {:<21} {:<21} {}",
            t.name,
            t.role,
            t.agency.as_deref().unwrap_or("-"),
            t.created,
            t.revoked.as_deref().unwrap_or("-"),
            t.hash_prefix
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn revoke(db: &std::path::Path, name: &str) -> anyhow::Result<ExitCode> {
    let mut conn = existing(db)?;
    let n = revoke_tokens(&mut conn, name)?;
    if n == 0 {
        eprintln!(
            "binjiang: no live token named \"{name}\" in {}",
            db.display()
        );
        return Ok(ExitCode::from(super::INVALID));
    }
    println!("revoked {n} token(s) of {name}; a running service refuses them within a second");
    Ok(ExitCode::SUCCESS)
}

fn add(
    db: &std::path::Path,
    role: &str,
    agency: Option<&str>,
    name: &str,
) -> anyhow::Result<ExitCode> {
    let Some(role) = Role::parse(role) else {
        bail_usage!("--role {role}: expected admin, operator, display or gateway");
    };
    let agency = match agency {
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
