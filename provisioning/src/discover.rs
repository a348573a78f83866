//! Where devices may be: serial ports the system lists, USB printer-class nodes and
//! camera nodes. Listing only; nothing here opens a device.

use std::path::Path;

/// What to look at besides the ports named on the command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Candidates {
    pub serial: Vec<String>,
    pub usb_printers: Vec<String>,
    /// `tcp://host:port` printers named on the command line.
    pub tcp_printers: Vec<String>,
    pub cameras: Vec<String>,
}

impl Candidates {
    /// Sorts the named ports (`--port`) into serial, USB printer and TCP, and adds what the
    /// system lists unless `only` is set.
    pub fn gather(named: &[String], only: bool) -> Candidates {
        let mut c = Candidates::default();
        for port in named {
            c.add_named(port);
        }
        if !only {
            for port in system_serial_ports() {
                push_unique(&mut c.serial, port);
            }
            for node in nodes_with_prefix(Path::new("/dev/usb"), "lp") {
                push_unique(&mut c.usb_printers, node);
            }
        }
        // Cameras are only listed, never opened, so they are always looked for.
        c.cameras = nodes_with_prefix(Path::new("/dev"), "video");
        c
    }

    /// The candidates but `skip`: ports a running kiosk holds, whose exchanges a probe
    /// would garble (the kiosk's maintenance screen re-detects around its working devices).
    #[must_use]
    pub fn without(mut self, skip: &[String]) -> Candidates {
        for list in [&mut self.serial, &mut self.usb_printers, &mut self.tcp_printers] {
            list.retain(|p| !skip.contains(p));
        }
        self
    }

    fn add_named(&mut self, port: &str) {
        if port.starts_with("tcp://") {
            push_unique(&mut self.tcp_printers, port.to_string());
        } else if is_usb_printer_node(port) {
            push_unique(&mut self.usb_printers, port.to_string());
        } else {
            push_unique(&mut self.serial, port.to_string());
        }
    }
}

/// A USB printer-class node, also when reached through a udev symlink.
pub fn is_usb_printer_node(path: &str) -> bool {
    let real = std::fs::canonicalize(path).map(|p| p.display().to_string()).unwrap_or_else(|_| path.to_string());
    real.starts_with("/dev/usb/lp")
}

/// Adds `port` unless it (or the same device under another name) is already listed.
fn push_unique(list: &mut Vec<String>, port: String) {
    let same = |a: &str, b: &str| {
        a == b || matches!((std::fs::canonicalize(a), std::fs::canonicalize(b)), (Ok(x), Ok(y)) if x == y)
    };
    if !list.iter().any(|p| same(p, &port)) {
        list.push(port);
    }
}

fn system_serial_ports() -> Vec<String> {
    match serialport::available_ports() {
        Ok(ports) => ports.into_iter().map(|p| p.port_name).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot list serial ports; probe them with --port");
            Vec::new()
        }
    }
}

/// `dir/prefixN` nodes, in numeric order (`video2` before `video10`).
fn nodes_with_prefix(dir: &Path, prefix: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut found: Vec<(u32, String)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let n = name.strip_prefix(prefix)?.parse::<u32>().ok()?;
            Some((n, e.path().display().to_string()))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, p)| p).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_ports_are_sorted_by_kind_and_deduplicated() {
        let named = ["/dev/ttyUSB0", "tcp://10.0.0.5:9100", "/dev/usb/lp0", "/dev/ttyUSB0"].map(String::from);
        let c = Candidates::gather(&named, true);
        assert_eq!(c.serial, ["/dev/ttyUSB0"]);
        assert_eq!(c.usb_printers, ["/dev/usb/lp0"]);
        assert_eq!(c.tcp_printers, ["tcp://10.0.0.5:9100"]);
    }

    #[test]
    fn skipped_ports_are_not_probed_even_when_named() {
        let named = ["/dev/ttyUSB0", "/dev/ttyUSB1", "/dev/usb/lp0"].map(String::from);
        let c = Candidates::gather(&named, true).without(&["/dev/ttyUSB0".into(), "/dev/usb/lp0".into()]);
        assert_eq!(c.serial, ["/dev/ttyUSB1"]);
        assert!(c.usb_printers.is_empty());
    }

    #[test]
    fn numbered_nodes_are_listed_in_numeric_order() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["video10", "video2", "video0", "videox", "audio0"] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        let got = nodes_with_prefix(dir.path(), "video");
        let names: Vec<_> = got.iter().map(|p| p.rsplit('/').next().unwrap()).collect();
        assert_eq!(names, ["video0", "video2", "video10"]);
    }
}
