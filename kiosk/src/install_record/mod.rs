//! What `kiosk-provision install` recorded on this terminal (`install-state.json` in
//! the data directory) and the provisioning receipt laid out from it. They live in the
//! kiosk crate because both sides use them: the install writes the record and prints the
//! receipt, and the maintenance screen prints the receipt again years later, without a
//! shell (`kiosk-provision` depends on the kiosk crate, so not the other way round).

pub mod receipt;
pub mod state;

/// Lays out the provisioning receipt again from the record the install left: the
/// maintenance screen's reprint. The record says what the install found; the version and
/// the central service are today's (what the technician compares the terminal with), and
/// both times are printed: when it was installed and when this copy came out.
pub fn reprint(
    record: &state::InstallState,
    central_url: &str,
    printed_at: &str,
) -> Result<printer::Document, ReprintRefusal> {
    let (Some(terminal_id), Some(devices)) = (record.terminal_id.as_deref(), record.devices.as_ref()) else {
        return Err(ReprintRefusal::Unfinished);
    };
    if !record.is_done(state::Step::Receipt) {
        return Err(ReprintRefusal::Unfinished);
    }
    Ok(receipt::document(&receipt::ReceiptInfo {
        terminal_id,
        devices,
        self_tests: &record.self_tests,
        software_version: crate::update::running_version(),
        central_url,
        printed_at: record.installed_at.as_deref().unwrap_or("-"),
        reprinted_at: Some(printed_at),
    }))
}

/// Why a record gives no receipt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReprintRefusal {
    /// The install never got as far as its own receipt (no terminal id or devices yet):
    /// printing half a record would look like a finished install.
    Unfinished,
}
