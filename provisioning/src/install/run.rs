//! The install's steps, carried out through the kiosk's own code: its configuration
//! loader, its drivers and self-tests (the maintenance screen's test page and camera
//! test), its enrollment and its PIN hash. Progress is saved after every step
//! ([`state`](super::state)), so a re-run resumes at the step that failed.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kiosk::runtime::ReceiptPrinter as _;
use kiosk::runtime::camera::DriverCamera;
use kiosk::runtime::devices::{Reopening, open_printer};
use kiosk::runtime::escpos_printer::DriverPrinter;
use session::{CardProblem, Event, PrintJob};

use super::receipt::{self, ReceiptInfo};
use super::state::{Devices, Failure, InstallState, Outcome, SelfTestResult, Step};
use super::udev::{self, Role, UdevDevice};
use super::{ConfigInputs, ca_fingerprint, config_text, same_fingerprint};
use crate::discover::Candidates;
use crate::probe::{Finding, Timings};

/// Exit codes (README): done / a step failed (the message says what to do, a re-run
/// resumes) / bad usage or an invalid configuration / the fleet CA not confirmed.
pub const EXIT_STEP_FAILED: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_NOT_CONFIRMED: u8 = 3;

/// The devices a self-test can be skipped for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Subject {
    Reader,
    Printer,
    Camera,
}

impl Subject {
    fn name(self) -> &'static str {
        match self {
            Subject::Reader => "reader",
            Subject::Printer => "printer",
            Subject::Camera => "camera",
        }
    }
}

/// Everything the command line (or the technician's answers) gives the install.
#[derive(Clone, Debug)]
pub struct Options {
    pub config_path: PathBuf,
    pub data_dir: PathBuf,
    pub central_url: Option<String>,
    pub ca: Option<PathBuf>,
    pub ca_fingerprint: Option<String>,
    pub token: Option<String>,
    pub pin_file: Option<PathBuf>,
    pub yes: bool,
    pub ports: Vec<String>,
    pub only: bool,
    pub camera: Option<String>,
    pub printer_profile: String,
    pub metrics_listen: Option<String>,
    pub skip_self_tests: Vec<Subject>,
    pub card_wait: Duration,
    pub udev_rules: PathBuf,
    /// Run through `sh -c`; None: `systemctl enable --now kiosk.service`.
    pub start_command: Option<String>,
    pub heartbeat_wait: Duration,
    pub timings: Timings,
}

/// A step that did not finish: what happened, what the technician does next, the exit code.
#[derive(Debug)]
struct StepError {
    what: String,
    next: String,
    code: u8,
}

fn failed(what: impl Into<String>, next: impl Into<String>) -> StepError {
    StepError { what: what.into(), next: next.into(), code: EXIT_STEP_FAILED }
}

fn usage(what: impl Into<String>, next: impl Into<String>) -> StepError {
    StepError { what: what.into(), next: next.into(), code: EXIT_USAGE }
}

/// The install, start to finish (or from where an earlier run stopped). Returns the
/// exit code.
pub fn install(o: &Options) -> u8 {
    let started = Instant::now();
    let interactive = std::io::stdin().is_terminal();
    let mut state = match InstallState::load(&o.data_dir) {
        Ok(s) => s,
        Err(e) => {
            println!("kiosk-provision: {e}");
            return EXIT_STEP_FAILED;
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            println!("kiosk-provision: cannot start: {e}");
            return EXIT_STEP_FAILED;
        }
    };
    if let Some(f) = &state.failed {
        println!(
            "Resuming the install at step {}/{} ({}), which failed last time: {}",
            f.step.number(),
            Step::ALL.len(),
            f.step.title(),
            f.message
        );
    } else if state.next().is_none() {
        println!(
            "This terminal is already installed as {} (delete {} to install it again).",
            state.terminal_id.as_deref().unwrap_or("?"),
            o.data_dir.join(super::state::STATE_FILE).display()
        );
        return 0;
    }
    if let Some(changed) = changed_since_last_run(&state, o) {
        println!("kiosk-provision: {changed}");
        println!(
            "      what to do: run it with the same flags as before, or delete {} to install from the start",
            o.data_dir.join(super::state::STATE_FILE).display()
        );
        return EXIT_USAGE;
    }
    let mut ctx = Ctx { o, interactive, rt: &rt, started };
    for step in Step::ALL {
        println!("[{}/{}] {}", step.number(), Step::ALL.len(), step.title());
        if state.is_done(step) {
            println!("      done earlier");
            continue;
        }
        let outcome = ctx.step(step, &mut state);
        match outcome {
            Ok(()) => {
                state.mark_done(step);
                if let Err(e) = state.save(&o.data_dir) {
                    println!("      FAILED: {e}\n      what to do: check the disk holding {}", o.data_dir.display());
                    return EXIT_STEP_FAILED;
                }
            }
            Err(e) => {
                println!("      FAILED: {}", e.what);
                println!("      what to do: {}", e.next);
                state.failed = Some(Failure { step, message: e.what.clone() });
                match state.save(&o.data_dir) {
                    Ok(()) => println!(
                        "      then run the same command again: it resumes at step {} (progress kept in {})",
                        step.number(),
                        o.data_dir.join(super::state::STATE_FILE).display()
                    ),
                    Err(save) => println!("      (progress could not be saved: {save})"),
                }
                return e.code;
            }
        }
    }
    println!(
        "Installed: terminal {} is enrolled, running and seen by the central service.",
        state.terminal_id.as_deref().unwrap_or("?")
    );
    0
}

struct Ctx<'a> {
    o: &'a Options,
    interactive: bool,
    rt: &'a tokio::runtime::Runtime,
    started: Instant,
}

impl Ctx<'_> {
    fn step(&mut self, step: Step, state: &mut InstallState) -> Result<(), StepError> {
        match step {
            Step::Detect => self.detect(state),
            Step::Config => self.write_config(state),
            Step::Udev => self.udev(state),
            Step::SelfTest => self.self_tests(state),
            Step::Enroll => self.enroll(state),
            Step::Pin => self.pin(state),
            Step::Receipt => self.receipt(state),
            Step::Service => self.start_service(),
            Step::Heartbeat => self.heartbeat(state),
        }
    }

    /// Asks on the terminal (None when not interactive or nothing was typed).
    fn ask(&self, question: &str) -> Option<String> {
        if !self.interactive {
            return None;
        }
        print!("      {question} ");
        let _ = std::io::stdout().flush();
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).ok()?;
        let line = line.trim().to_owned();
        (!line.is_empty()).then_some(line)
    }

    fn detect(&mut self, state: &mut InstallState) -> Result<(), StepError> {
        let candidates = Candidates::gather(&self.o.ports, self.o.only);
        println!(
            "      probing {} serial port(s) in parallel (at most {:.1} s) and {} USB/TCP printer(s)...",
            candidates.serial.len(),
            self.o.timings.serial_port_bound().as_secs_f64(),
            candidates.usb_printers.len() + candidates.tcp_printers.len()
        );
        let found = crate::detect::detect(&candidates, &self.o.timings);
        for r in found.serial.iter().chain(&found.usb_printers).chain(&found.tcp_printers) {
            println!("      {}: {}", r.port, r.finding);
        }
        let see_all = "`kiosk-provision detect` lists what each port answers";
        let Some((reader_port, reader_baud)) = found.reader() else {
            return Err(failed(
                "no ID card reader answered on any port",
                format!("plug the reader in (and power it), stop the kiosk service if it runs; {see_all}"),
            ));
        };
        let reader_sam = found.serial.iter().find(|r| r.port == reader_port).and_then(|r| match &r.finding {
            Finding::Reader { sam_id, .. } => sam_id.clone(),
            _ => None,
        });
        let Some(printer) = found.printer() else {
            return Err(failed(
                "no receipt printer answered",
                format!("plug the printer in, switch it on and close its cover; {see_all}"),
            ));
        };
        let printer_baud = match printer.finding {
            Finding::Printer { baud, .. } => baud,
            _ => None,
        };
        let camera = self.o.camera.clone().or_else(|| found.cameras.first().cloned());
        match &camera {
            Some(c) => println!("      camera: {c}"),
            None => println!("      camera: none found (no /dev/video*): face services stay off until one is set"),
        }
        state.devices = Some(Devices {
            reader_port: reader_port.to_owned(),
            reader_baud,
            reader_sam,
            printer: printer.port.clone(),
            printer_baud,
            camera,
        });
        Ok(())
    }

    fn central_url(&self) -> Result<String, StepError> {
        match self.o.central_url.clone().or_else(|| self.ask("Central service URL (https://...):")) {
            Some(url) if url.starts_with("https://") => Ok(url),
            Some(url) => Err(usage(
                format!("the central URL {url:?} is not https://"),
                "give the URL operations gave you, e.g. --central https://central.example:8443",
            )),
            None => Err(usage("no central service URL", "give it with --central https://...")),
        }
    }

    fn config_inputs<'s>(&'s self, state: &'s InstallState, url: &'s str) -> Result<ConfigInputs<'s>, StepError> {
        let devices = state
            .devices
            .as_ref()
            .ok_or_else(|| failed("the detected devices were not kept", "delete the install state and re-run"))?;
        Ok(ConfigInputs {
            data_dir: &self.o.data_dir,
            central_url: url,
            devices,
            printer_profile: &self.o.printer_profile,
            metrics_listen: self.o.metrics_listen.as_deref(),
            pin_hash: state.pin_hash.as_deref(),
        })
    }

    /// Writes the configuration and loads it back with the kiosk's own loader.
    fn write_config_with(&self, inputs: &ConfigInputs<'_>) -> Result<kiosk::config::Config, StepError> {
        let path = &self.o.config_path;
        let text = config_text(inputs);
        let write = || -> std::io::Result<()> {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let tmp = path.with_extension("toml.tmp");
            std::fs::write(&tmp, &text)?;
            std::fs::rename(&tmp, path)
        };
        write().map_err(|e| {
            failed(format!("cannot write {}: {e}", path.display()), "run the install as root (or give --config)")
        })?;
        kiosk::config::Config::load(path).map_err(|e| {
            usage(format!("the kiosk refuses the configuration written: {e}"), "correct the flag the message names")
        })
    }

    fn config(&self) -> Result<kiosk::config::Config, StepError> {
        kiosk::config::Config::load(&self.o.config_path).map_err(|e| {
            usage(format!("{e}"), "the configuration changed since it was written: delete the install state to redo it")
        })
    }

    fn write_config(&mut self, state: &mut InstallState) -> Result<(), StepError> {
        let url = self.central_url()?;
        let path = &self.o.config_path;
        if path.exists() && !self.o.yes {
            let aside = path.with_extension("toml.before-install");
            std::fs::copy(path, &aside)
                .map_err(|e| failed(format!("cannot keep the old {}: {e}", path.display()), "check the disk"))?;
            println!("      the previous configuration is kept as {}", aside.display());
        }
        self.write_config_with(&self.config_inputs(state, &url)?)?;
        println!("      wrote {} (checked with the kiosk's own loader)", path.display());
        Ok(())
    }

    fn udev(&mut self, state: &mut InstallState) -> Result<(), StepError> {
        let Some(d) = &state.devices else { return Err(failed("no devices detected", "re-run from the start")) };
        let mut nodes = vec![(Role::Reader, d.reader_port.clone())];
        if d.printer.starts_with("/dev/") {
            nodes.push((Role::Printer, d.printer.clone()));
        }
        if let Some(c) = &d.camera {
            nodes.push((Role::Camera, c.clone()));
        }
        let devices: Vec<UdevDevice> = nodes
            .into_iter()
            .map(|(role, devnode)| {
                let out = std::process::Command::new("udevadm")
                    .args(["info", "--query=property", "--name", &devnode])
                    .stderr(std::process::Stdio::null())
                    .output();
                let properties = match out {
                    Ok(o) if o.status.success() => udev::parse_properties(&String::from_utf8_lossy(&o.stdout)),
                    _ => Default::default(),
                };
                UdevDevice { role, devnode, properties }
            })
            .collect();
        let (rules, not_named) = udev::rules(&devices);
        for n in &not_named {
            println!("      {}: no stable name ({}); the configuration keeps this path", n.devnode, n.why);
        }
        if rules.is_empty() {
            println!("      no rule to write");
            return Ok(());
        }
        let path = &self.o.udev_rules;
        let write = || -> std::io::Result<()> {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let tmp = path.with_extension("rules.tmp");
            std::fs::write(&tmp, udev::render(&rules))?;
            std::fs::rename(&tmp, path)
        };
        write().map_err(|e| failed(format!("cannot write {}: {e}", path.display()), "run the install as root"))?;
        for r in &rules {
            println!("      {} -> /dev/{}", r.devnode, r.symlink);
        }
        // Applies the rules now (group, mode and links); harmless where udev does not run.
        for args in
            [&["control", "--reload-rules"][..], &["trigger", "--action=change"][..], &["settle", "--timeout=10"]]
        {
            let _ = std::process::Command::new("udevadm").args(args).status();
        }
        println!("      wrote {}", path.display());
        // The configuration names the links udev made, so the next boot's numbering
        // (another adapter plugged in, another order) cannot swap the devices.
        let (stable, replaced) = udev::with_stable_names(d, &rules, Path::exists);
        for r in rules.iter().filter(|r| !replaced.iter().any(|(old, _)| *old == r.devnode)) {
            println!(
                "      udev has not made /dev/{} (yet): the configuration keeps {}; re-run after a reboot to use it",
                r.symlink, r.devnode
            );
        }
        if !replaced.is_empty() {
            let url = self.config()?.central.url.unwrap_or_default();
            state.devices = Some(stable);
            self.write_config_with(&self.config_inputs(state, &url)?)?;
            for (old, link) in &replaced {
                println!("      the configuration now names {link} instead of {old}");
            }
        }
        Ok(())
    }

    fn self_tests(&mut self, state: &mut InstallState) -> Result<(), StepError> {
        let config = self.config()?;
        let Some(d) = state.devices.clone() else { return Err(failed("no devices detected", "re-run")) };
        let mut first_failure = None;
        for subject in [Subject::Reader, Subject::Printer, Subject::Camera] {
            let earlier = state.self_tests.iter().find(|t| t.device == subject.name());
            if let Some(SelfTestResult { outcome: Outcome::Passed(detail), .. }) = earlier {
                println!("      {}: passed earlier ({detail})", subject.name());
                continue;
            }
            let outcome = if self.o.skip_self_tests.contains(&subject) {
                Outcome::Skipped
            } else {
                match subject {
                    Subject::Reader => self.test_reader(&config, &d),
                    Subject::Printer => self.test_printer(&d),
                    Subject::Camera => self.test_camera(&d),
                }
            };
            let shown = match &outcome {
                Outcome::Passed(detail) => format!("ok: {detail}"),
                Outcome::Failed(why) => format!("FAILED: {why}"),
                Outcome::Skipped => "skipped (--skip-self-test)".to_owned(),
            };
            println!("      {}: {shown}", subject.name());
            if let Outcome::Failed(why) = &outcome {
                first_failure.get_or_insert((subject, why.clone()));
            }
            state.self_tests.retain(|t| t.device != subject.name());
            state.self_tests.push(SelfTestResult { device: subject.name().into(), outcome });
        }
        match first_failure {
            None => Ok(()),
            Some((subject, why)) => Err(failed(
                format!("the {} self-test failed: {why}", subject.name()),
                format!(
                    "{}; or install without it: --skip-self-test {} (the receipt says so)",
                    advice(subject),
                    subject.name()
                ),
            )),
        }
    }

    /// Waits for a test card through the kiosk's own reader path (the polling driver,
    /// then the same card checks a citizen's card goes through); only the masked number
    /// is shown or kept.
    fn test_reader(&self, config: &kiosk::config::Config, d: &Devices) -> Outcome {
        let opener = kiosk::runtime::reader::serial_opener(d.reader_port.clone(), d.reader_baud);
        let wait = self.o.card_wait;
        println!("      reader: place a test ID card on the reader (waiting up to {} s)", wait.as_secs());
        let (handle, mut events) = idcard::watch(move || opener(), config.reader());
        let outcome = self.rt.block_on(async {
            let deadline = tokio::time::Instant::now() + wait;
            let mut next_note = tokio::time::Instant::now() + Duration::from_secs(10);
            let mut trouble = None;
            loop {
                let until = next_note.min(deadline);
                match tokio::time::timeout_at(until, events.recv()).await {
                    Ok(Some(e)) => match kiosk::runtime::reader::session_event(e, kiosk::runtime::reader::today()) {
                        Some(Event::CardPlaced(citizen)) => {
                            return Outcome::Passed(format!("card {} read", citizen.id_number.masked()));
                        }
                        Some(Event::CardRefused { problem: CardProblem::Unreadable, .. }) => {
                            println!("      reader: the card could not be read: take it off and place it again");
                        }
                        // Read, and refused as a citizen's card would be: the reader works.
                        Some(Event::CardRefused { problem, .. }) => {
                            return Outcome::Passed(format!("a card was read (refused for a citizen: {problem:?})"));
                        }
                        Some(Event::DeviceHealth { health: session::Health::Problem(p), .. }) => {
                            trouble = Some(format!("{p:?}"));
                        }
                        _ => {}
                    },
                    Ok(None) => return Outcome::Failed("the reader's polling stopped".into()),
                    Err(_) if tokio::time::Instant::now() >= deadline => {
                        return Outcome::Failed(match trouble {
                            Some(p) => format!("the reader does not work ({p}) on {}", d.reader_port),
                            None => format!("no card was placed within {} s", wait.as_secs()),
                        });
                    }
                    Err(_) => {
                        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                        println!("      reader: still waiting for a card, {} s left", left.as_secs());
                        next_note += Duration::from_secs(10);
                    }
                }
            }
        });
        handle.stop();
        outcome
    }

    fn printer(&self, d: &Devices) -> DriverPrinter<Reopening<Box<dyn device_link::Link>>> {
        let (target, baud) = (d.printer.clone(), d.printer_baud);
        let profile = match self.o.printer_profile.as_str() {
            "58mm" => printer::Profile::CLONE_58,
            _ => printer::Profile::KIOSK_80,
        };
        DriverPrinter::new(printer::Printer::new(Reopening::new(move || open_printer(&target, baud)), profile))
    }

    /// The maintenance screen's test page, through the kiosk's printer adapter; passes
    /// once the printer confirmed the job.
    fn test_printer(&self, d: &Devices) -> Outcome {
        println!("      printer: printing a test page...");
        let p = self.printer(d);
        let page = p.layout(&PrintJob::TestPage);
        match self.rt.block_on(p.print(page)) {
            Ok(()) => Outcome::Passed("test page printed and confirmed by the printer".into()),
            Err(problem) => Outcome::Failed(format!("{problem:?}")),
        }
    }

    /// The maintenance screen's camera test: a capture until analysed frames come back.
    fn test_camera(&self, d: &Devices) -> Outcome {
        let Some(camera) = &d.camera else { return Outcome::Failed("no camera found".into()) };
        println!("      camera: capturing and analysing frames from {camera} (up to 8 s)...");
        let cam = DriverCamera::v4l(camera.clone());
        let screen: Arc<dyn kiosk::runtime::ScreenSink> = Arc::new(kiosk::runtime::LoggedScreens);
        match self.rt.block_on(kiosk::runtime::camera_self_test(&cam, screen)) {
            Ok(()) => Outcome::Passed("frames captured and analysed".into()),
            Err(problem) => Outcome::Failed(format!("{problem:?}")),
        }
    }

    fn enroll(&mut self, state: &mut InstallState) -> Result<(), StepError> {
        let config = self.config()?;
        let url = config.central.url.clone().unwrap_or_default();
        let ca_path =
            match self.o.ca.clone().or_else(|| self.ask("Fleet CA certificate file (PEM):").map(PathBuf::from)) {
                Some(p) => p,
                None => {
                    return Err(usage("no fleet CA certificate", "give the file operations gave you with --ca FILE"));
                }
            };
        let ca_pem = std::fs::read_to_string(&ca_path)
            .map_err(|e| usage(format!("cannot read {}: {e}", ca_path.display()), "check the --ca path"))?;
        let fingerprint = ca_fingerprint(&ca_pem).ok_or_else(|| {
            usage(format!("{} holds no PEM certificate", ca_path.display()), "give the fleet CA's PEM file")
        })?;
        println!("      central:  {url}");
        println!("      fleet CA: SHA-256 {fingerprint}");
        let confirmed = match &self.o.ca_fingerprint {
            Some(given) => same_fingerprint(given, &fingerprint),
            None => match self.ask("Is this the fingerprint operations gave you? [yes/no]") {
                Some(answer) => answer.eq_ignore_ascii_case("yes") || answer.eq_ignore_ascii_case("y"),
                None => {
                    return Err(usage(
                        "the fleet CA's fingerprint was not confirmed",
                        "give the fingerprint operations gave you with --ca-fingerprint",
                    ));
                }
            },
        };
        if !confirmed {
            return Err(StepError {
                what: "the fleet CA's fingerprint is not the one operations gave: not enrolling".into(),
                next:
                    "get the CA file and its fingerprint from operations again (a wrong CA would trust another server)"
                        .into(),
                code: EXIT_NOT_CONFIRMED,
            });
        }
        // An identity saved by an earlier run that stopped before recording it.
        if let Ok(Some(identity)) = kiosk::central_api::DeviceIdentity::load(&self.o.data_dir)
            && identity.ca_pem == ca_pem
            && state.terminal_id.is_none()
            && state.failed.as_ref().is_none_or(|f| f.step != Step::Enroll)
        {
            println!("      already enrolled as {} (identity in the data directory)", identity.device_id);
            state.terminal_id = Some(identity.device_id);
            return Ok(());
        }
        let token = match self.o.token.clone().or_else(|| self.ask("One-time enrollment token:")) {
            Some(t) => t,
            None => return Err(usage("no enrollment token", "give the one-time token with --token")),
        };
        println!("      enrolling (a new key is made here; only its certificate request is sent)...");
        let enrolled = self.rt.block_on(kiosk::app::enroll(&config, &token, &ca_path));
        if let Err(e) = enrolled {
            let next = match e.downcast_ref::<kiosk::central_api::CentralError>() {
                Some(kiosk::central_api::CentralError::Unreachable(_)) => format!(
                    "check the network cable and that {url} is reachable from here (e.g. `curl -v {url}`); the token is not used up"
                ),
                Some(kiosk::central_api::CentralError::Problem { status, .. }) if *status < 500 => {
                    "the token was refused (used, expired or mistyped): ask operations for a new one and re-run with --token NEW"
                        .into()
                }
                _ => "if the message names the CA or TLS, the CA file is not this server's; otherwise try again in a minute".into(),
            };
            return Err(failed(format!("{e:#}"), next));
        }
        let identity = kiosk::central_api::DeviceIdentity::load(&self.o.data_dir)
            .ok()
            .flatten()
            .ok_or_else(|| failed("enrolled, but the identity was not saved", "check the data directory's disk"))?;
        state.terminal_id = Some(identity.device_id);
        Ok(())
    }

    fn pin(&mut self, state: &mut InstallState) -> Result<(), StepError> {
        let pin = match &self.o.pin_file {
            Some(f) => std::fs::read_to_string(f)
                .map_err(|e| usage(format!("cannot read the PIN file {}: {e}", f.display()), "check --pin-file"))?
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned(),
            None if self.interactive => {
                let first = read_secret("New 6-digit technician PIN:")?;
                if read_secret("The same PIN again:")? != first {
                    return Err(failed("the two PINs differ", "run again and type the same PIN twice"));
                }
                first
            }
            None => return Err(usage("no technician PIN", "give a file holding the 6 digits with --pin-file")),
        };
        // The PIN is hashed at once and never printed or logged.
        let hash = kiosk::config::hash_pin(&pin).map_err(|_| {
            usage(
                format!("a technician PIN is {} digits", kiosk::config::PIN_DIGITS),
                "give 6 digits (in the --pin-file or when asked)",
            )
        })?;
        state.pin_hash = Some(hash);
        let url = self.config()?.central.url.unwrap_or_default();
        self.write_config_with(&self.config_inputs(state, &url)?)?;
        println!("      PIN set (only its argon2 hash is kept, in [maintenance] pin_hash)");
        Ok(())
    }

    fn receipt(&mut self, state: &mut InstallState) -> Result<(), StepError> {
        let config = self.config()?;
        let Some(d) = &state.devices else { return Err(failed("no devices detected", "re-run")) };
        let printed_at = contract::china_time::date_time_zh(time::OffsetDateTime::now_utc());
        let doc = receipt::document(&ReceiptInfo {
            terminal_id: state.terminal_id.as_deref().unwrap_or("?"),
            devices: d,
            self_tests: &state.self_tests,
            software_version: env!("CARGO_PKG_VERSION"),
            central_url: config.central.url.as_deref().unwrap_or(""),
            printed_at: &printed_at,
            reprinted_at: None,
        });
        // Printed before the service starts: the running kiosk holds the printer's port.
        println!("      printing (terminal id as QR, devices, self-tests, version)...");
        self.rt
            .block_on(self.printer(d).print(doc))
            .map_err(|p| failed(format!("the receipt did not print: {p:?}"), advice(Subject::Printer)))?;
        // The maintenance screen's reprint says when the terminal was installed.
        state.installed_at = Some(printed_at);
        Ok(())
    }

    fn start_service(&mut self) -> Result<(), StepError> {
        // The marker of an earlier run must not be taken for this start's heartbeat.
        let marker = self.o.data_dir.join(kiosk::runtime::telemetry::HEARTBEAT_ACCEPTED_FILE);
        let _ = std::fs::remove_file(&marker);
        hand_data_dir_to_service_user(&self.o.data_dir);
        let (shown, status) = match &self.o.start_command {
            Some(cmd) => (cmd.clone(), std::process::Command::new("sh").args(["-c", cmd]).status()),
            None => (
                "systemctl enable --now kiosk.service".to_owned(),
                std::process::Command::new("systemctl").args(["enable", "--now", "kiosk.service"]).status(),
            ),
        };
        println!("      {shown}");
        match status {
            Ok(s) if s.success() => Ok(()),
            Ok(s) => Err(failed(
                format!("`{shown}` failed ({s})"),
                "look at `systemctl status kiosk` and `journalctl -u kiosk -n 50`",
            )),
            Err(e) => Err(failed(format!("cannot run `{shown}`: {e}"), "is systemd running on this system?")),
        }
    }

    /// Waits for the running kiosk's own record that central accepted one of its
    /// heartbeats (`heartbeat-accepted.json`, written after central's answer).
    fn heartbeat(&mut self, state: &mut InstallState) -> Result<(), StepError> {
        let marker = self.o.data_dir.join(kiosk::runtime::telemetry::HEARTBEAT_ACCEPTED_FILE);
        let wait = self.o.heartbeat_wait;
        let until = Instant::now() + wait;
        let mut next_note = Instant::now() + Duration::from_secs(5);
        println!("      waiting for the kiosk's first heartbeat to be accepted (up to {} s)...", wait.as_secs());
        loop {
            if let Ok(bytes) = std::fs::read(&marker)
                && let Ok(seen) = serde_json::from_slice::<kiosk::runtime::telemetry::HeartbeatAccepted>(&bytes)
            {
                let took = self.started.elapsed().as_secs_f64();
                println!("      central accepted a heartbeat at {} (server time)", seen.server_time);
                println!("      visible at central {took:.1} s after this run started");
                state.visible_after_s = Some(took);
                return Ok(());
            }
            if Instant::now() >= until {
                return Err(failed(
                    format!("central has not accepted a heartbeat within {} s", wait.as_secs()),
                    "see why in `journalctl -u kiosk -n 50` (network, clock, certificate)",
                ));
            }
            if Instant::now() >= next_note {
                println!("      still waiting, {} s left", until.saturating_duration_since(Instant::now()).as_secs());
                next_note += Duration::from_secs(5);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// What to check first when a device's test fails.
/// A resumed run whose flags contradict what the earlier run already did: the steps
/// done are not redone, so a different central URL would silently be ignored.
fn changed_since_last_run(state: &InstallState, o: &Options) -> Option<String> {
    let given = o.central_url.as_deref()?;
    if !state.is_done(Step::Config) {
        return None;
    }
    let written = kiosk::config::Config::load(&o.config_path).ok()?.central.url?;
    (written != given).then(|| {
        format!("--central {given} differs from {written}, which the earlier run already wrote into the configuration")
    })
}

fn advice(subject: Subject) -> &'static str {
    match subject {
        Subject::Reader => "check the reader's cable and power and place the card flat on it",
        Subject::Printer => "load paper, close the cover and check the cable",
        Subject::Camera => "check the camera's USB cable and that nothing covers it",
    }
}

/// The kiosk service runs as the `kiosk` user: as root, hand it the data directory
/// (identity.json was written here by root). Nothing to do when there is no such user.
fn hand_data_dir_to_service_user(dir: &Path) {
    if !nix::unistd::geteuid().is_root() {
        return;
    }
    if let Ok(Some(user)) = nix::unistd::User::from_name("kiosk") {
        let _ =
            std::process::Command::new("chown").args(["-R", &format!("{}:{}", user.uid, user.gid)]).arg(dir).status();
    }
}

/// Reads a line from the terminal without echoing it.
fn read_secret(prompt: &str) -> Result<String, StepError> {
    use nix::sys::termios::{LocalFlags, SetArg, tcgetattr, tcsetattr};
    print!("      {prompt} ");
    let _ = std::io::stdout().flush();
    let stdin = std::io::stdin();
    let saved = tcgetattr(&stdin).ok();
    if let Some(t) = &saved {
        let mut quiet = t.clone();
        quiet.local_flags.remove(LocalFlags::ECHO);
        let _ = tcsetattr(&stdin, SetArg::TCSANOW, &quiet);
    }
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if let Some(t) = &saved {
        let _ = tcsetattr(&stdin, SetArg::TCSANOW, t);
    }
    println!();
    read.map_err(|e| usage(format!("cannot read the PIN: {e}"), "type it on the terminal"))?;
    Ok(line.trim().to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_written_configuration_is_accepted_by_the_kiosk_loader_with_and_without_a_pin() {
        let dir = tempfile::tempdir().unwrap();
        let devices = Devices {
            reader_port: "/dev/ttyUSB0".into(),
            reader_baud: 115_200,
            reader_sam: None,
            printer: "/dev/ttyUSB1".into(),
            printer_baud: Some(9600),
            camera: Some("/dev/video0".into()),
        };
        let hash = kiosk::config::hash_pin("123456").unwrap();
        for pin_hash in [None, Some(hash.as_str())] {
            let text = config_text(&ConfigInputs {
                data_dir: dir.path(),
                central_url: "https://central.example:8443",
                devices: &devices,
                printer_profile: "80mm",
                metrics_listen: Some("127.0.0.1:0"),
                pin_hash,
            });
            let c = kiosk::config::Config::parse(&text, "test").unwrap();
            assert_eq!(c.central.url.as_deref(), Some("https://central.example:8443"));
            assert_eq!(c.devices.printer_baud, Some(9600));
            assert_eq!(c.maintenance.pin_hash.as_deref(), pin_hash);
            assert!(!text.contains("123456"), "never the PIN itself");
        }
    }
}
