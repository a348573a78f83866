//! Telling a citizen the back office's decision (反馈). A deployment plugs its SMS or
//! messaging gateway in behind [`Notifier`]; the built-in [`LogNotifier`] writes a log
//! line instead, so the demo shows what would be sent. Only citizens who gave a phone
//! number are notified (a qualification check asks for none); the number is never
//! logged unmasked.

/// One decision to send.
#[derive(Clone, PartialEq, Eq)]
pub struct DecisionNotice {
    pub tracking_number: String,
    /// `approved` or `rejected`.
    pub decision: String,
    /// The reason's code (`crate::review::REASONS`).
    pub reason: String,
    /// Where to send it: the number the citizen gave.
    pub phone: String,
}

impl std::fmt::Debug for DecisionNotice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecisionNotice")
            .field("tracking_number", &self.tracking_number)
            .field("decision", &self.decision)
            .field("reason", &self.reason)
            .field("phone", &mask_phone(&self.phone))
            .finish()
    }
}

/// A gateway refused or could not be reached. The decision stands (it is committed
/// before anyone is notified); the failure is logged for staff to follow up.
#[derive(Debug, thiserror::Error)]
#[error("notification not sent: {0}")]
pub struct NotifyError(pub String);

/// An SMS or messaging gateway.
pub trait Notifier: Send + Sync + 'static {
    fn decision(&self, notice: &DecisionNotice) -> Result<(), NotifyError>;
}

/// Writes the message to the log (target `central::notify`), the number masked.
#[derive(Debug, Default, Clone, Copy)]
pub struct LogNotifier;

impl Notifier for LogNotifier {
    fn decision(&self, n: &DecisionNotice) -> Result<(), NotifyError> {
        tracing::info!(
            phone = %mask_phone(&n.phone),
            tracking_number = %n.tracking_number,
            decision = %n.decision,
            reason = %n.reason,
            "decision notice sent (log gateway)"
        );
        Ok(())
    }
}

/// `13812345678` -> `138****5678`: the first three and last four digits. Anything
/// shorter than eight characters is masked whole.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() < 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_keep_three_and_four_digits() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("1234567"), "*******");
        assert_eq!(mask_phone(""), "");
        let n = DecisionNotice {
            tracking_number: "ES-1".into(),
            decision: "approved".into(),
            reason: "eligible".into(),
            phone: "13812345678".into(),
        };
        assert!(!format!("{n:?}").contains("13812345678"));
    }
}
