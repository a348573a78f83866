//! Properties of the certificate signature the terminal checks before printing: the
//! canonical body survives a JSON round trip, and any change to a signed field is caught.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use central::api::*;
use ed25519_dalek::Signer as _;
use proptest::prelude::*;

fn sign(body: CertificateBody, key: &ed25519_dalek::SigningKey) -> Certificate {
    let sig = key.sign(&canonical_certificate_body(&body));
    Certificate {
        body,
        signature: CertificateSignature {
            algorithm: "Ed25519".into(),
            key_id: signing_key_id(&key.verifying_key()),
            value: base64::engine::general_purpose::STANDARD.encode(sig.to_bytes()),
        },
    }
}

fn body_strategy() -> impl Strategy<Value = CertificateBody> {
    (
        "\\PC{1,20}",
        "\\PC{1,12}",
        proptest::collection::vec(("[0-9]{4}-[0-9]{2}", "\\PC{0,16}", any::<i64>(), any::<i64>()), 0..6),
        0i64..4_000_000_000,
        "[A-Z2-9]{12}",
    )
        .prop_map(|(number, name, rows, t, code)| CertificateBody {
            number,
            kind: CertificateKind::AllInsurances,
            holder: Holder { name, id_number_masked: "1101**********002X".into() },
            period: Period { from: "2020-01".into(), to: "2024-12".into() },
            rows: rows
                .into_iter()
                .map(|(month, payer, base_fen, amount_fen)| CertificateRow { month, payer, base_fen, amount_fen })
                .collect(),
            issued_at: time::OffsetDateTime::from_unix_timestamp(t).unwrap(),
            verify_url: format!("https://central.example/verify/{code}"),
            verification_code: code,
        })
}

proptest! {
    #[test]
    fn a_signed_certificate_still_verifies_after_a_json_round_trip(body in body_strategy(), seed in any::<[u8; 32]>()) {
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        let cert = sign(body, &key);
        let wire = serde_json::to_string(&cert).unwrap();
        let received: Certificate = serde_json::from_str(&wire).unwrap();
        prop_assert_eq!(verify_certificate_signature(&received, &key.verifying_key()), Ok(()));
    }

    #[test]
    fn changing_the_holder_name_breaks_the_signature(body in body_strategy(), extra in "\\PC{1,4}") {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let mut cert = sign(body, &key);
        cert.body.holder.name.push_str(&extra);
        prop_assert_eq!(verify_certificate_signature(&cert, &key.verifying_key()), Err(SignatureError::Mismatch));
    }

    #[test]
    fn validation_helpers_never_panic(s in "\\PC{0,40}") {
        let _ = id_number_is_valid(&s);
        let _ = mask_id_number(&s);
        let _ = is_year_month(&s);
        let _ = idempotency_key_is_valid(&s);
        let _ = decode_signing_public_key(&s);
    }
}

#[test]
fn a_signature_from_another_key_is_reported_as_the_wrong_key() {
    let body = CertificateBody {
        number: "SI1".into(),
        kind: CertificateKind::PensionReceipt,
        holder: Holder { name: "张秀英".into(), id_number_masked: "1101**********002X".into() },
        period: Period { from: "2024-01".into(), to: "2024-02".into() },
        rows: vec![],
        issued_at: time::OffsetDateTime::UNIX_EPOCH,
        verification_code: "ABC".into(),
        verify_url: "https://x/verify/ABC".into(),
    };
    let cert = sign(body, &ed25519_dalek::SigningKey::from_bytes(&[1; 32]));
    let other = ed25519_dalek::SigningKey::from_bytes(&[2; 32]).verifying_key();
    assert!(matches!(verify_certificate_signature(&cert, &other), Err(SignatureError::WrongKey { .. })));
}
