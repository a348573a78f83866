//! Measures how long probing one serial port takes for each kind of thing on it: the
//! idcard simulator and the virtual printer on speed-faithful pseudo-terminals, an echoing
//! line and a silent one. `cargo run -p provisioning --example probe_timings`

#![allow(clippy::unwrap_used)]

#[path = "../tests/support/line.rs"]
mod line;

use std::time::Instant;

use line::{Echo, Line, Silent, SimReader, VirtualPrinterDevice};
use provisioning::{Timings, probe};

fn measure(what: &str, line: &Line) {
    let timings = Timings::default();
    let runs = 3;
    let mut took = Vec::new();
    let mut finding = None;
    for _ in 0..runs {
        let start = Instant::now();
        finding = Some(probe::probe_serial_port(line.path(), &timings));
        took.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    took.sort_by(f64::total_cmp);
    println!(
        "{what:<24} median {:>7.1} ms  (min {:>7.1}, max {:>7.1})  -> {}",
        took[1],
        took[0],
        took[2],
        finding.unwrap()
    );
}

fn main() {
    println!(
        "per-attempt timeouts: {:?}; bound {:?} per port",
        Timings::default(),
        Timings::default().serial_port_bound()
    );
    measure("reader at 115200", &Line::serve(SimReader::new(115_200), 115_200));
    measure("reader at 9600", &Line::serve(SimReader::new(9_600), 9_600));
    measure("printer at 115200", &Line::serve(VirtualPrinterDevice::new().0, 115_200));
    measure("printer at 9600", &Line::serve(VirtualPrinterDevice::new().0, 9_600));
    measure("silent line", &Line::serve(Silent, 9_600));
    measure("echoing line", &Line::serve(Echo::default(), 115_200));
}
