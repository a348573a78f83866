//! End to end through the kernel: a virtual keyboard (uinput) types a scan, the evdev
//! transport grabs it and the task reports it. Opt-in: needs /dev/uinput (the build
//! machines have none) and root. Run with `SCANNER_UINPUT_TEST=1 cargo nextest run -p
//! scanner --run-ignored all --test uinput`.

#![allow(clippy::unwrap_used, clippy::panic)] // test helpers may fail loudly

use std::time::{Duration, Instant};

use evdev::uinput::VirtualDevice;
use evdev::{AttributeSet, EventType, InputEvent, KeyCode};
use scanner::keys::{KEY_ENTER, key_for};
use scanner::{EvdevScanner, Scan, ScannerConfig, ScannerEvent};

#[test]
#[ignore = "needs /dev/uinput and root: run with SCANNER_UINPUT_TEST=1 and --run-ignored all"]
fn a_virtual_wedge_types_a_tracking_number_that_only_the_driver_sees() {
    if std::env::var_os("SCANNER_UINPUT_TEST").is_none() {
        eprintln!("SCANNER_UINPUT_TEST is not set: skipped");
        return;
    }
    let mut keys = AttributeSet::<KeyCode>::new();
    for code in 1..=127u16 {
        keys.insert(KeyCode(code));
    }
    let mut wedge =
        VirtualDevice::builder().unwrap().name("sscard test wedge").with_keys(&keys).unwrap().build().unwrap();
    let node = wedge.enumerate_dev_nodes_blocking().unwrap().find_map(Result::ok).unwrap();
    // udev needs a moment to create the node.
    let deadline = Instant::now() + Duration::from_secs(10);
    let scanner = loop {
        match EvdevScanner::open(&node) {
            Ok(s) => break s,
            Err(e) if Instant::now() > deadline => panic!("{e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    let mut first = Some(scanner);
    let path = node.clone();
    let (_handle, mut rx) =
        scanner::watch(move || first.take().map_or_else(|| EvdevScanner::open(&path), Ok), ScannerConfig::default());
    assert_eq!(rx.blocking_recv(), Some(ScannerEvent::Connected));
    // A second reader of the device sees nothing: the driver grabbed it.
    let mut other = evdev::Device::open(&node).unwrap();
    other.set_nonblocking(true).unwrap();

    let press = |wedge: &mut VirtualDevice, code: u16, value: i32| {
        wedge.emit(&[InputEvent::new(EventType::KEY.0, code, value)]).unwrap();
    };
    for c in "QC-20261121-0004837".chars() {
        let (code, shift) = key_for(c).unwrap();
        if shift {
            press(&mut wedge, 42, 1);
        }
        press(&mut wedge, code, 1);
        press(&mut wedge, code, 0);
        if shift {
            press(&mut wedge, 42, 0);
        }
    }
    press(&mut wedge, KEY_ENTER, 1);
    press(&mut wedge, KEY_ENTER, 0);
    assert_eq!(rx.blocking_recv(), Some(ScannerEvent::Scanned(Scan::Tracking("QC-20261121-0004837".into()))));
    let leaked = other.fetch_events().map(|e| e.count()).unwrap_or(0);
    assert_eq!(leaked, 0, "keys reached another reader of the device");
}
