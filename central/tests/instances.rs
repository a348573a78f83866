//! Several instances behind one address (issue 16, item 6): each has a name, carried as
//! `instance="…"` on every metrics series and in a footer on every dashboard page, so an
//! operator can tell which instance answered.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_series_and_every_dashboard_page_names_the_instance() {
    let rig = start_with(|c| c.instance_name = Some("hall-a.central-1".into())).await;
    assert_eq!(rig.server.instance_name(), "hall-a.central-1");
    let _t = rig.enroll().await;
    let raw = rig.metrics().await.text().await.unwrap();
    let samples: Vec<&str> = raw.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).collect();
    assert!(samples.len() > 30, "{raw}");
    for line in &samples {
        assert!(line.contains(r#"instance="hall-a.central-1""#), "{line}");
    }
    assert!(raw.contains(r#"central_heartbeats_total{instance="hall-a.central-1"} 0"#), "{raw}");
    assert!(raw.contains(r#"central_fleet_terminals{instance="hall-a.central-1",status="never_seen"} 1"#), "{raw}");

    let ops = rig.ops().await;
    for path in ["/ops", "/ops/alerts", "/ops/versions", "/ops/access"] {
        let page = ops.page(path).await;
        assert!(page.contains(r#"data-instance="hall-a.central-1""#), "{path}: {page}");
    }
    let login = rig.anonymous().get(rig.url("/ops/login")).send().await.unwrap().text().await.unwrap();
    assert!(login.contains(r#"data-instance="hall-a.central-1""#), "{login}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_name_the_instance_is_the_hostname_and_port() {
    let rig = start().await;
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let expected = format!("{}:{}", host.trim(), rig.server.local_addr().port());
    assert_eq!(rig.server.instance_name(), expected);
    // The rig's metrics_text checks that each series carries it.
    assert!(rig.metrics_text().await.contains("central_heartbeats_total 0"));
    assert!(rig.ops_page("/ops").await.contains(&format!(r#"data-instance="{expected}""#)));
}

#[tokio::test]
async fn a_name_that_would_break_a_label_or_a_page_is_refused() {
    for bad in ["", "a\"b", "<script>", "with space", &"x".repeat(65)] {
        let dir = tempfile::tempdir().unwrap();
        let mut c = config(dir.path());
        c.instance_name = Some(bad.to_owned());
        let e = c.validate().unwrap_err();
        assert_eq!(e.setting, "instance_name", "{bad:?}");
    }
}
