use std::path::PathBuf;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use tributary::config::file::{self, ConfigFile};
use tributary::config::{AppCredentials, ServeConfig};
use tributary::shutdown::Shutdown;

// A request allocates many small, short-lived buffers (rows, documents,
// JSON); under glibc's malloc they cost ~14% of add_activity's CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "tributary", version, about = "Self-hosted Stream Activity Feeds v3 server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API server.
    Serve(ServeArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// A TOML file of these options, keys named like the flags (`rate_limits = "app:*=1000/m"`); flags and environment variables win over it.
    #[arg(long, env = "TRIBUTARY_CONFIG")]
    config: Option<PathBuf>,
    #[command(flatten)]
    serve: ServeConfig,
}

/// The command line, environment and configuration file, merged; the
/// effective configuration is printed to stderr (secrets masked). Exits
/// with clap's usage error status on bad input.
fn parse_cli() -> ServeConfig {
    let first = Cli::command().get_matches();
    let config_path = first.subcommand_matches("serve").and_then(|m| m.get_one::<PathBuf>(file::CONFIG_ARG)).cloned();
    // `plain` keeps the flags in their `--help` order for the printout.
    let plain = Cli::command();
    let (command, config_file) = match config_path {
        None => (plain.clone(), None),
        Some(path) => {
            let serve = plain.find_subcommand("serve").expect("the serve subcommand");
            match ConfigFile::read(&path, serve) {
                Ok(config_file) => (plain.clone().mut_subcommand("serve", |s| config_file.apply(s)), Some(config_file)),
                Err(message) => {
                    eprintln!("error: {message}");
                    std::process::exit(2);
                }
            }
        }
    };
    let matches = command.get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    if let (Some(serve), Some(serve_matches)) = (plain.find_subcommand("serve"), matches.subcommand_matches("serve")) {
        eprint!("{}", file::describe(serve, serve_matches, config_file.as_ref()));
    }
    let Command::Serve(args) = cli.command;
    args.serve
}

/// The address and credentials to start with. A secret the operator gave
/// (flag, environment, configuration file) is not echoed to stdout, which
/// often ends up in logs; a generated or stored one is, as that is how the
/// operator learns it.
fn print_banner(addr: std::net::SocketAddr, creds: &AppCredentials, generated: bool, secret_given: bool) {
    let origin = format!("http://{addr}");
    let note = if generated { " (generated now and stored in the data dir)" } else { "" };
    let secret = if secret_given { "<as configured>" } else { creds.api_secret.as_str() };
    #[allow(clippy::print_stdout)]
    {
        println!("Tributary is listening on {origin}");
        println!("API key: {}  API secret: {secret}{note}", creds.api_key);
        println!();
        println!("Python SDK:");
        println!("    from getstream import Stream");
        println!("    client = Stream(api_key=\"{}\", api_secret=\"{secret}\", base_url=\"{origin}\")", creds.api_key);
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,tower_http=info")))
        .init();
    let config = parse_cli();

    let listener = match tokio::net::TcpListener::bind(config.addr).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(addr = %config.addr, error = %e, "cannot listen");
            return std::process::ExitCode::FAILURE;
        }
    };
    let addr = listener.local_addr().unwrap_or(config.addr);
    let shutdown = Shutdown::default();
    tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            wait_for_signal().await;
            tracing::info!("shutting down");
            shutdown.trigger();
        }
    });
    let secret_given = config.api_secret.as_deref().is_some_and(|s| !s.is_empty());
    match tributary::serve(config, listener, shutdown, |creds, generated| {
        print_banner(addr, creds, generated, secret_given)
    })
    .await
    {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "server stopped with an error");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
