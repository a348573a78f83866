//! Issuing a certificate for the card holder: the chosen period, and for participation
//! the holder's history, so that a retired person's certificate covers the years they paid.

use super::convert;
use crate::central_api::{CentralClient, CentralError};
use session::{CertificateKind, CertificatePeriod, Citizen, IssuedCertificate};
use time::OffsetDateTime;

/// Asks central for the certificate and reads it for the screen and the printer.
///
/// A participation certificate first reads the holder's contribution history (a
/// read-only call): someone who stopped paying before the chosen months (a pensioner,
/// typically) would otherwise get a certificate of zero months; theirs covers the
/// months they paid instead, and says they are retired. The preview shows the period.
pub async fn issue(
    central: &CentralClient,
    citizen: &Citizen,
    kind: CertificateKind,
    period: CertificatePeriod,
    now: OffsetDateTime,
) -> Result<IssuedCertificate, CentralError> {
    let chosen = convert::certificate_period(&citizen.id_number, period, now);
    if kind == CertificateKind::PensionReceipt {
        let certificate = central.issue_certificate(&convert::certificate_request_for(citizen, kind, chosen)).await?;
        return signed_as_asked(convert::issued(&certificate, citizen), kind);
    }
    let history = match central.contributions_of(citizen.id_number.expose(), citizen.name.expose()).await {
        Ok(h) => Some(h),
        Err(e) => {
            // The certificate itself is still worth asking for; only the status is less precise.
            tracing::warn!(error = %e, id = %citizen.id_number.masked(), "contribution history unavailable");
            None
        }
    };
    let months = match history.as_ref().and_then(convert::contribution_span) {
        Some(paid) if paid.to < chosen.from => paid,
        _ => chosen,
    };
    let certificate = central.issue_certificate(&convert::certificate_request_for(citizen, kind, months)).await?;
    let mut issued = signed_as_asked(convert::issued(&certificate, citizen), kind)?;
    // The history lists months of any insurance: it speaks for a certificate of all of
    // them (and for pension insurance, which everyone insured pays), not for one.
    let history_counts = matches!(kind, CertificateKind::AllInsurances | CertificateKind::PensionInsurance);
    issued.status = convert::participation_status_with(&issued.rows, issued.period, history.as_ref(), history_counts);
    Ok(issued)
}

/// A certificate of another kind than the one asked for is never shown or printed.
fn signed_as_asked(issued: IssuedCertificate, asked: CertificateKind) -> Result<IssuedCertificate, CentralError> {
    if issued.kind == asked {
        Ok(issued)
    } else {
        Err(CentralError::Malformed(format!("asked for a {asked:?} certificate, was given a {:?}", issued.kind)))
    }
}
