//! `kiosk-provision install`: from detected devices to a terminal operations can see,
//! in one guided command. The pure parts (the persisted progress, the udev rules, the
//! receipt's layout, the configuration's text) are here; [`run`] carries the steps out
//! through the kiosk's own code (its configuration loader, drivers, enrollment, PIN hash).

pub mod receipt;
pub mod state;
pub mod udev;

#[cfg(feature = "cli")]
pub mod run;

use std::fmt::Write as _;
use std::path::Path;

use crate::detect::quote;
use state::Devices;

/// What goes into `kiosk.toml`: everything the install decided, nothing else (every
/// other key keeps the kiosk's documented default).
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigInputs<'a> {
    pub data_dir: &'a Path,
    pub central_url: &'a str,
    pub devices: &'a Devices,
    pub printer_profile: &'a str,
    pub metrics_listen: Option<&'a str>,
    pub pin_hash: Option<&'a str>,
}

/// The configuration file's text.
pub fn config_text(c: &ConfigInputs<'_>) -> String {
    let d = c.devices;
    let mut t = String::from(
        "# Written by `kiosk-provision install`; every key is documented in kiosk.example.toml.\n\n[terminal]\n",
    );
    let _ = writeln!(t, "data_dir = {}", quote(&c.data_dir.display().to_string()));
    let _ = writeln!(t, "\n[central]\nurl = {}", quote(c.central_url));
    if let Some(listen) = c.metrics_listen {
        let _ = writeln!(t, "\n[telemetry]\nmetrics_listen = {}", quote(listen));
    }
    let _ = writeln!(t, "\n[devices]\nreader_port = {}\nreader_baud = {}", quote(&d.reader_port), d.reader_baud);
    let _ = writeln!(t, "printer = {}", quote(&d.printer));
    if let Some(baud) = d.printer_baud {
        let _ = writeln!(t, "printer_baud = {baud}");
    }
    let _ = writeln!(t, "printer_profile = {}", quote(c.printer_profile));
    if let Some(camera) = &d.camera {
        let _ = writeln!(t, "camera = {}", quote(camera));
    }
    if let Some(hash) = c.pin_hash {
        let _ = writeln!(t, "\n[maintenance]\npin_hash = {}", quote(hash));
    }
    t
}

/// A CA certificate's SHA-256 fingerprint over its DER bytes, as `AB:CD:...` (the form
/// `openssl x509 -noout -fingerprint -sha256` prints, which operations hand out).
pub fn ca_fingerprint(pem: &str) -> Option<String> {
    use sha2::Digest as _;
    let der = rustls_pemfile::certs(&mut pem.as_bytes()).next()?.ok()?;
    let digest = sha2::Sha256::digest(der.as_ref());
    Some(digest.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":"))
}

/// Whether two fingerprints are the same, however they were typed (case, colons, spaces,
/// an `sha256 Fingerprint=` prefix pasted from openssl).
pub fn same_fingerprint(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        let s = s.rsplit('=').next().unwrap_or(s);
        s.chars().filter(char::is_ascii_hexdigit).map(|c| c.to_ascii_lowercase()).collect::<String>()
    };
    let (a, b) = (norm(a), norm(b));
    a.len() == 64 && a == b
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn fingerprints_compare_however_they_were_typed_and_never_when_short() {
        let fp = "AB:".repeat(31) + "AB";
        assert!(same_fingerprint(&fp, &"ab".repeat(32)));
        assert!(same_fingerprint(&format!("sha256 Fingerprint={fp}"), &fp.to_lowercase().replace(':', " ")));
        assert!(!same_fingerprint(&fp, &"ab".repeat(31)));
        assert!(!same_fingerprint("", ""), "an empty fingerprint confirms nothing");
    }

    #[test]
    fn the_fingerprint_is_over_the_certificate_der() {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["ca".into()]).unwrap().self_signed(&key).unwrap();
        use sha2::Digest as _;
        let expected = hex::encode_upper(sha2::Sha256::digest(cert.der()));
        let got = ca_fingerprint(&cert.pem()).unwrap();
        assert_eq!(got.replace(':', ""), expected);
        assert_eq!(ca_fingerprint("not a certificate"), None);
    }
}
