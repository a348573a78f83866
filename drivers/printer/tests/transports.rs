//! The real links against the virtual printer served on a pseudo-terminal and TCP.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{CERT_QR, certificate, decode_qr};
use printer::virtual_printer::VirtualPrinter;
use printer::{Health, Link, LinkError, Printer, Profile, SerialLink, TcpLink, UsbLpLink};

#[test]
fn serial_link_prints_through_a_pty() {
    let vp = VirtualPrinter::new(Profile::KIOSK_80);
    let server = vp.serve_pty().unwrap();
    let link = SerialLink::open(&server.path().to_string_lossy(), 115_200).unwrap();
    let mut p = Printer::new(link, Profile::KIOSK_80);
    assert_eq!(p.preflight().unwrap().health(), Health::Ok);
    p.print(&certificate()).unwrap();
    let receipts = vp.control().receipts();
    assert_eq!(receipts.len(), 1);
    assert_eq!(decode_qr(&receipts[0]), [CERT_QR]);
}

#[test]
fn serial_status_reports_paper_out_from_the_pty_printer() {
    let vp = VirtualPrinter::new(Profile::CLONE_58);
    let server = vp.serve_pty().unwrap();
    vp.control().paper_out();
    let link = SerialLink::open(&server.path().to_string_lossy(), 9600).unwrap();
    let mut p = Printer::new(link, Profile::CLONE_58);
    assert_eq!(p.health(), Health::PaperOut);
}

#[test]
fn tcp_link_prints_to_a_network_printer() {
    let vp = VirtualPrinter::new(Profile::EPSON_80);
    let server = vp.serve_tcp("127.0.0.1:0").unwrap();
    let link = TcpLink::connect(&server.local_addr().to_string()).unwrap();
    let mut p = Printer::new(link, Profile::EPSON_80);
    p.print(&certificate()).unwrap();
    assert_eq!(decode_qr(&vp.control().receipts()[0]), [CERT_QR]);
}

#[test]
fn usb_lp_link_moves_bytes_and_reads_replies() {
    // A pty stands in for /dev/usb/lp0: same open/poll/read/write path, no LPGETSTATUS.
    let vp = VirtualPrinter::new(Profile::KIOSK_80);
    let server = vp.serve_pty().unwrap();
    let mut link = UsbLpLink::open(server.path()).unwrap();
    assert_eq!(link.port_status(), None);
    let mut p = Printer::new(link, Profile::KIOSK_80);
    p.print(&certificate()).unwrap();
    assert_eq!(vp.control().receipt_count(), 1);
}

#[test]
fn usb_lp_write_times_out_when_the_printer_stops_taking_data() {
    // Nobody reads the other side: the kernel buffer fills and the write must give up.
    let pty = nix::pty::openpty(None, None).unwrap();
    let path = nix::unistd::ttyname(&pty.slave).unwrap();
    let mut link = UsbLpLink::open(&path).unwrap().with_write_timeout(Duration::from_millis(300));
    let err = link.send(&vec![b'x'; 1 << 20]).unwrap_err();
    assert!(matches!(err, LinkError::WriteTimeout(_)), "{err}");
    drop(pty);
}

#[test]
fn usb_lp_open_names_the_missing_device() {
    let err = UsbLpLink::open(std::path::Path::new("/dev/usb/lp-nonexistent")).unwrap_err();
    assert!(err.to_string().contains("/dev/usb/lp-nonexistent"), "{err}");
}
