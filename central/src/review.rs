//! The back office's fixed vocabulary: what a reviewer may decide, and why. A reason
//! chosen from a list (not free text) keeps personal data out of the decision record
//! and lets the notice say the same thing to everyone.

/// `(code, decision, label)`: every reason a reviewer may give, for each decision.
pub const REASONS: &[(&str, &str, &str)] = &[
    ("identity_confirmed", "approved", "Identity confirmed from the face capture"),
    ("eligible", "approved", "Eligible by the registry's data"),
    ("face_mismatch", "rejected", "The face does not match the card holder"),
    ("liveness_doubtful", "rejected", "The liveness evidence is not convincing"),
    ("not_eligible", "rejected", "Not eligible by the registry's data"),
    ("visit_office", "rejected", "Needs an in-person visit to the office"),
];

/// The decision a reason belongs to, if `code` is one of [`REASONS`].
pub fn decision_of(code: &str) -> Option<&'static str> {
    REASONS.iter().find(|(c, _, _)| *c == code).map(|(_, d, _)| *d)
}
