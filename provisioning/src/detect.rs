//! `detect`: probes every candidate port (ports in parallel, each bounded), and writes
//! the report and the `[devices]` section to put in `/etc/kiosk/kiosk.toml`.

use std::fmt::Write as _;

use serde::Serialize;

use crate::discover::Candidates;
use crate::probe::{self, Finding, Timings};

/// One probed port.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PortReport {
    pub port: String,
    #[serde(flatten)]
    pub finding: Finding,
}

/// Everything `detect` found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Detection {
    pub serial: Vec<PortReport>,
    pub usb_printers: Vec<PortReport>,
    pub tcp_printers: Vec<PortReport>,
    /// Camera nodes that exist (not opened).
    pub cameras: Vec<String>,
    /// The social security card readers PC/SC knows (asked of pcscd, nothing sent to a
    /// card), or why they could not be listed.
    #[serde(serialize_with = "listed_or_why")]
    pub pcsc_readers: Result<Vec<PcscReader>, String>,
}

/// `{"readers": [...]}` or `{"error": "..."}` in the JSON report.
fn listed_or_why<S: serde::Serializer>(r: &Result<Vec<PcscReader>, String>, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    #[serde(rename_all = "snake_case")]
    enum Listed<'a> {
        Readers(&'a [PcscReader]),
        Error(&'a str),
    }
    match r {
        Ok(readers) => Listed::Readers(readers).serialize(s),
        Err(why) => Listed::Error(why).serialize(s),
    }
}

/// A PC/SC reader and whether a card is in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PcscReader {
    pub name: String,
    pub card_present: bool,
}

/// The PC/SC readers, as pcscd lists them.
pub fn pcsc_readers() -> Result<Vec<PcscReader>, String> {
    let ctx = sscard::transport::establish().map_err(|e| e.to_string())?;
    let readers = sscard::transport::readers(&ctx).map_err(|e| e.to_string())?;
    Ok(readers.into_iter().map(|r| PcscReader { name: r.name, card_present: r.card_present }).collect())
}

/// Probes every candidate; ports are independent, so they are probed at the same time.
pub fn detect(candidates: &Candidates, timings: &Timings) -> Detection {
    let run = |ports: &[String], probe: fn(&str, &Timings) -> Finding| -> Vec<PortReport> {
        std::thread::scope(|s| {
            let handles: Vec<_> = ports.iter().map(|p| (p, s.spawn(move || probe(p, timings)))).collect();
            handles
                .into_iter()
                .map(|(port, h)| PortReport {
                    port: port.clone(),
                    finding: h.join().unwrap_or(Finding::CannotOpen { error: "probe thread failed".into() }),
                })
                .collect()
        })
    };
    Detection {
        serial: run(&candidates.serial, probe::probe_serial_port),
        usb_printers: run(&candidates.usb_printers, probe::probe_usb_printer),
        tcp_printers: run(&candidates.tcp_printers, probe::probe_tcp_printer),
        cameras: candidates.cameras.clone(),
        pcsc_readers: pcsc_readers(),
    }
}

impl Detection {
    /// The first ID card reader found: port and baud.
    pub fn reader(&self) -> Option<(&str, u32)> {
        self.serial.iter().find_map(|r| match r.finding {
            Finding::Reader { baud, .. } => Some((r.port.as_str(), baud)),
            _ => None,
        })
    }

    /// The printer to suggest: USB first (the kiosk's usual link), then TCP, then serial.
    pub fn printer(&self) -> Option<&PortReport> {
        self.usb_printers.iter().chain(&self.tcp_printers).chain(&self.serial).find(|r| r.finding.is_printer())
    }

    /// The human-readable report, ending with the suggested section.
    pub fn render(&self, timings: &Timings) -> String {
        let mut out = String::new();
        let bound = timings.serial_port_bound().as_secs_f64();
        let _ = writeln!(out, "Serial ports (probed in parallel, at most {bound:.2} s each):");
        section(&mut out, &self.serial);
        if !self.usb_printers.is_empty() || !self.tcp_printers.is_empty() {
            let _ = writeln!(out, "Printers on USB and TCP:");
            section(&mut out, &self.usb_printers);
            section(&mut out, &self.tcp_printers);
        }
        let _ = writeln!(out, "Cameras (listed, not opened):");
        if self.cameras.is_empty() {
            let _ = writeln!(out, "  none (no /dev/video* node)");
        }
        for c in &self.cameras {
            let _ = writeln!(out, "  {c}");
        }
        let _ = writeln!(out, "Social security card readers (PC/SC, through pcscd):");
        match &self.pcsc_readers {
            Err(why) => {
                let _ = writeln!(out, "  cannot list them: {why}");
            }
            Ok(readers) if readers.is_empty() => {
                let _ = writeln!(out, "  none (pcscd runs but sees no reader: is it plugged in?)");
            }
            Ok(readers) => {
                for r in readers {
                    let card = if r.card_present { ", a card is in it" } else { "" };
                    let _ = writeln!(out, "  {}{card}", r.name);
                }
            }
        }
        let _ = writeln!(out, "\nSuggested section for /etc/kiosk/kiosk.toml:\n");
        out.push_str(&self.suggested_toml());
        out
    }

    /// The `[devices]` section for what was found; what was not found stays commented out.
    pub fn suggested_toml(&self) -> String {
        let mut t = String::from("[devices]\n");
        match self.reader() {
            Some((port, baud)) => {
                let _ = writeln!(t, "reader_port = {}\nreader_baud = {baud}", quote(port));
            }
            None => t.push_str("# reader_port = \"/dev/ttyUSB0\"   # no ID card reader answered on any port\n"),
        }
        match self.printer() {
            Some(p) => {
                let _ = writeln!(t, "printer = {}", quote(&p.port));
                if let Finding::Printer { baud: Some(baud), .. } = p.finding {
                    let _ = writeln!(t, "printer_baud = {baud}");
                }
            }
            None => t.push_str("# printer = \"/dev/usb/lp0\"   # no receipt printer answered\n"),
        }
        t.push_str("# The paper width cannot be probed: \"58mm\" or \"80mm\" (the kiosk assumes 80mm).\n");
        t.push_str("printer_profile = \"80mm\"\n");
        match self.cameras.first() {
            Some(c) => {
                let _ = writeln!(t, "camera = {}", quote(c));
            }
            None => t.push_str("# camera = \"/dev/video0\"   # no camera node found\n"),
        }
        match self.pcsc_readers.as_deref().map(<[PcscReader]>::first) {
            Ok(Some(r)) => {
                let _ = writeln!(t, "social_security_reader = {}", quote(&r.name));
            }
            _ => t.push_str("# social_security_reader = \"auto\"   # no PC/SC reader found\n"),
        }
        t
    }
}

fn section(out: &mut String, reports: &[PortReport]) {
    if reports.is_empty() {
        out.push_str("  none\n");
    }
    for r in reports {
        let _ = writeln!(out, "  {}: {}", r.port, r.finding);
    }
}

/// A TOML string literal (escaped as the TOML crate does).
pub fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(port: &str, finding: Finding) -> PortReport {
        PortReport { port: port.into(), finding }
    }

    #[test]
    fn suggestion_names_the_reader_port_and_baud_and_prefers_a_usb_printer() {
        let reader = Finding::Reader { baud: 9600, sam_id: Some("00".into()), sam_status: "90: ok".into() };
        let serial_printer =
            Finding::Printer { baud: Some(9600), paper: crate::Paper::Ok, health: printer::Health::Ok };
        let usb_printer = Finding::Printer { baud: None, paper: crate::Paper::Ok, health: printer::Health::Ok };
        let d = Detection {
            serial: vec![report("/dev/ttyUSB1", serial_printer), report("/dev/ttyUSB0", reader)],
            usb_printers: vec![report("/dev/usb/lp0", usb_printer)],
            tcp_printers: vec![],
            cameras: vec!["/dev/video0".into()],
            pcsc_readers: Ok(vec![PcscReader { name: "ACS ACR39U ICC Reader 00 00".into(), card_present: false }]),
        };
        let toml_text = d.suggested_toml();
        let parsed: toml::Table = toml::from_str(&toml_text).unwrap();
        let devices = parsed["devices"].as_table().unwrap();
        assert_eq!(devices["reader_port"].as_str(), Some("/dev/ttyUSB0"));
        assert_eq!(devices["reader_baud"].as_integer(), Some(9600));
        assert_eq!(devices["printer"].as_str(), Some("/dev/usb/lp0"));
        assert_eq!(devices["camera"].as_str(), Some("/dev/video0"));
        assert_eq!(devices["social_security_reader"].as_str(), Some("ACS ACR39U ICC Reader 00 00"));
        assert!(d.render(&Timings::default()).contains("ACS ACR39U ICC Reader 00 00"));
    }

    #[test]
    fn nothing_found_leaves_every_port_key_commented_out() {
        let d = Detection {
            serial: vec![report("/dev/ttyS0", Finding::NoAnswer)],
            usb_printers: vec![],
            tcp_printers: vec![],
            cameras: vec![],
            pcsc_readers: Err("the PC/SC service (pcscd) is not running".into()),
        };
        let parsed: toml::Table = toml::from_str(&d.suggested_toml()).unwrap();
        let devices = parsed["devices"].as_table().unwrap();
        assert_eq!(devices.keys().collect::<Vec<_>>(), ["printer_profile"]);
        let report = d.render(&Timings::default());
        assert!(report.contains("/dev/ttyS0: no answer"), "{report}");
        assert!(report.contains("cannot list them: the PC/SC service (pcscd) is not running"), "{report}");
    }
}
