use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

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
    Serve(ServeConfig),
}

fn print_banner(addr: std::net::SocketAddr, creds: &AppCredentials, generated: bool) {
    let origin = format!("http://{addr}");
    let note = if generated { " (generated now and stored in the data dir)" } else { "" };
    #[allow(clippy::print_stdout)]
    {
        println!("Tributary is listening on {origin}");
        println!("API key: {}  API secret: {}{note}", creds.api_key, creds.api_secret);
        println!();
        println!("Python SDK:");
        println!("    from getstream import Stream");
        println!(
            "    client = Stream(api_key=\"{}\", api_secret=\"{}\", base_url=\"{origin}\")",
            creds.api_key, creds.api_secret
        );
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,tower_http=info")))
        .init();
    let Command::Serve(config) = Cli::parse().command;

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
    match tributary::serve(config, listener, shutdown, |creds, generated| print_banner(addr, creds, generated)).await {
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
