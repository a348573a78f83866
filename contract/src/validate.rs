//! Field validation shared by both ends: the server refuses what these reject, and a
//! terminal can check a request before queueing it.

use super::*;

/// A field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

pub(crate) fn field_error(field: &str, message: impl Into<String>) -> FieldError {
    FieldError { field: field.to_owned(), message: message.into() }
}

/// True for an 18-character resident ID number (GB 11643) with a correct check digit.
pub use crate::idnumber::is_valid as id_number_is_valid;

/// True for `YYYY-MM` with a month 01..=12 and a year 1900..=2999.
pub fn is_year_month(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 7
        && b[4] == b'-'
        && b[..4].iter().chain(&b[5..]).all(u8::is_ascii_digit)
        && matches!(s[..4].parse::<u32>(), Ok(1900..=2999))
        && matches!(s[5..].parse::<u32>(), Ok(1..=12))
}

/// Checks an `Idempotency-Key`: 1..=128 visible ASCII characters.
pub fn idempotency_key_is_valid(key: &str) -> bool {
    !key.is_empty() && key.len() <= IDEMPOTENCY_KEY_MAX_LEN && key.bytes().all(|b| b.is_ascii_graphic())
}

fn check_name(field: &str, name: &str) -> Result<(), FieldError> {
    let n = name.chars().count();
    if n == 0 || n > 64 || name.trim() != name || name.chars().any(char::is_control) {
        return Err(field_error(field, "must be 1..=64 characters, no control characters or edge spaces"));
    }
    Ok(())
}

/// Checks the card holder's name of `GET /v1/contributions` (decoded from
/// [`CARD_HOLDER_NAME_HEADER`]) by the rule of every request's `name` field.
pub fn check_card_holder_name(name: &str) -> Result<(), FieldError> {
    check_name(CARD_HOLDER_NAME_HEADER, name)
}

fn check_id(field: &str, id: &str) -> Result<(), FieldError> {
    if id_number_is_valid(id) {
        Ok(())
    } else {
        Err(field_error(field, "must be an 18-character ID number with a valid check digit"))
    }
}

fn check_text(field: &str, value: &str, max: usize) -> Result<(), FieldError> {
    if value.is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(field_error(field, format!("must be 1..={max} characters without control characters")));
    }
    Ok(())
}

fn check_text_or_empty(field: &str, value: &str, max: usize) -> Result<(), FieldError> {
    if value.is_empty() { Ok(()) } else { check_text(field, value, max) }
}

fn check_code(field: &str, value: &str) -> Result<(), FieldError> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.');
    if ok { Ok(()) } else { Err(field_error(field, "must be 1..=64 of [a-z0-9_.]")) }
}

fn check_hash(field: &str, value: &str) -> Result<(), FieldError> {
    if value.len() == 64 && value.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        Ok(())
    } else {
        Err(field_error(field, "must be 64 lower-case hex characters"))
    }
}

impl EnrollRequest {
    pub fn validate(&self) -> Result<(), FieldError> {
        if let Some(t) = &self.token {
            check_text("token", t, 128)?;
        }
        if self.csr_pem.is_empty() || self.csr_pem.len() > 16 * 1024 {
            return Err(field_error("csr_pem", "must be a PEM CSR of at most 16 KiB"));
        }
        check_text("inventory.hostname", &self.inventory.hostname, 253)?;
        check_text("inventory.software_version", &self.inventory.software_version, 64)?;
        if self.inventory.devices.len() > 32 {
            return Err(field_error("inventory.devices", "at most 32 devices"));
        }
        for (i, d) in self.inventory.devices.iter().enumerate() {
            check_text(&format!("inventory.devices[{i}].model"), &d.model, 128)?;
            if let Some(s) = &d.serial {
                check_text(&format!("inventory.devices[{i}].serial"), s, 128)?;
            }
        }
        Ok(())
    }
}

impl CertificateRequest {
    pub fn validate(&self) -> Result<(), FieldError> {
        check_id("id_number", &self.id_number)?;
        check_name("name", &self.name)?;
        if !is_year_month(&self.period.from) {
            return Err(field_error("period.from", "must be YYYY-MM"));
        }
        if !is_year_month(&self.period.to) {
            return Err(field_error("period.to", "must be YYYY-MM"));
        }
        if self.period.from > self.period.to {
            return Err(field_error("period", "from must not be after to"));
        }
        Ok(())
    }
}

impl QualificationCheckRequest {
    pub fn validate(&self) -> Result<(), FieldError> {
        check_id("id_number", &self.id_number)?;
        check_name("name", &self.name)?;
        if self.face_jpeg.is_empty() || self.face_jpeg.len() > FACE_JPEG_MAX_BYTES / 3 * 4 + 4 {
            return Err(field_error("face_jpeg", "must be 1 byte ..= 2 MiB of JPEG, base64"));
        }
        check_code("liveness.method", &self.liveness.method)?;
        check_text_or_empty("liveness.summary", &self.liveness.summary, 200)?;
        if self.liveness.steps.len() > 16 {
            return Err(field_error("liveness.steps", "at most 16 steps"));
        }
        for (i, step) in self.liveness.steps.iter().enumerate() {
            check_code(&format!("liveness.steps[{i}].step"), &step.step)?;
        }
        if !(0.0..=1.0).contains(&self.liveness.score) {
            return Err(field_error("liveness.score", "must be within 0.0 ..= 1.0"));
        }
        if self.liveness.frames > 10_000 {
            return Err(field_error("liveness.frames", "must be at most 10000"));
        }
        Ok(())
    }
}

impl RegistrationRequest {
    pub fn validate(&self) -> Result<(), FieldError> {
        check_id("id_number", &self.id_number)?;
        check_name("name", &self.name)?;
        if let Some(p) = &self.phone {
            if p.len() != 11 || !p.starts_with('1') || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(field_error("phone", "must be an 11-digit mobile number starting with 1"));
            }
        }
        match (self.kind, self.contribution_percent) {
            (RegistrationKind::FlexibleEmployment, None) => {
                return Err(field_error("contribution_percent", "a flexible employment registration needs a band"));
            }
            (RegistrationKind::FlexibleEmployment, Some(p)) if !(1..=1000).contains(&p) => {
                return Err(field_error("contribution_percent", "must be a band's percent (1 ..= 1000)"));
            }
            _ => {}
        }
        if self.kind == RegistrationKind::JobSeeker {
            if self.job_kind.is_none() {
                return Err(field_error("job_kind", "a job seeker registration needs the kind of work wanted"));
            }
            if self.district.is_none() {
                return Err(field_error("district", "a job seeker registration needs the district"));
            }
            if self.phone.is_none() {
                return Err(field_error("phone", "a job seeker registration needs a mobile number"));
            }
        }
        Ok(())
    }
}

impl RatingRequest {
    pub fn validate(&self) -> Result<(), FieldError> {
        check_text("session_id", &self.session_id, 64)?;
        if !(1..=5).contains(&self.grade) {
            return Err(field_error("grade", "must be 1..=5"));
        }
        let distinct: std::collections::HashSet<_> = self.reasons.iter().collect();
        if distinct.len() != self.reasons.len() {
            return Err(field_error("reasons", "each reason at most once"));
        }
        Ok(())
    }
}

impl TelemetryBatch {
    pub fn validate(&self) -> Result<(), FieldError> {
        if self.events.len() > TELEMETRY_BATCH_MAX {
            return Err(field_error("events", format!("at most {TELEMETRY_BATCH_MAX} per batch")));
        }
        if self.audit.len() > TELEMETRY_BATCH_MAX {
            return Err(field_error("audit", format!("at most {TELEMETRY_BATCH_MAX} per batch")));
        }
        if let Some(h) = &self.heartbeat {
            check_text("heartbeat.software_version", &h.software_version, 64)?;
            if let Some(hash) = &h.config_hash {
                check_hash("heartbeat.config_hash", hash)?;
            }
        }
        for (i, e) in self.events.iter().enumerate() {
            check_text(&format!("events[{i}].id"), &e.id, 64)?;
            check_code(&format!("events[{i}].kind"), &e.kind)?;
            if let Some(d) = &e.detail {
                check_text(&format!("events[{i}].detail"), d, 500)?;
            }
        }
        for (i, a) in self.audit.iter().enumerate() {
            if a.seq > i64::MAX as u64 {
                return Err(field_error(&format!("audit[{i}].seq"), "must be at most 2^63-1"));
            }
            check_code(&format!("audit[{i}].action"), &a.action)?;
            check_code(&format!("audit[{i}].outcome"), &a.outcome)?;
            if let Some(s) = &a.subject_masked {
                check_text(&format!("audit[{i}].subject_masked"), s, 64)?;
            }
            check_hash(&format!("audit[{i}].prev_hash"), &a.prev_hash)?;
            check_hash(&format!("audit[{i}].hash"), &a.hash)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn year_month_rejects_month_thirteen() {
        assert!(is_year_month("2024-12"));
        assert!(!is_year_month("2024-13"));
        assert!(!is_year_month("2024-1"));
    }
}
