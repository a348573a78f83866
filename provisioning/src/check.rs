//! `check`: probes the ports a kiosk configuration names and, for each device that does
//! not answer where configured, says what is there instead, where the device is, and
//! which key to set to which value.

use std::collections::HashMap;

use crate::classify::Answer;
use crate::detect::quote;
use crate::discover::{Candidates, is_usb_printer_node};
use crate::probe::{self, Finding, Timings};

/// The `[devices]` keys `check` looks at (the kiosk's `DevicesSection`, as loaded and
/// validated by `kiosk::config::Config::load`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DevicesSection {
    pub reader_port: Option<std::path::PathBuf>,
    pub reader_baud: u32,
    pub printer: Option<String>,
    /// Line speed of a serial printer (`None` for USB and TCP).
    pub printer_baud: Option<u32>,
    pub camera: Option<std::path::PathBuf>,
}

/// One line of the verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub ok: bool,
    pub text: String,
}

impl Verdict {
    fn ok(text: String) -> Self {
        Verdict { ok: true, text }
    }
    fn wrong(text: String) -> Self {
        Verdict { ok: false, text }
    }
}

/// Probes on demand and remembers what each serial port holds, so no port is probed twice.
struct Survey<'a> {
    timings: &'a Timings,
    serial: Vec<String>,
    usb: Vec<String>,
    findings: HashMap<String, Finding>,
}

impl Survey<'_> {
    fn serial(&mut self, port: &str) -> Finding {
        let timings = self.timings;
        self.findings.entry(port.to_string()).or_insert_with(|| probe::probe_serial_port(port, timings)).clone()
    }

    fn usb(&mut self, port: &str) -> Finding {
        let timings = self.timings;
        self.findings.entry(port.to_string()).or_insert_with(|| probe::probe_usb_printer(port, timings)).clone()
    }

    /// The first serial port (other than `skip`) where `wanted` holds; probes in order.
    fn find_serial(&mut self, skip: &str, wanted: fn(&Finding) -> bool) -> Option<(String, Finding)> {
        for port in self.serial.clone() {
            if port != skip {
                let f = self.serial(&port);
                if wanted(&f) {
                    return Some((port, f));
                }
            }
        }
        None
    }

    /// Where a printer is: USB nodes first, then serial ports.
    fn find_printer(&mut self, skip: &str) -> Option<(String, Finding)> {
        for port in self.usb.clone() {
            if port != skip {
                let f = self.usb(&port);
                if f.is_printer() {
                    return Some((port, f));
                }
            }
        }
        self.find_serial(skip, Finding::is_printer)
    }

    fn probed(&self) -> String {
        let mut ports: Vec<&str> = self.serial.iter().chain(&self.usb).map(String::as_str).collect();
        ports.sort_unstable();
        if ports.is_empty() { "none found".into() } else { ports.join(", ") }
    }
}

/// What a finding means when it is not the configured device.
fn what_is_there(f: &Finding) -> String {
    match f {
        Finding::Reader { baud, .. } => format!("an ID card reader answers there (at {baud} baud)"),
        Finding::Printer { .. } => "a receipt printer answers there".into(),
        Finding::Unknown { .. } => format!("{f} there"),
        Finding::NoAnswer => "nothing answers there".into(),
        Finding::CannotOpen { error } => format!("it cannot be opened ({error})"),
    }
}

/// Checks the configured devices; `extra` ports (`--port`) widen the search, `only`
/// restricts it to configured and named ports.
pub fn check(devices: &DevicesSection, extra: &[String], only: bool, timings: &Timings) -> Vec<Verdict> {
    let mut named: Vec<String> = Vec::new();
    if let Some(p) = &devices.reader_port {
        named.push(p.display().to_string());
    }
    if let Some(p) = devices.printer.as_ref().filter(|p| !p.starts_with("tcp://")) {
        named.push(p.clone());
    }
    named.extend(extra.iter().cloned());
    let candidates = Candidates::gather(&named, only);
    let mut survey =
        Survey { timings, serial: candidates.serial, usb: candidates.usb_printers, findings: HashMap::new() };
    vec![
        check_reader(devices, &mut survey),
        check_printer(devices, &mut survey),
        check_camera(devices, &candidates.cameras),
    ]
}

fn check_reader(devices: &DevicesSection, survey: &mut Survey<'_>) -> Verdict {
    let baud = devices.reader_baud;
    let Some(port) = devices.reader_port.as_ref().map(|p| p.display().to_string()) else {
        return match survey.find_serial("", Finding::is_reader) {
            Some((at, Finding::Reader { baud: found, .. })) => Verdict::wrong(format!(
                "devices.reader_port is not set; the ID card reader answers on {at} at {found} baud — set devices.reader_port = {}{}",
                quote(&at),
                baud_fix(baud, found)
            )),
            _ => Verdict::wrong(format!(
                "devices.reader_port is not set, and no ID card reader answers on any port (probed: {})",
                survey.probed()
            )),
        };
    };
    // The configured speed first: one attempt when all is well.
    if let Ok(Answer::Reader(r)) = probe::probe_reader(&port, baud, survey.timings.reader) {
        let sam = r.sam.map(|s| format!("SAM {s}")).unwrap_or_else(|| format!("but its SAM answered {}", r.status));
        let verdict = format!("devices.reader_port = {}: ID card reader answers at {baud} baud, {sam}", quote(&port));
        return if r.sam.is_some() { Verdict::ok(verdict) } else { Verdict::wrong(verdict) };
    }
    let here = survey.serial(&port);
    if let Finding::Reader { baud: found, .. } = here {
        return Verdict::wrong(format!(
            "devices.reader_baud = {baud}: the ID card reader on {port} answers at {found} baud — set devices.reader_baud = {found}"
        ));
    }
    let there = what_is_there(&here);
    match survey.find_serial(&port, Finding::is_reader) {
        Some((at, Finding::Reader { baud: found, .. })) => Verdict::wrong(format!(
            "devices.reader_port = {}: {there}; the ID card reader answers on {at} at {found} baud — set devices.reader_port = {}{}",
            quote(&port),
            quote(&at),
            baud_fix(baud, found)
        )),
        _ => Verdict::wrong(format!(
            "devices.reader_port = {}: {there}; no ID card reader answers on any port (probed: {}) — check its cable and power",
            quote(&port),
            survey.probed()
        )),
    }
}

fn baud_fix(configured: u32, found: u32) -> String {
    if configured == found { String::new() } else { format!(" and devices.reader_baud = {found}") }
}

fn check_printer(devices: &DevicesSection, survey: &mut Survey<'_>) -> Verdict {
    let Some(target) = devices.printer.clone() else {
        return match survey.find_printer("") {
            Some((at, f)) => Verdict::wrong(format!(
                "devices.printer is not set; the receipt printer answers on {} — set devices.printer = {}",
                printer_at(&at, &f),
                quote(&at)
            )),
            None => Verdict::wrong(format!(
                "devices.printer is not set, and no receipt printer answers (probed: {})",
                survey.probed()
            )),
        };
    };
    let here = if target.starts_with("tcp://") {
        probe::probe_tcp_printer(&target, survey.timings)
    } else if is_usb_printer_node(&target) {
        survey.usb(&target)
    } else {
        survey.serial(&target)
    };
    if let Finding::Printer { baud, .. } = &here {
        let text = format!("devices.printer = {}: {here}", quote(&target));
        return match (*baud, devices.printer_baud) {
            (Some(found), Some(set)) if found != set => Verdict::wrong(format!(
                "{text}; but devices.printer_baud = {set}: it answers at {found} baud — set devices.printer_baud = {found}"
            )),
            (Some(found), None) => Verdict::wrong(format!(
                "{text}; a serial printer needs its line speed — set devices.printer_baud = {found}"
            )),
            _ => Verdict::ok(text),
        };
    }
    let there = what_is_there(&here);
    match survey.find_printer(&target) {
        Some((at, f)) => Verdict::wrong(format!(
            "devices.printer = {}: {there}; the receipt printer answers on {} — set devices.printer = {}",
            quote(&target),
            printer_at(&at, &f),
            quote(&at)
        )),
        None => Verdict::wrong(format!(
            "devices.printer = {}: {there}; no receipt printer answers on any port (probed: {}) — check its cable and power",
            quote(&target),
            survey.probed()
        )),
    }
}

/// `/dev/ttyUSB1 at 9600 baud (paper ok)`; a serial printer's speed is the kiosk's to keep.
fn printer_at(at: &str, f: &Finding) -> String {
    match f {
        Finding::Printer { baud: Some(baud), paper, .. } => {
            format!("{at} at {baud} baud (paper {}; then also set devices.printer_baud = {baud})", paper.as_str())
        }
        Finding::Printer { baud: None, paper, .. } => format!("{at} (paper {})", paper.as_str()),
        other => format!("{at} ({other})"),
    }
}

fn check_camera(devices: &DevicesSection, present: &[String]) -> Verdict {
    let suggestion = match present.first() {
        Some(c) => format!(" — set devices.camera = {}", quote(c)),
        None => " (no /dev/video* node exists: check the camera's USB cable)".into(),
    };
    match &devices.camera {
        None => Verdict::wrong(format!("devices.camera is not set{suggestion}")),
        Some(c) if c.exists() => {
            Verdict::ok(format!("devices.camera = {}: the node exists (not opened)", quote(&c.display().to_string())))
        }
        Some(c) => Verdict::wrong(format!(
            "devices.camera = {}: no such device node{suggestion}",
            quote(&c.display().to_string())
        )),
    }
}
