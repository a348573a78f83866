//! A citizen's contribution history is shown only to a terminal that read the card (ID
//! number and name, as for certificates), at a rate a queue of citizens explains, and
//! every lookup is kept in an access log operations can read (ID numbers masked).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use central::api::*;
use central::registry::*;
use central::{Rate, Retention};
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contributions_need_the_name_read_from_the_card() {
    let rig = start().await;
    let t = rig.enroll().await;
    // An ID number alone (printed on many papers) is not enough.
    let resp = t.http.get(rig.url(paths::CONTRIBUTIONS)).header(CARD_HOLDER_HEADER, WORKER_ID).send().await.unwrap();
    let (status, p) = problem(resp).await;
    assert_eq!((status, p.kind()), (400, Some(ProblemType::MalformedRequest)), "{p:?}");
    assert!(p.detail.unwrap().contains(CARD_HOLDER_NAME_HEADER));
    // Another person's name: refused like a certificate for the wrong name.
    let (status, p) = problem(t.contributions(&rig, WORKER_ID, APPROVED_PENSIONER_NAME).await).await;
    assert_eq!(
        (status, p.kind(), p.field.as_deref()),
        (422, Some(ProblemType::ValidationFailed), Some(CARD_HOLDER_NAME_HEADER))
    );
    // Not percent-encoded UTF-8.
    let resp = t
        .http
        .get(rig.url(paths::CONTRIBUTIONS))
        .header(CARD_HOLDER_HEADER, WORKER_ID)
        .header(CARD_HOLDER_NAME_HEADER, "%E7%8E")
        .send()
        .await
        .unwrap();
    assert_eq!(problem(resp).await.0, 400);
    // The card's ID number and name together.
    let resp = t.contributions(&rig, WORKER_ID, WORKER_NAME).await;
    assert_eq!(resp.status(), 200);
    let history: ContributionHistory = resp.json().await.unwrap();
    assert_eq!(history.holder.name, WORKER_NAME);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_lookups_are_throttled_per_terminal() {
    let rig = start_with(|c| c.lookups_per_terminal = Rate { per_minute: 6, burst: 5 }).await;
    let scraper = rig.enroll().await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let resp = scraper.contributions(&rig, WORKER_ID, WORKER_NAME).await;
        if resp.status() == 429 {
            let wait: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
            assert!((1..=10).contains(&wait), "{wait}");
        }
        statuses.push(resp.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429, 429, 429]);
    // Application lookups count against the same allowance.
    let resp = scraper.http.get(rig.url("/v1/applications/202611210000017")).send().await.unwrap();
    assert_eq!(resp.status(), 429);
    // Another terminal is not held back by this one.
    let other = rig.enroll().await;
    assert_eq!(other.contributions(&rig, WORKER_ID, WORKER_NAME).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_see_who_looked_up_whom_with_the_id_number_masked() {
    let rig = start_with(|c| c.retention = Retention::default()).await;
    rig.server.add_user("ops", "correct horse battery").unwrap();
    let t = rig.enroll().await;
    assert_eq!(t.contributions(&rig, WORKER_ID, WORKER_NAME).await.status(), 200);
    assert_eq!(t.contributions(&rig, APPROVED_PENSIONER_ID, WORKER_NAME).await.status(), 422);
    let cert = CertificateRequest {
        kind: CertificateKind::PensionInsurance,
        id_number: WORKER_ID.into(),
        name: WORKER_NAME.into(),
        period: Period { from: "2024-01".into(), to: "2024-03".into() },
    };
    assert_eq!(t.post(&rig, paths::CERTIFICATES, "c1", &cert).await.status(), 201);

    let log = rig.server.store().recent_registry_access(10).unwrap();
    let seen: Vec<_> =
        log.iter().map(|a| (a.purpose.as_str(), a.outcome.as_str(), a.subject_masked.as_str())).collect();
    assert_eq!(
        seen,
        [
            ("certificate", "shown", "4501**********0032"),
            ("contributions", "name_mismatch", "1101**********002X"),
            ("contributions", "shown", "4501**********0032"),
        ]
    );
    assert!(log.iter().all(|a| a.device_id == t.enrolled.device_id));

    let browser = reqwest::Client::builder()
        .use_preconfigured_tls(
            rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates({
                    let mut r = rustls::RootCertStore::empty();
                    r.add(rustls::pki_types::pem::PemObject::from_pem_slice(rig.server.ca_pem().as_bytes()).unwrap())
                        .unwrap();
                    r
                })
                .with_no_client_auth(),
        )
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    assert_eq!(browser.get(rig.url("/ops/access")).send().await.unwrap().status(), 303, "login first");
    let r = browser
        .post(rig.url("/ops/login"))
        .form(&[("username", "ops"), ("password", "correct horse battery")])
        .send()
        .await
        .unwrap();
    let cookie = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let html =
        browser.get(rig.url("/ops/access")).header("cookie", &cookie).send().await.unwrap().text().await.unwrap();
    assert!(html.contains(&t.enrolled.device_id) && html.contains("4501**********0032"), "{html}");
    assert!(html.contains("name_mismatch"), "{html}");
    for personal in [WORKER_ID, WORKER_NAME, APPROVED_PENSIONER_ID, APPROVED_PENSIONER_NAME] {
        assert!(!html.contains(personal), "the access log page shows {personal}");
    }
}
