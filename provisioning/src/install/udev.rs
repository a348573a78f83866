//! Per-terminal udev rules: a stable name under `/dev/kiosk/` for each device found,
//! by the adapter's USB serial number when it has a unique one, else by the USB port it
//! is plugged into (`ID_PATH`), so two identical readers get two names; and group
//! `kiosk` with mode 0660, so the `kiosk` user opens them without root.
//!
//! Generation is a pure function of udev's properties (`udevadm info --query=property`)
//! so it is tested with synthetic ones: on the build machines the devices are
//! pseudo-terminals, which udev knows nothing about.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Which kiosk device a node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Reader,
    Printer,
    Camera,
    Scanner,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Printer => "printer",
            Role::Camera => "camera",
            Role::Scanner => "scanner",
        }
    }
}

/// A device node and what udev says about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UdevDevice {
    pub role: Role,
    pub devnode: String,
    pub properties: BTreeMap<String, String>,
}

/// How a rule recognises its device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Match {
    /// The adapter's own serial number (follows the device to any port).
    Serial { vendor: String, product: String, serial: String },
    /// The USB port path (the device must stay in that port).
    Port { id_path: String },
}

/// One rule: a device, how it is matched and the name it gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub role: Role,
    pub devnode: String,
    pub subsystem: String,
    pub matcher: Match,
    /// The link under /dev, e.g. `kiosk/reader` or `kiosk/reader-2`.
    pub symlink: String,
}

/// A device no rule can name, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotNamed {
    pub devnode: String,
    pub why: String,
}

/// Parses `udevadm info --query=property` output (`KEY=value` lines).
pub fn parse_properties(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

/// A value safe inside a udev rule's double quotes (udev has no escape for `"`).
fn safe(v: &str) -> bool {
    !v.is_empty() && v.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
}

/// The rules for `devices`: one per device udev can identify.
pub fn rules(devices: &[UdevDevice]) -> (Vec<Rule>, Vec<NotNamed>) {
    let (mut named, mut not_named) = (Vec::new(), Vec::new());
    let mut per_role: BTreeMap<Role, usize> = BTreeMap::new();
    for d in devices {
        let p = |k: &str| d.properties.get(k).filter(|v| safe(v)).cloned();
        let Some(subsystem) = p("SUBSYSTEM") else {
            not_named.push(NotNamed { devnode: d.devnode.clone(), why: "udev does not know this node".into() });
            continue;
        };
        let usb = (p("ID_VENDOR_ID"), p("ID_MODEL_ID"), p("ID_SERIAL_SHORT"));
        // A serial number names a device only if no other device of the same model
        // carries it too (cheap adapters often share one, or have none).
        let serial_match = match usb {
            (Some(vendor), Some(product), Some(serial)) => {
                let shared = devices.iter().filter(|o| {
                    o.properties.get("ID_VENDOR_ID") == Some(&vendor)
                        && o.properties.get("ID_MODEL_ID") == Some(&product)
                        && o.properties.get("ID_SERIAL_SHORT") == Some(&serial)
                });
                (shared.count() == 1).then_some(Match::Serial { vendor, product, serial })
            }
            _ => None,
        };
        let matcher = match (serial_match, p("ID_PATH")) {
            (Some(m), _) => m,
            (None, Some(id_path)) => Match::Port { id_path },
            (None, None) => {
                not_named.push(NotNamed {
                    devnode: d.devnode.clone(),
                    why: "neither a unique USB serial number nor a port path (ID_PATH): not a USB or PCI device".into(),
                });
                continue;
            }
        };
        let n = per_role.entry(d.role).or_insert(0);
        *n += 1;
        let symlink =
            if *n == 1 { format!("kiosk/{}", d.role.name()) } else { format!("kiosk/{}-{}", d.role.name(), n) };
        named.push(Rule { role: d.role, devnode: d.devnode.clone(), subsystem, matcher, symlink });
    }
    (named, not_named)
}

/// The rules file.
pub fn render(rules: &[Rule]) -> String {
    let mut out = String::from(
        "# Written by `kiosk-provision install` for this terminal's devices: stable names under\n\
         # /dev/kiosk/ and group kiosk, so the kiosk service needs no root. Re-run the install's\n\
         # detection after moving a device matched by port (ID_PATH) to another USB port.\n",
    );
    for r in rules {
        let matcher = match &r.matcher {
            Match::Serial { vendor, product, serial } => {
                format!(
                    "ATTRS{{idVendor}}==\"{vendor}\", ATTRS{{idProduct}}==\"{product}\", ATTRS{{serial}}==\"{serial}\""
                )
            }
            Match::Port { id_path } => format!("ENV{{ID_PATH}}==\"{id_path}\""),
        };
        let _ = writeln!(out, "# {} (found on {})", r.role.name(), r.devnode);
        let _ = writeln!(
            out,
            "SUBSYSTEM==\"{}\", {matcher}, SYMLINK+=\"{}\", GROUP=\"kiosk\", MODE=\"0660\"",
            r.subsystem, r.symlink
        );
    }
    out
}

/// `devices` with each path a rule names replaced by its stable link, where `present`
/// says udev has made the link (the rules applied): the configuration then names the
/// device, not the number the kernel gave it at this boot, which a second USB adapter
/// or another plug order changes. A link udev has not made (no udev here, or the
/// device left meanwhile) keeps the detected path. Returns the new devices and each
/// (old path, link) replaced.
pub fn with_stable_names(
    devices: &super::state::Devices,
    rules: &[Rule],
    present: impl Fn(&std::path::Path) -> bool,
) -> (super::state::Devices, Vec<(String, String)>) {
    let mut out = devices.clone();
    let mut replaced = Vec::new();
    for r in rules {
        let link = format!("/dev/{}", r.symlink);
        if !present(std::path::Path::new(&link)) {
            continue;
        }
        let slot = match r.role {
            Role::Reader => Some(&mut out.reader_port),
            Role::Printer => Some(&mut out.printer),
            Role::Camera => out.camera.as_mut(),
            // The install records no scanner port: it is set by hand, if at all.
            Role::Scanner => None,
        };
        if let Some(path) = slot.filter(|p| **p == r.devnode) {
            replaced.push((std::mem::replace(path, link.clone()), link));
        }
    }
    (out, replaced)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::path::Path;

    use super::*;

    /// What udev reports for a CH340 USB-serial adapter (no serial number) in `port`.
    fn ch340(role: Role, node: &str, port: &str) -> UdevDevice {
        let text = format!(
            "DEVNAME={node}\nSUBSYSTEM=tty\nID_VENDOR_ID=1a86\nID_MODEL_ID=7523\nID_PATH=pci-0000:00:14.0-usb-0:{port}:1.0\nID_PATH_TAG=x\n"
        );
        UdevDevice { role, devnode: node.into(), properties: parse_properties(&text) }
    }

    fn ftdi(role: Role, node: &str, serial: &str, port: &str) -> UdevDevice {
        let mut d = ch340(role, node, port);
        d.properties.insert("ID_VENDOR_ID".into(), "0403".into());
        d.properties.insert("ID_MODEL_ID".into(), "6001".into());
        d.properties.insert("ID_SERIAL_SHORT".into(), serial.into());
        d
    }

    #[test]
    fn the_configuration_takes_the_links_udev_made_and_keeps_the_rest() {
        let (rules, _) = rules(&[
            ftdi(Role::Reader, "/dev/ttyUSB0", "A10K1", "1"),
            ftdi(Role::Printer, "/dev/ttyUSB1", "A10K2", "2"),
            ch340(Role::Camera, "/dev/video0", "3"),
        ]);
        let detected = super::super::state::Devices {
            reader_port: "/dev/ttyUSB0".into(),
            reader_baud: 115_200,
            reader_sam: None,
            printer: "/dev/ttyUSB1".into(),
            printer_baud: Some(9600),
            camera: Some("/dev/video0".into()),
        };
        // udev made the reader's and the camera's links, not (yet) the printer's.
        let made = ["/dev/kiosk/reader", "/dev/kiosk/camera"];
        let (stable, replaced) = with_stable_names(&detected, &rules, |p| made.iter().any(|m| p == Path::new(m)));
        assert_eq!(stable.reader_port, "/dev/kiosk/reader");
        assert_eq!(stable.printer, "/dev/ttyUSB1", "no link yet: the detected path stays");
        assert_eq!(stable.camera.as_deref(), Some("/dev/kiosk/camera"));
        assert_eq!((stable.reader_baud, stable.printer_baud), (115_200, Some(9600)));
        assert_eq!(
            replaced,
            [
                ("/dev/ttyUSB0".to_owned(), "/dev/kiosk/reader".to_owned()),
                ("/dev/video0".to_owned(), "/dev/kiosk/camera".to_owned())
            ]
        );
        let (same, none) = with_stable_names(&detected, &rules, |_| false);
        assert_eq!((same, none), (detected, vec![]));
    }

    #[test]
    fn two_identical_readers_without_serial_numbers_get_two_rules_by_port() {
        let (rules, none) =
            rules(&[ch340(Role::Reader, "/dev/ttyUSB0", "1"), ch340(Role::Reader, "/dev/ttyUSB1", "2")]);
        assert!(none.is_empty());
        assert_eq!(rules.len(), 2);
        assert_ne!(rules[0].matcher, rules[1].matcher, "told apart");
        assert_eq!((rules[0].symlink.as_str(), rules[1].symlink.as_str()), ("kiosk/reader", "kiosk/reader-2"));
        let text = render(&rules);
        assert!(text.contains(
            "SUBSYSTEM==\"tty\", ENV{ID_PATH}==\"pci-0000:00:14.0-usb-0:1:1.0\", SYMLINK+=\"kiosk/reader\", GROUP=\"kiosk\", MODE=\"0660\""
        ), "{text}");
        assert!(text.contains("ENV{ID_PATH}==\"pci-0000:00:14.0-usb-0:2:1.0\", SYMLINK+=\"kiosk/reader-2\""), "{text}");
    }

    #[test]
    fn unique_serial_numbers_name_devices_wherever_they_are_plugged() {
        let (rules, _) = rules(&[
            ftdi(Role::Reader, "/dev/ttyUSB0", "A10K1", "1"),
            ftdi(Role::Printer, "/dev/ttyUSB1", "A10K2", "2"),
        ]);
        let text = render(&rules);
        assert!(text.contains(
            "SUBSYSTEM==\"tty\", ATTRS{idVendor}==\"0403\", ATTRS{idProduct}==\"6001\", ATTRS{serial}==\"A10K1\", SYMLINK+=\"kiosk/reader\""
        ), "{text}");
        assert!(text.contains("ATTRS{serial}==\"A10K2\", SYMLINK+=\"kiosk/printer\""), "{text}");
        assert!(!text.contains("ENV{ID_PATH}"), "{text}");
    }

    #[test]
    fn a_serial_number_two_adapters_share_falls_back_to_the_port() {
        let (rules, _) =
            rules(&[ftdi(Role::Reader, "/dev/ttyUSB0", "0001", "1"), ftdi(Role::Reader, "/dev/ttyUSB1", "0001", "2")]);
        assert!(rules.iter().all(|r| matches!(r.matcher, Match::Port { .. })), "{rules:?}");
        assert_ne!(rules[0].matcher, rules[1].matcher);
    }

    #[test]
    fn a_pseudo_terminal_is_not_named_and_says_why() {
        let pty = UdevDevice { role: Role::Reader, devnode: "/dev/pts/3".into(), properties: BTreeMap::new() };
        let (rules, none) = rules(&[pty]);
        assert!(rules.is_empty());
        assert_eq!(none[0].devnode, "/dev/pts/3");
        assert!(none[0].why.contains("udev does not know"), "{none:?}");
    }

    #[test]
    fn a_value_with_a_quote_is_never_written_into_a_rule() {
        let mut d = ftdi(Role::Reader, "/dev/ttyUSB0", "A\"B", "1");
        d.properties.insert("ID_PATH".into(), "x\" RUN+=\"/bin/sh".into());
        let (rules, none) = rules(&[d]);
        assert!(rules.is_empty(), "{rules:?}");
        assert_eq!(none.len(), 1);
    }
}
