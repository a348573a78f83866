//! The receipt printer's health under supervision: a periodic status poll on the ESC/POS
//! driver tells the session core when paper, cover or link change, so services that
//! need paper are disabled (and enabled again) without anyone else noticing first.

use printer::{Link, Printer};
use session::{Device, Event, Health, Problem};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// What the printer's status means to the session core (`near_end` still prints).
pub fn health(status: printer::Health) -> Health {
    match status {
        printer::Health::Ok => Health::Ok,
        printer::Health::NearEnd => Health::Problem(Problem::PaperNearEnd),
        printer::Health::PaperOut => Health::Problem(Problem::PaperOut),
        printer::Health::CoverOpen => Health::Problem(Problem::CoverOpen),
        printer::Health::CutterError => Health::Problem(Problem::CutterError),
        printer::Health::Offline => Health::Problem(Problem::Error("printer offline".into())),
        printer::Health::Unknown => Health::Problem(Problem::Missing),
    }
}

/// Reads the status once, after any job in progress. A printer holding after a fixed
/// fault (offline, waiting for recovery) is recovered so that it prints again.
pub async fn status<T: Link + 'static>(printer: Arc<Mutex<Printer<T>>>) -> Result<Health, String> {
    tokio::task::spawn_blocking(move || {
        let mut p = printer.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut status = p.health();
        if status == printer::Health::Offline {
            status = p.recover().map_or(printer::Health::Offline, |r| r.health());
        }
        health(status)
    })
    .await
    .map_err(|e| format!("printer status poll failed: {e}"))
}

/// Polls every `interval` and reports each change to the core until the runtime goes
/// away. Run it under `supervise`.
pub async fn watch<T: Link + 'static>(
    printer: Arc<Mutex<Printer<T>>>,
    interval: Duration,
    events: mpsc::Sender<Event>,
) -> Result<(), String> {
    let mut last = None;
    loop {
        let now = status(printer.clone()).await?;
        if last.as_ref() != Some(&now) {
            tracing::info!(health = ?now, "printer status");
            let event = Event::DeviceHealth { device: Device::Printer, health: now.clone() };
            if events.send(event).await.is_err() {
                return Ok(());
            }
            last = Some(now);
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = events.closed() => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use printer::Profile;
    use printer::virtual_printer::VirtualPrinter;

    async fn next(rx: &mut mpsc::Receiver<Event>) -> Health {
        match tokio::time::timeout(Duration::from_secs(30), rx.recv()).await.unwrap().unwrap() {
            Event::DeviceHealth { device: Device::Printer, health } => health,
            other => panic!("{other:?}"),
        }
    }

    /// The poll against the virtual printer through the real driver: paper near end,
    /// out, refilled; cover opened and closed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn status_poll_reports_every_change_of_the_virtual_printer() {
        let vp = VirtualPrinter::new(Profile::KIOSK_80);
        let paper = vp.control();
        let driver = Arc::new(Mutex::new(Printer::new(vp.link(), Profile::KIOSK_80)));
        let (tx, mut rx) = mpsc::channel(16);
        let poll = tokio::spawn(watch(driver, Duration::from_millis(20), tx));
        assert_eq!(next(&mut rx).await, Health::Ok);
        paper.set_near_end(true);
        assert_eq!(next(&mut rx).await, Health::Problem(Problem::PaperNearEnd));
        paper.paper_out();
        assert_eq!(next(&mut rx).await, Health::Problem(Problem::PaperOut));
        paper.set_near_end(false);
        paper.refill_paper();
        assert_eq!(next(&mut rx).await, Health::Ok);
        paper.set_cover_open(true);
        assert_eq!(next(&mut rx).await, Health::Problem(Problem::CoverOpen));
        paper.set_cover_open(false);
        assert_eq!(next(&mut rx).await, Health::Ok);
        poll.abort();
    }

    #[test]
    fn every_printer_health_maps_and_only_near_end_still_prints() {
        use printer::Health as P;
        for (status, usable) in [
            (P::Ok, true),
            (P::NearEnd, true),
            (P::PaperOut, false),
            (P::CoverOpen, false),
            (P::CutterError, false),
            (P::Offline, false),
            (P::Unknown, false),
        ] {
            let usable_now = match health(status) {
                Health::Ok => true,
                Health::Problem(p) => !p.disables(),
            };
            assert_eq!(usable_now, usable, "{status:?}");
        }
    }
}
