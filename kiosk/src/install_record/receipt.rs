//! The provisioning receipt: what the technician leaves in the terminal's log book.
//! A pure layout (a typed `printer::Document`, encoded by the printer driver like every
//! kiosk printout), so its text and bytes are tested without a printer.

use printer::{Document, Item};

use super::state::{Devices, Outcome, SelfTestResult};

/// What the receipt says.
#[derive(Clone, Debug, PartialEq)]
pub struct ReceiptInfo<'a> {
    pub terminal_id: &'a str,
    pub devices: &'a Devices,
    pub self_tests: &'a [SelfTestResult],
    pub software_version: &'a str,
    pub central_url: &'a str,
    /// When it was printed, already in China time (e.g. "2026年12月05日 20:47").
    pub printed_at: &'a str,
    /// A copy printed later from the maintenance screen: when (China time). The original
    /// install time stays in `printed_at`.
    pub reprinted_at: Option<&'a str>,
}

/// The receipt's layout: the terminal id as text and as a QR code (ops scan it to find
/// the terminal), the devices, the self-tests, the software version.
pub fn document(info: &ReceiptInfo<'_>) -> Document {
    let d = info.devices;
    let mut items = vec![
        Item::title("终端安装回执"),
        Item::centered("Provisioning receipt"),
        Item::separator('='),
        Item::row("终端编号 Terminal", info.terminal_id),
        Item::qr(info.terminal_id),
        Item::separator('-'),
        Item::bold("设备 Devices"),
    ];
    let reader = format!("{} @ {} baud", d.reader_port, d.reader_baud);
    items.push(Item::row("身份证读卡器 Reader", reader));
    if let Some(sam) = &d.reader_sam {
        items.push(Item::row("SAM", sam.as_str()));
    }
    let printer = match d.printer_baud {
        Some(baud) => format!("{} @ {baud} baud", d.printer),
        None => d.printer.clone(),
    };
    items.push(Item::row("打印机 Printer", printer));
    items.push(Item::row("摄像头 Camera", d.camera.as_deref().unwrap_or("-")));
    items.push(Item::separator('-'));
    items.push(Item::bold("自检 Self-tests"));
    for t in info.self_tests {
        let result = match &t.outcome {
            Outcome::Passed(detail) => format!("通过 ok: {detail}"),
            Outcome::Failed(why) => format!("失败 FAILED: {why}"),
            Outcome::Skipped => "跳过 skipped".to_owned(),
        };
        items.push(Item::row(t.device.as_str(), result));
    }
    items.push(Item::separator('-'));
    items.push(Item::row("软件版本 Version", info.software_version));
    items.push(Item::row("中心 Central", info.central_url));
    items.push(Item::row("安装时间 Installed", info.printed_at));
    if let Some(at) = info.reprinted_at {
        items.push(Item::row("补打时间 Reprinted", at));
    }
    items.push(Item::cut());
    Document::new(items)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn sample() -> (Devices, Vec<SelfTestResult>) {
        let devices = Devices {
            reader_port: "/dev/ttyUSB0".into(),
            reader_baud: 115_200,
            reader_sam: Some("0501".into()),
            printer: "/dev/usb/lp0".into(),
            printer_baud: None,
            camera: Some("/dev/video0".into()),
        };
        let tests = vec![
            SelfTestResult { device: "reader".into(), outcome: Outcome::Passed("1101**********002X".into()) },
            SelfTestResult { device: "printer".into(), outcome: Outcome::Passed("test page printed".into()) },
            SelfTestResult { device: "camera".into(), outcome: Outcome::Skipped },
        ];
        (devices, tests)
    }

    #[test]
    fn the_receipt_carries_the_terminal_id_as_text_and_qr_the_devices_tests_and_version() {
        let (devices, tests) = sample();
        let info = ReceiptInfo {
            terminal_id: "kiosk-7f3a",
            devices: &devices,
            self_tests: &tests,
            software_version: "0.1.0",
            central_url: "https://central.example:8443",
            printed_at: "2026年12月05日 20:47",
            reprinted_at: None,
        };
        let doc = document(&info);
        assert_eq!(
            doc.strings(),
            [
                "终端安装回执",
                "Provisioning receipt",
                "终端编号 Terminal",
                "kiosk-7f3a",
                "kiosk-7f3a",
                "设备 Devices",
                "身份证读卡器 Reader",
                "/dev/ttyUSB0 @ 115200 baud",
                "SAM",
                "0501",
                "打印机 Printer",
                "/dev/usb/lp0",
                "摄像头 Camera",
                "/dev/video0",
                "自检 Self-tests",
                "reader",
                "通过 ok: 1101**********002X",
                "printer",
                "通过 ok: test page printed",
                "camera",
                "跳过 skipped",
                "软件版本 Version",
                "0.1.0",
                "中心 Central",
                "https://central.example:8443",
                "安装时间 Installed",
                "2026年12月05日 20:47",
            ]
        );
        assert!(matches!(&doc.items[4], Item::Qr(q) if q.qr == "kiosk-7f3a"), "the QR holds the terminal id");
        // The driver's bytes: the QR is stored as the printer's native symbol holding the id.
        let bytes = printer::encode(&doc, &printer::Profile::KIOSK_80, Some(printer::Mode::Native)).unwrap();
        let store = [b"\x1d(k".as_slice(), &[13, 0, 49, 80, 48], b"kiosk-7f3a"].concat();
        assert!(bytes.windows(store.len()).any(|w| w == store.as_slice()), "GS ( k store of the id");
    }

    #[test]
    fn a_reprint_says_when_it_was_installed_and_when_this_copy_was_printed() {
        use crate::install_record::state::{InstallState, Step};
        let (devices, tests) = sample();
        let mut record = InstallState {
            devices: Some(devices),
            self_tests: tests,
            terminal_id: Some("kiosk-7f3a".into()),
            installed_at: Some("2026年12月05日 20:47".into()),
            ..InstallState::default()
        };
        assert_eq!(
            crate::install_record::reprint(&record, "https://c", "2027年01月02日 09:00"),
            Err(crate::install_record::ReprintRefusal::Unfinished),
            "an install that never printed its receipt has none to print again"
        );
        Step::ALL.iter().for_each(|s| record.mark_done(*s));
        let doc = crate::install_record::reprint(&record, "https://c", "2027年01月02日 09:00").unwrap();
        let strings = doc.strings();
        let tail = &strings[strings.len() - 4..];
        assert_eq!(tail, ["安装时间 Installed", "2026年12月05日 20:47", "补打时间 Reprinted", "2027年01月02日 09:00"]);
        assert!(strings.contains(&"kiosk-7f3a"));
    }
}
