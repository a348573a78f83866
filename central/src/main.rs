//! `central`: run the reference central service and administer it.

use std::io::BufRead as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "central", version, about = "Reference central service for kiosk terminals")]
struct Cli {
    /// Directory holding the database, CA and keys (created with defaults if missing).
    #[arg(long, global = true, default_value = "central-data")]
    data_dir: PathBuf,
    /// Keep the records in this PostgreSQL database (postgres://user@host/db) instead of
    /// the SQLite file in the data directory; several `central serve` may share it.
    #[arg(long, global = true)]
    database: Option<String>,
    /// Where published packages are kept (default: `releases` in the data directory);
    /// several instances must share it, like the data directory.
    #[arg(long, global = true)]
    releases_dir: Option<PathBuf>,
    /// The release key's public half (the base64 in release.pub): `release publish`
    /// then refuses a package whose signature does not verify.
    #[arg(long, global = true)]
    release_key: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API, /verify, /metrics and the /ops dashboard over HTTPS.
    Serve(Box<ServeArgs>),
    /// Print the bearer token `GET /metrics` needs (created on first use).
    MetricsToken,
    /// Create the face image key at PATH (mode 0600) unless it exists; give it to
    /// `serve --face-key PATH`.
    FaceKey { path: PathBuf },
    /// Enrollment tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Ops dashboard users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Check, without changing anything, that the database is reachable and at the
    /// schema version this binary expects, and that the keys are in the data directory;
    /// exits non-zero, naming each problem, if not.
    Check {
        /// The face image key, when kept outside the data directory (`serve --face-key`).
        #[arg(long)]
        face_key: Option<PathBuf>,
    },
    /// Enrolled devices.
    Device {
        #[command(subcommand)]
        command: DeviceCommand,
    },
    /// Software releases: the release key and signing (on the offline machine), and
    /// publishing a signed package to the fleet.
    Release {
        #[command(subcommand)]
        command: ReleaseCommand,
    },
    /// Rollouts: which terminals are offered a published version.
    Rollout {
        #[command(subcommand)]
        command: RolloutCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ReleaseCommand {
    /// OFFLINE MACHINE: create the release key: DIR/release.key (private, mode 0600,
    /// never leaves that machine) and DIR/release.pub (what terminals get as
    /// `[updates] release_key`). Refuses to overwrite either.
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
    /// OFFLINE MACHINE: sign PKG.deb, writing PKG.deb.release.json. Package, version and
    /// architecture are read with `dpkg-deb` unless all three are given.
    Sign {
        /// The private key from `release keygen`.
        #[arg(long)]
        key: PathBuf,
        deb: PathBuf,
        #[arg(long)]
        package: Option<String>,
        #[arg(long)]
        version: Option<String>,
        #[arg(long)]
        architecture: Option<String>,
    },
    /// Publish a signed package (checks it against its manifest, and the signature when
    /// --release-key is given) so rollouts can offer it.
    Publish {
        deb: PathBuf,
        /// The signed manifest written by `release sign`.
        manifest: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum RolloutCommand {
    /// Offer a published version to part of the fleet of one architecture; supersedes
    /// that architecture's current rollout.
    Start {
        version: String,
        #[arg(long)]
        architecture: String,
        /// This share of the terminals (1 to 100; raising it later keeps those chosen).
        #[arg(long, conflicts_with = "devices", required_unless_present = "devices")]
        percent: Option<i64>,
        /// Exactly these terminals (comma-separated device ids).
        #[arg(long, value_delimiter = ',')]
        devices: Option<Vec<String>>,
    },
    /// Raise a percentage rollout's share; the terminals chosen before stay chosen.
    Widen {
        id: i64,
        #[arg(long)]
        percent: i64,
    },
    /// Stop offering a rollout's version (terminals already updating finish).
    Pause { id: i64 },
    /// Offer a paused rollout's version again.
    Resume { id: i64 },
    /// Every rollout, newest first.
    List,
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    #[arg(long, default_value = "0.0.0.0:8443")]
    listen: String,
    /// Heartbeat interval handed to terminals, e.g. 30s.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    heartbeat_interval: Duration,
    /// Missed heartbeats before a terminal counts as offline.
    #[arg(long, default_value_t = 3)]
    offline_after_missed: u32,
    /// Outbox age that raises a backlog alert, e.g. 15m.
    #[arg(long, default_value = "15m", value_parser = parse_duration)]
    backlog_alert_age: Duration,
    /// How often offline terminals are looked for, e.g. 5s.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    sweep_interval: Duration,
    /// How often dashboard pages refresh, e.g. 5s.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    dashboard_refresh: Duration,
    /// Public https:// base URL used in verification QR codes.
    #[arg(long)]
    public_url: Option<String>,
    /// Extra DNS name or IP for the server certificate (first start only).
    #[arg(long = "server-name")]
    server_names: Vec<String>,
    /// Most connections open at once (default: the open-file limit less 128, at most 16384).
    #[arg(long)]
    max_connections: Option<usize>,
    /// Time for a connection's TLS handshake and first request headers, and for any
    /// request's headers once begun.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    header_timeout: Duration,
    /// Time a kept-alive connection may wait for its next request.
    #[arg(long, default_value = "75s", value_parser = parse_duration)]
    idle_timeout: Duration,
    /// Time for a request body to arrive whole.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    body_timeout: Duration,
    /// Registry lookups (contributions, application progress) a terminal may make a
    /// minute; twice as many at once.
    #[arg(long, default_value_t = 10)]
    lookups_per_minute: u32,
    /// The face image key, kept outside the data directory (default: beside the database).
    #[arg(long)]
    face_key: Option<PathBuf>,
    /// Face images of decided qualification checks are deleted this long after the decision.
    #[arg(long, default_value = "0d", value_parser = parse_retention)]
    keep_faces_after_decision: Duration,
    /// Face images of checks still under review are deleted after this.
    #[arg(long, default_value = "90d", value_parser = parse_retention)]
    keep_faces_undecided: Duration,
    /// Issued certificate documents are deleted after this (their verify page then says not found).
    #[arg(long, default_value = "365d", value_parser = parse_retention)]
    keep_certificates: Duration,
    /// Raw ID numbers of finished applications are masked this long after submission.
    #[arg(long, default_value = "365d", value_parser = parse_retention)]
    keep_id_numbers: Duration,
    /// The registry access log (who looked up whom) is kept this long.
    #[arg(long, default_value = "180d", value_parser = parse_retention)]
    keep_registry_access: Duration,
    /// Telemetry events, cleared alerts and hourly figures are kept this long.
    #[arg(long, default_value = "90d", value_parser = parse_retention)]
    keep_telemetry: Duration,
    /// Terminals' audit records are kept this long.
    #[arg(long, default_value = "365d", value_parser = parse_retention)]
    keep_audit: Duration,
    /// This instance's name on /metrics (`instance` label) and the dashboard's footer
    /// (default: `<hostname>:<port>`).
    #[arg(long)]
    instance_name: Option<String>,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Print a one-time enrollment token.
    Create {
        /// Lifetime, e.g. 10m.
        #[arg(long, default_value = "10m", value_parser = parse_duration)]
        ttl: Duration,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add or update a user; the password is read from the first line of stdin.
    Add {
        username: String,
        /// `operations` (the dashboard) or `reviewer` (also the back office's review
        /// queue). Operations users are not reviewers unless given this role.
        #[arg(long, default_value = "operations")]
        role: String,
    },
}

#[derive(Debug, Subcommand)]
enum DeviceCommand {
    /// Revoke a device: its certificate is refused from now on.
    Revoke { device_id: String },
    /// Retire a terminal: refused from now on, shown as decommissioned, its outbox
    /// backlog (by its last heartbeat) listed as never delivered.
    Decommission { device_id: String },
}

/// A retention time: like [`parse_duration`], and `0d` (delete at the next sweep) allowed.
fn parse_retention(s: &str) -> Result<Duration, String> {
    match s.trim().trim_end_matches(|c: char| c.is_ascii_alphabetic()) {
        "0" => Ok(Duration::ZERO),
        _ => parse_duration(s),
    }
}

/// Raises the soft open-file limit to the hard one: every connection is a file, and the
/// connection cap derives from the limit. Returns the limit in force.
fn raise_open_file_limit() -> u64 {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    // Linux refuses more than fs.nr_open (1,048,576 by default) even when the hard limit is "unlimited".
    const MOST: u64 = 1 << 20;
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else { return 1024 };
    let wanted = hard.min(MOST);
    if soft >= wanted {
        return soft;
    }
    match setrlimit(Resource::RLIMIT_NOFILE, wanted, hard) {
        Ok(()) => {
            tracing::info!(from = soft, to = wanted, "open-file limit raised");
            wanted
        }
        Err(e) => {
            tracing::warn!(error = %e, limit = soft, "cannot raise the open-file limit; set LimitNOFILE in central.service");
            soft
        }
    }
}

/// Parses `500ms`, `30s`, `10m`, `2h`, `1d` or plain seconds.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().map_err(|_| format!("{s:?} is not a duration like 30s, 10m or 2h"))?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "" | "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        "d" => Duration::from_secs(n * 86_400),
        _ => return Err(format!("{s:?} has unknown unit {unit:?}; use ms, s, m, h or d")),
    };
    if d.is_zero() {
        return Err("must be greater than zero".into());
    }
    Ok(d)
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("central: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(serve) => {
            let ServeArgs {
                listen,
                heartbeat_interval,
                offline_after_missed,
                backlog_alert_age,
                sweep_interval,
                dashboard_refresh,
                public_url,
                server_names,
                max_connections,
                lookups_per_minute,
                header_timeout,
                idle_timeout,
                body_timeout,
                face_key,
                keep_faces_after_decision,
                keep_faces_undecided,
                keep_certificates,
                keep_id_numbers,
                keep_registry_access,
                keep_telemetry,
                keep_audit,
                instance_name,
            } = *serve;
            let listen: SocketAddr = listen.parse().map_err(|_| {
                anyhow::anyhow!("invalid setting `listen`: {listen:?} is not an address like 0.0.0.0:8443")
            })?;
            let mut config = central::ServerConfig::new(cli.data_dir);
            config.database = cli.database;
            config.listen = listen;
            config.heartbeat_interval = heartbeat_interval;
            config.offline_after_missed = offline_after_missed;
            config.backlog_alert_age = backlog_alert_age;
            config.sweep_interval = sweep_interval;
            config.dashboard_refresh = dashboard_refresh;
            config.public_url = public_url;
            config.server_names = server_names;
            config.max_connections = max_connections;
            config.lookups_per_terminal =
                central::Rate { per_minute: lookups_per_minute, burst: lookups_per_minute.saturating_mul(2) };
            config.header_timeout = header_timeout;
            config.idle_timeout = idle_timeout;
            config.body_timeout = body_timeout;
            config.face_key = face_key;
            config.instance_name = instance_name;
            config.releases_dir = cli.releases_dir;
            config.release_key = cli.release_key;
            config.retention = central::Retention {
                faces_after_decision: keep_faces_after_decision,
                faces_undecided: keep_faces_undecided,
                certificates: keep_certificates,
                id_numbers_after_decision: keep_id_numbers,
                registry_access: keep_registry_access,
                telemetry: keep_telemetry,
                audit: keep_audit,
            };
            config.validate()?;
            let open_files = raise_open_file_limit();
            if open_files < 4096 && max_connections.is_none() {
                tracing::warn!(
                    open_files,
                    "the open-file limit allows only {} connections; set LimitNOFILE=65536 in central.service",
                    open_files.saturating_sub(central::connections::RESERVED_FILES)
                );
            }
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            runtime.block_on(async {
                let server = central::start(config).await?;
                eprintln!("central: listening on https://{}", server.local_addr());
                let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
                tokio::select! {
                    r = tokio::signal::ctrl_c() => r?,
                    _ = term.recv() => {}
                }
                server.shutdown().await;
                anyhow::Ok(())
            })
        }
        Command::MetricsToken => {
            std::fs::create_dir_all(&cli.data_dir)?;
            println!("{}", central::telemetry::metrics_token(&cli.data_dir)?);
            Ok(())
        }
        Command::Check { face_key } => {
            let findings = central::check::run(&cli.data_dir, cli.database.as_deref(), face_key.as_deref());
            let mut problems = 0;
            for f in &findings {
                match &f.result {
                    Ok(found) => println!("ok      {}: {found}", f.what),
                    Err(problem) => {
                        problems += 1;
                        println!("PROBLEM {}: {problem}", f.what);
                    }
                }
            }
            anyhow::ensure!(problems == 0, "{problems} of {} checks found a problem (listed above)", findings.len());
            Ok(())
        }
        Command::FaceKey { path } => {
            let existed = path.exists();
            central::server::load_face_key_file(&path)?;
            eprintln!("central: face image key {} {}", path.display(), if existed { "exists" } else { "created" });
            Ok(())
        }
        Command::Token { command: TokenCommand::Create { ttl } } => {
            let store = central::server::open_database(&cli.data_dir, cli.database.as_deref())?;
            println!("{}", central::enroll::create_token(store.as_ref(), ttl)?);
            Ok(())
        }
        Command::User { command: UserCommand::Add { username, role } } => {
            let mut password = String::new();
            std::io::stdin().lock().read_line(&mut password)?;
            let store = central::server::open_database(&cli.data_dir, cli.database.as_deref())?;
            central::ops::add_user_with_role(
                store.as_ref(),
                &username,
                password.trim_end_matches(['\r', '\n']),
                &role,
            )?;
            eprintln!("central: user {username} saved ({role})");
            Ok(())
        }
        Command::Device { command: DeviceCommand::Revoke { device_id } } => {
            let store = central::server::open_database(&cli.data_dir, cli.database.as_deref())?;
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            anyhow::ensure!(store.revoke_device(&device_id, now)?, "no active device {device_id}");
            eprintln!("central: device {device_id} revoked");
            Ok(())
        }
        Command::Device { command: DeviceCommand::Decommission { device_id } } => {
            let store = central::server::open_database(&cli.data_dir, cli.database.as_deref())?;
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            let Some(retired) = store.decommission_device(&device_id, now)? else {
                anyhow::bail!("no active device {device_id}");
            };
            eprintln!("central: device {device_id} decommissioned; {}", central::ops::backlog_account(&retired));
            Ok(())
        }
        Command::Release { command: ReleaseCommand::Keygen { out } } => {
            let (key, public) = central::release::keygen(&out)?;
            eprintln!(
                "central: release key {} created (keep it on this offline machine); public key {}:",
                key.display(),
                public.display()
            );
            print!("{}", std::fs::read_to_string(&public)?);
            Ok(())
        }
        Command::Release { command: ReleaseCommand::Sign { key, deb, package, version, architecture } } => {
            let fields = match (package, version, architecture) {
                (Some(package), Some(version), Some(architecture)) => {
                    Some(central::release::PackageFields { package, version, architecture })
                }
                (None, None, None) => None,
                _ => {
                    anyhow::bail!("give all of --package, --version and --architecture, or none (dpkg-deb reads them)")
                }
            };
            let (path, signed) = central::release::sign_package(&key, &deb, fields)?;
            let m = &signed.manifest;
            eprintln!(
                "central: signed {} {} for {} ({} bytes, SHA-256 {}): {}",
                m.package,
                m.version,
                m.architecture,
                m.size,
                m.sha256,
                path.display()
            );
            Ok(())
        }
        Command::Release { command: ReleaseCommand::Publish { deb, manifest } } => {
            let mut config = central::ServerConfig::new(&cli.data_dir);
            config.releases_dir = cli.releases_dir;
            config.release_key = cli.release_key;
            config.validate()?;
            let store = central::server::open_database(&cli.data_dir, cli.database.as_deref())?;
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            let p = central::release::publish(&config, store.as_ref(), &deb, &manifest, now)?;
            let r = &p.record;
            if !p.signature_checked {
                eprintln!(
                    "central: no --release-key given: the signature is not checked here; terminals check it before installing"
                );
            }
            eprintln!(
                "central: {} {} {} for {} (SHA-256 {}) in {}",
                r.package,
                r.version,
                if p.already { "was already published" } else { "published" },
                r.architecture,
                r.sha256,
                config.releases_dir().display()
            );
            Ok(())
        }
        Command::Rollout { command } => {
            let store = central::server::open_database(&cli.data_dir, cli.database.as_deref())?;
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            match command {
                RolloutCommand::Start { version, architecture, percent, devices } => {
                    let target = match (percent, devices) {
                        (Some(p), None) => central::release::Target::Percent(p),
                        (None, Some(list)) => central::release::Target::Devices(list),
                        _ => anyhow::bail!("give --percent N or --devices ID,ID"),
                    };
                    let id = central::release::start_rollout(store.as_ref(), &version, &architecture, &target, now)?;
                    eprintln!("central: rollout {id} of {version} for {architecture} started");
                    println!("{id}");
                }
                RolloutCommand::Widen { id, percent } => {
                    central::release::widen(store.as_ref(), id, percent, now)?;
                    eprintln!("central: rollout {id} now offers to {percent} % of the terminals");
                }
                RolloutCommand::Pause { id } => {
                    central::release::set_paused(store.as_ref(), id, true, now)?;
                    eprintln!("central: rollout {id} paused");
                }
                RolloutCommand::Resume { id } => {
                    central::release::set_paused(store.as_ref(), id, false, now)?;
                    eprintln!("central: rollout {id} resumed");
                }
                RolloutCommand::List => {
                    println!("ID\tVERSION\tARCHITECTURE\tTARGET\tSTATE\tCREATED");
                    for r in store.rollouts()? {
                        let created = time::OffsetDateTime::from_unix_timestamp(r.created_at)
                            .ok()
                            .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
                            .unwrap_or_default();
                        println!(
                            "{}\t{}\t{}\t{}\t{}\t{created}",
                            r.id,
                            r.version,
                            r.architecture,
                            central::release::target_text(&r),
                            r.state
                        );
                    }
                }
            }
            Ok(())
        }
    }
}
