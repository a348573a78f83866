//! `kiosk-provision install` run as the built binary on simulated
//! devices (the idcard simulator and the virtual printer on pseudo-terminals) against
//! the real central service over TLS with a real one-time token; the step that starts
//! the service starts the real `kiosk` binary. Checks the configuration, the
//! enrollment, the receipt on the printer's paper (its QR read back), and that central
//! has the terminal's heartbeat; that a failed enrollment resumes where it stopped; and
//! the interactive install on a pseudo-terminal, answered as a technician would.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use provisioning::install::state::{InstallState, Outcome, Step};
use support::{Line, SimReader, VirtualPrinterDevice, run, text};

const BAUD: u32 = 115_200;
/// Far above the goal (60 s): the limit only stops a hung install.
const LIMIT: Duration = Duration::from_secs(300);

/// The `kiosk` binary, built from this workspace and copied aside: the target directory
/// is shared, and another build may replace the file while the test runs. Built as the
/// workspace's test build builds it (`--workspace --tests`: the same features, so after
/// `cargo nextest run --workspace` this is a no-op; `-p kiosk` alone would compile a
/// second copy of a dozen crates with other features, minutes and gigabytes in CI).
fn kiosk_binary(dir: &Path) -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .args(["build", "--locked", "--workspace", "--tests"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .unwrap();
    assert!(status.success(), "cargo build --workspace --tests");
    let built = Path::new(env!("CARGO_BIN_EXE_kiosk-provision")).with_file_name("kiosk");
    let copy = dir.join("kiosk");
    std::fs::copy(&built, &copy).unwrap();
    let bytes = std::fs::read(&copy).unwrap();
    let marker = kiosk_marker();
    assert!(bytes.windows(marker.len()).any(|w| w == marker), "{} predates the heartbeat record", built.display());
    copy
}

fn kiosk_marker() -> &'static [u8] {
    b"heartbeat-accepted.json"
}

async fn start_central(dir: &Path, listen: SocketAddr) -> central::RunningServer {
    let mut config = central::ServerConfig::new(dir);
    config.listen = listen;
    config.registry_size = 10;
    central::start(config).await.unwrap()
}

/// One terminal's devices and paths.
struct Terminal {
    dir: tempfile::TempDir,
    _reader: Line,
    _printer: Line,
    paper: printer::virtual_printer::PrinterControl,
    args: Vec<String>,
    /// What the flags answer, for the run that asks instead.
    answers: Answers,
}

/// The answers a technician types when the flags leave them out.
struct Answers {
    url: String,
    ca: PathBuf,
    fingerprint: String,
    token: String,
}

impl Terminal {
    fn new(central: &central::RunningServer, url: &str, kiosk: &Path) -> Terminal {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let reader = Line::serve(SimReader::with_card(BAUD, "approved-pensioner"), BAUD);
        let (device, paper) = VirtualPrinterDevice::new();
        let printer = Line::serve(device, BAUD);
        let ca = d.join("fleet-ca.pem");
        std::fs::write(&ca, central.ca_pem()).unwrap();
        let fingerprint = provisioning::install::ca_fingerprint(&central.ca_pem()).unwrap();
        let token = central.create_enrollment_token(Duration::from_secs(600)).unwrap();
        let answers =
            Answers { url: url.to_owned(), ca: ca.clone(), fingerprint: fingerprint.clone(), token: token.clone() };
        std::fs::write(d.join("pin"), "246810\n").unwrap();
        let config = d.join("etc/kiosk.toml");
        // The service manager's stand-in: starts the real kiosk in the background, as
        // systemd would, and keeps its pid for the test to stop it.
        let start = format!(
            "{} --config {} --headless >{} 2>&1 & echo $! >{}",
            kiosk.display(),
            config.display(),
            d.join("kiosk.log").display(),
            d.join("kiosk.pid").display()
        );
        let s = |p: PathBuf| p.display().to_string();
        let args = vec![
            "install".into(),
            "--only".into(),
            "--port".into(),
            reader.path().to_owned(),
            "--port".into(),
            printer.path().to_owned(),
            // No camera on the build machines: the node is named, its test skipped.
            "--camera".into(),
            s(d.join("video0")),
            "--skip-self-test".into(),
            "camera".into(),
            "--central".into(),
            url.to_owned(),
            "--ca".into(),
            s(ca),
            "--ca-fingerprint".into(),
            fingerprint,
            "--token".into(),
            token,
            "--pin-file".into(),
            s(d.join("pin")),
            "--config".into(),
            s(config),
            "--data-dir".into(),
            s(d.join("data")),
            "--udev-rules".into(),
            s(d.join("udev/70-kiosk-terminal.rules")),
            "--metrics-listen".into(),
            "127.0.0.1:0".into(),
            "--card-wait-s".into(),
            "30".into(),
            "--attempt-ms".into(),
            "600".into(),
            "--heartbeat-wait-s".into(),
            "60".into(),
            "--start-command".into(),
            start,
        ];
        Terminal { dir, _reader: reader, _printer: printer, paper, args, answers }
    }

    /// The flags without what a technician is asked for when they are left out.
    fn args_that_leave_questions(&self) -> Vec<String> {
        const ASKED: [&str; 5] = ["--central", "--ca", "--ca-fingerprint", "--token", "--pin-file"];
        let mut kept = Vec::new();
        let mut args = self.args.iter();
        while let Some(a) = args.next() {
            if ASKED.contains(&a.as_str()) {
                args.next();
            } else {
                kept.push(a.clone());
            }
        }
        kept
    }

    fn install(&self) -> (i32, String, Duration) {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        let (out, took) = run(&args, LIMIT);
        let stdout = text(&out.stdout);
        eprintln!("{stdout}{}", text(&out.stderr));
        (out.status.code().unwrap_or(-1), stdout, took)
    }

    fn state(&self) -> InstallState {
        InstallState::load(&self.dir.path().join("data")).unwrap()
    }

    /// The terminal id the QR code on the last receipt holds.
    fn last_receipt_qr(&self) -> String {
        let receipts = self.paper.receipts();
        let mut prepared = rqrr::PreparedImage::prepare(receipts.last().unwrap().clone());
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1, "one QR code on the provisioning receipt");
        grids[0].decode().unwrap().1
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.dir.path().join("kiosk.pid")) {
            let _ = Command::new("kill").arg(pid.trim()).status();
        }
        if let Ok(log) = std::fs::read_to_string(self.dir.path().join("kiosk.log")) {
            eprintln!("--- kiosk log (tail) ---\n{}", log.lines().rev().take(30).collect::<Vec<_>>().join("\n"));
        }
    }
}

/// The terminal as central lists it: seen, with at least one heartbeat.
fn assert_seen_by_central(central: &central::RunningServer, terminal_id: &str) {
    let row = central.store().terminal(terminal_id).unwrap().expect("central lists the terminal");
    assert!(row.last_seen.is_some() && row.heartbeats_total >= 1, "{row:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_runs_every_step_on_simulated_devices_against_the_real_central_service() {
    let central_dir = tempfile::tempdir().unwrap();
    let central = start_central(central_dir.path(), "127.0.0.1:0".parse().unwrap()).await;
    let url = format!("https://{}", central.local_addr());
    let kiosk = kiosk_binary(central_dir.path());
    let t = Terminal::new(&central, &url, &kiosk);

    let (code, out, took) = tokio::task::block_in_place(|| t.install());
    assert_eq!(code, 0, "{out}");
    // The benchmark's figure: start to "visible at central", all machine time.
    eprintln!("provisioning: {:.1} s from start to visible at central", took.as_secs_f64());
    println!("provisioning_seconds {:.2}", took.as_secs_f64());

    let state = t.state();
    assert_eq!(state.next(), None, "every step done: {state:?}");
    let id = state.terminal_id.clone().unwrap();
    assert!(out.contains("card 1101**********002X read"), "the masked number is shown: {out}");
    assert!(!out.contains("11010519491231002X"), "never the whole number: {out}");
    assert!(!out.contains("246810"), "never the PIN");
    assert!(matches!(&state.self_tests[2].outcome, Outcome::Skipped));
    assert!(out.contains("no stable name (udev does not know this node)"), "ptys get no udev rule: {out}");

    let config = kiosk::config::Config::load(&t.dir.path().join("etc/kiosk.toml")).unwrap();
    assert_eq!(config.central.url.as_deref(), Some(url.as_str()));
    assert_eq!(config.devices.reader_port.as_deref(), Some(Path::new(t._reader.path())));
    assert_eq!(config.devices.printer.as_deref(), Some(t._printer.path()));
    assert_eq!(config.devices.printer_baud, Some(BAUD));
    assert!(kiosk::config::pin_matches("246810", config.maintenance.pin_hash.as_deref().unwrap()));
    let identity = kiosk::central_api::DeviceIdentity::load(&t.dir.path().join("data")).unwrap().unwrap();
    assert_eq!(identity.device_id, id);

    assert_eq!(t.paper.receipts().len(), 2, "the test page, then the provisioning receipt");
    assert_eq!(t.last_receipt_qr(), id, "the receipt's QR is the terminal id");
    assert_seen_by_central(&central, &id);
    central.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn central_unreachable_at_enrollment_stops_there_and_a_re_run_resumes_and_finishes() {
    let central_dir = tempfile::tempdir().unwrap();
    let first = start_central(central_dir.path(), "127.0.0.1:0".parse().unwrap()).await;
    let addr = first.local_addr();
    let url = format!("https://{addr}");
    let kiosk = kiosk_binary(central_dir.path());
    let t = Terminal::new(&first, &url, &kiosk);
    first.shutdown().await;

    let (code, out, _) = tokio::task::block_in_place(|| t.install());
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAILED: central service unreachable"), "{out}");
    assert!(out.contains("check the network cable"), "says what to do: {out}");
    assert!(out.contains("it resumes at step 5"), "{out}");
    let state = t.state();
    assert_eq!(state.failed.as_ref().map(|f| f.step), Some(Step::Enroll), "{state:?}");
    assert_eq!(state.next(), Some(Step::Enroll));
    assert_eq!(t.paper.receipts().len(), 1, "the test page");

    // A re-run that names another central is refused: the configuration already holds
    // the first one, and the steps done are not redone.
    let mut other = t.args.clone();
    let at = other.iter().position(|a| a == "--central").unwrap() + 1;
    other[at] = "https://central.elsewhere.example".into();
    let other: Vec<&str> = other.iter().map(String::as_str).collect();
    let (refused, _) = tokio::task::block_in_place(|| run(&other, LIMIT));
    let said = text(&refused.stdout);
    assert_eq!(refused.status.code(), Some(2), "{said}");
    assert!(said.contains("--central https://central.elsewhere.example differs from"), "{said}");
    assert_eq!(t.state().next(), Some(Step::Enroll), "nothing changed");

    // The network is back: central again on the same address with the same CA and tokens.
    let central = start_central(central_dir.path(), addr).await;
    let started = Instant::now();
    let (code, out, _) = tokio::task::block_in_place(|| t.install());
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Resuming the install at step 5/9"), "{out}");
    assert_eq!(out.matches("done earlier").count(), 4, "detection, configuration, udev, self-tests: {out}");
    assert_eq!(t.paper.receipts().len(), 2, "no second test page; the receipt");
    let id = t.state().terminal_id.unwrap();
    assert_eq!(t.last_receipt_qr(), id);
    assert_seen_by_central(&central, &id);
    eprintln!("resumed install finished in {:.1} s", started.elapsed().as_secs_f64());
    central.shutdown().await;
}

/// A program on a pseudo-terminal, as on a technician's console: what it prints is
/// collected, answers are typed into it.
struct Console {
    child: std::process::Child,
    master: std::fs::File,
    seen: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    /// How much of the output earlier `expect`s consumed.
    read_to: usize,
}

impl Console {
    fn spawn(program: &Path, args: &[String]) -> Console {
        use std::io::Read as _;
        let pty = nix::pty::openpty(None, None).unwrap();
        let slave = std::fs::File::from(pty.slave);
        let child = Command::new(program)
            .args(args)
            .stdin(slave.try_clone().unwrap())
            .stdout(slave.try_clone().unwrap())
            .stderr(slave)
            .spawn()
            .unwrap();
        let master = std::fs::File::from(pty.master);
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (mut reader, collected) = (master.try_clone().unwrap(), seen.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // EIO once the program has exited and the terminal has no other user.
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                collected.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Console { child, master, seen, read_to: 0 }
    }

    fn output(&self) -> String {
        text(&self.seen.lock().unwrap())
    }

    /// Waits until `needle` is printed after what earlier calls consumed.
    fn expect(&mut self, needle: &str) {
        let until = Instant::now() + LIMIT;
        loop {
            let out = self.output();
            if let Some(at) = out.get(self.read_to..).and_then(|rest| rest.find(needle)) {
                self.read_to += at + needle.len();
                return;
            }
            assert!(Instant::now() < until, "no {needle:?} in:\n{out}");
            assert!(self.child.try_wait().unwrap().is_none(), "exited before asking {needle:?}:\n{out}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn type_line(&mut self, line: &str) {
        use std::io::Write as _;
        self.master.write_all(format!("{line}\r").as_bytes()).unwrap();
    }

    fn wait(&mut self) -> i32 {
        let until = Instant::now() + LIMIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // The last lines may still be on their way through the terminal.
                std::thread::sleep(Duration::from_millis(200));
                return status.code().unwrap_or(-1);
            }
            assert!(Instant::now() < until, "install still running:\n{}", self.output());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_technician_answers_the_questions_the_flags_leave_out_and_the_pin_is_never_shown() {
    let central_dir = tempfile::tempdir().unwrap();
    let central = start_central(central_dir.path(), "127.0.0.1:0".parse().unwrap()).await;
    let url = format!("https://{}", central.local_addr());
    let kiosk = kiosk_binary(central_dir.path());
    let t = Terminal::new(&central, &url, &kiosk);
    let answers = &t.answers;

    let (code, out) = tokio::task::block_in_place(|| {
        let program = Path::new(env!("CARGO_BIN_EXE_kiosk-provision"));
        let mut console = Console::spawn(program, &t.args_that_leave_questions());
        console.expect("Central service URL (https://...):");
        console.type_line(&answers.url);
        console.expect("Fleet CA certificate file (PEM):");
        console.type_line(&answers.ca.display().to_string());
        // The technician compares what is shown with what operations gave them.
        console.expect(&answers.fingerprint);
        console.expect("Is this the fingerprint operations gave you? [yes/no]");
        console.type_line("yes");
        console.expect("One-time enrollment token:");
        console.type_line(&answers.token);
        console.expect("New 6-digit technician PIN:");
        console.type_line("246810");
        console.expect("The same PIN again:");
        console.type_line("246810");
        let code = console.wait();
        (code, console.output())
    });
    eprintln!("{out}");
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("246810"), "the PIN is not echoed: {out}");
    let id = t.state().terminal_id.unwrap();
    let config = kiosk::config::Config::load(&t.dir.path().join("etc/kiosk.toml")).unwrap();
    assert_eq!(config.central.url.as_deref(), Some(url.as_str()));
    assert!(kiosk::config::pin_matches("246810", config.maintenance.pin_hash.as_deref().unwrap()));
    assert_eq!(t.last_receipt_qr(), id);
    assert_seen_by_central(&central, &id);
    central.shutdown().await;
}
