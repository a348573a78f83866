//! `/ops/versions`: which software versions the fleet runs, which terminals lag behind
//! the newest, which are configured unlike their peers on the same version, and the
//! rollouts of new versions with what the terminals reported about installing them.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{ago, esc, fmt_time};
use crate::release::RolloutView;
use crate::store::{ROLLOUT_ACTIVE, ROLLOUT_PAUSED, TerminalRow};

/// One terminal as the versions view sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Running<'a> {
    pub device_id: &'a str,
    pub version: String,
    pub config_hash: Option<String>,
    pub last_seen: Option<i64>,
}

/// What the view shows, worked out from the terminals (revoked ones are left out).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Versions<'a> {
    /// Newest first: version, how many run it, how many distinct configurations.
    pub counts: Vec<(String, usize, usize)>,
    /// Terminals on an older version than the newest any terminal runs.
    pub lagging: Vec<Running<'a>>,
    /// Terminals whose configuration differs from the most common one on their version,
    /// with that usual hash.
    pub drifting: Vec<(Running<'a>, String)>,
}

/// Orders version strings by their numbers (`0.10.0` after `0.9.3`), then as text.
fn version_key(v: &str) -> (Vec<u64>, String) {
    let numbers = v.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty()).filter_map(|s| s.parse().ok());
    (numbers.collect(), v.to_owned())
}

pub fn analyse(terminals: &[TerminalRow]) -> Versions<'_> {
    let running: Vec<Running<'_>> = terminals
        .iter()
        .filter(|t| t.device.revoked_at.is_none())
        .map(|t| {
            let hb: Option<crate::api::Heartbeat> =
                t.heartbeat_json.as_deref().and_then(|j| serde_json::from_str(j).ok());
            Running {
                device_id: &t.device.device_id,
                version: hb.as_ref().map_or_else(|| t.device.software_version.clone(), |h| h.software_version.clone()),
                config_hash: hb.and_then(|h| h.config_hash),
                last_seen: t.last_seen,
            }
        })
        .collect();
    let mut by_version: BTreeMap<(Vec<u64>, String), Vec<&Running<'_>>> = BTreeMap::new();
    for r in &running {
        by_version.entry(version_key(&r.version)).or_default().push(r);
    }
    let newest = by_version.keys().next_back().cloned();
    let mut out = Versions::default();
    for (key, members) in by_version.iter().rev() {
        let mut hashes: BTreeMap<&str, usize> = BTreeMap::new();
        for r in members {
            if let Some(h) = &r.config_hash {
                *hashes.entry(h).or_default() += 1;
            }
        }
        out.counts.push((key.1.clone(), members.len(), hashes.len()));
        if Some(key) != newest.as_ref() {
            out.lagging.extend(members.iter().map(|r| (*r).clone()));
        }
        // The usual configuration: the most common (ties: the smallest hash, so the
        // view does not flicker between two halves of a split fleet).
        let usual = hashes.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))).map(|(h, _)| (*h).to_owned());
        if let Some(usual) = usual {
            for r in members {
                if r.config_hash.as_deref().is_some_and(|h| h != usual) {
                    out.drifting.push(((*r).clone(), usual.clone()));
                }
            }
        }
    }
    out
}

fn short(hash: &str) -> String {
    esc(hash.get(..12).unwrap_or(hash))
}

/// The rollouts section: each rollout's target, state and counts, a pause or resume
/// button (a form with the session's CSRF token), then every terminal that rolled the
/// version back or refused it, with its reason.
fn render_rollouts(rollouts: &[RolloutView], csrf: &str) -> String {
    if rollouts.is_empty() {
        return r#"<h2>Rollouts</h2><p id="rollouts-none">None. Publish a release and start one with <code>central rollout start</code>.</p>"#.to_owned();
    }
    let mut rows = String::new();
    let mut problems = String::new();
    for v in rollouts {
        let r = &v.rollout;
        let button = match r.state.as_str() {
            ROLLOUT_ACTIVE => Some(("pause", "Pause")),
            ROLLOUT_PAUSED => Some(("resume", "Resume")),
            _ => None,
        };
        let action = button
            .map(|(verb, label)| {
                format!(
                    r#"<form method="post" action="/ops/rollouts/{id}/{verb}" style="margin:0"><input type="hidden" name="csrf" value="{csrf}"><button id="rollout-{id}-{verb}">{label}</button></form>"#,
                    id = r.id,
                    csrf = esc(csrf),
                )
            })
            .unwrap_or_default();
        let _ = write!(
            rows,
            r#"<tr data-rollout="{id}" data-state="{state}"><td>{id}</td><td>{version}</td><td>{arch}</td><td>{target}</td><td>{state}</td><td>{targeted}</td><td>{running}</td><td>{installed}</td><td class="{rb_class}">{rolled_back}</td><td class="{rf_class}">{refused}</td><td>{action}</td></tr>"#,
            id = r.id,
            state = esc(&r.state),
            version = esc(&r.version),
            arch = esc(&r.architecture),
            target = esc(&crate::release::target_text(r)),
            targeted = v.targeted,
            running = v.running,
            installed = v.installed,
            rolled_back = v.rolled_back,
            refused = v.refused,
            rb_class = if v.rolled_back > 0 { "open" } else { "" },
            rf_class = if v.refused > 0 { "open" } else { "" },
        );
        for o in &v.problems {
            let _ = write!(
                problems,
                r#"<tr data-update-problem="{id}" data-outcome="{outcome}"><td><a href="/ops/terminals/{id}">{id}</a></td><td>{version}</td><td>{outcome}</td><td>{reason}</td><td>{at}</td></tr>"#,
                id = esc(&o.device_id),
                version = esc(&o.version),
                outcome = esc(&o.outcome.replace('_', " ")),
                reason = esc(o.reason.as_deref().unwrap_or("no reason given")),
                at = fmt_time(o.at),
            );
        }
    }
    let problems = if problems.is_empty() {
        r#"<p id="update-problems-none">No terminal rolled back or refused a rolled-out version.</p>"#.to_owned()
    } else {
        format!(
            r#"<table id="update-problems"><thead><tr><th>Terminal</th><th>Version</th><th>Outcome</th><th>Reason</th><th>When</th></tr></thead><tbody>{problems}</tbody></table>"#
        )
    };
    format!(
        r#"<h2>Rollouts</h2>
<table id="rollouts"><thead><tr><th>Rollout</th><th>Version</th><th>Architecture</th><th>Target</th><th>State</th><th>Targeted</th><th>Running it</th><th>Installed</th><th>Rolled back</th><th>Refused</th><th></th></tr></thead><tbody>{rows}</tbody></table>
<h3>Rolled back or refused</h3>{problems}"#
    )
}

pub fn render(terminals: &[TerminalRow], rollouts: &[RolloutView], csrf: &str, now: i64) -> String {
    let v = analyse(terminals);
    let mut counts = String::new();
    for (version, n, configs) in &v.counts {
        let _ = write!(
            counts,
            r#"<tr data-version="{version}"><td>{version}</td><td>{n}</td><td>{configs}</td></tr>"#,
            version = esc(version)
        );
    }
    let terminal = |id: &str| format!(r#"<a href="/ops/terminals/{id}">{id}</a>"#, id = esc(id));
    let mut lagging = String::new();
    for r in &v.lagging {
        let _ = write!(
            lagging,
            r#"<tr data-lagging="{id}"><td>{link}</td><td>{version}</td><td>{seen}</td></tr>"#,
            id = esc(r.device_id),
            link = terminal(r.device_id),
            version = esc(&r.version),
            seen = ago(now, r.last_seen),
        );
    }
    let mut drifting = String::new();
    for (r, usual) in &v.drifting {
        let _ = write!(
            drifting,
            r#"<tr data-drifting="{id}"><td>{link}</td><td>{version}</td><td><code>{mine}</code></td><td><code>{usual}</code></td></tr>"#,
            id = esc(r.device_id),
            link = terminal(r.device_id),
            version = esc(&r.version),
            mine = short(r.config_hash.as_deref().unwrap_or_default()),
            usual = short(usual),
        );
    }
    let newest = v.counts.first().map(|c| esc(&c.0)).unwrap_or_default();
    let none = |rows: &str, id: &str| {
        if rows.is_empty() { format!(r#"<p id="{id}-none">None.</p>"#) } else { String::new() }
    };
    format!(
        r#"<h1>Versions</h1>
<table id="versions"><thead><tr><th>Version</th><th>Terminals</th><th>Configurations</th></tr></thead><tbody>{counts}</tbody></table>
<h2>Behind the newest version ({newest})</h2>{lag_none}
<table id="lagging"><thead><tr><th>Terminal</th><th>Version</th><th>Last heartbeat</th></tr></thead><tbody>{lagging}</tbody></table>
<h2>Configured unlike their peers on the same version</h2>{drift_none}
<table id="drifting"><thead><tr><th>Terminal</th><th>Version</th><th>Its configuration</th><th>The usual one</th></tr></thead><tbody>{drifting}</tbody></table>
{rollouts}"#,
        lag_none = none(&lagging, "lagging"),
        drift_none = none(&drifting, "drifting"),
        rollouts = render_rollouts(rollouts, csrf),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::DeviceRecord;

    fn terminal(id: &str, version: &str, hash: Option<&str>) -> TerminalRow {
        let hb = serde_json::json!({
            "sent_at": "2026-12-05T08:00:00Z", "software_version": version, "uptime_s": 1,
            "devices": {"reader": "ok", "printer": "ok", "camera": "ok"},
            "outbox": {"depth": 0, "oldest_age_s": 0}, "sessions": 0, "failures": 0,
            "disk_free_bytes": 1, "clock_offset_ms": 0, "config_hash": hash,
        });
        TerminalRow {
            device: DeviceRecord {
                device_id: id.into(),
                hostname: id.into(),
                software_version: "enrolled".into(),
                inventory_json: "{}".into(),
                enrolled_at: 0,
                cert_serial: "01".into(),
                cert_not_after: 0,
                revoked_at: None,
            },
            last_seen: Some(1),
            heartbeat_json: Some(hb.to_string()),
            sessions_total: 0,
            failures_total: 0,
            heartbeats_total: 1,
            events_total: 0,
            mode: None,
            mode_since: None,
            decommissioned: None,
        }
    }

    #[test]
    fn counts_versions_newest_first_and_finds_laggards_and_odd_configurations() {
        let (a, b) = ("a".repeat(64), "b".repeat(64));
        let fleet = [
            terminal("KT-1", "0.10.0", Some(&a)),
            terminal("KT-2", "0.10.0", Some(&a)),
            terminal("KT-3", "0.10.0", Some(&b)),
            terminal("KT-4", "0.9.3", Some(&b)),
            terminal("KT-5", "0.9.3", None),
        ];
        let v = analyse(&fleet);
        assert_eq!(v.counts, [("0.10.0".to_owned(), 3, 2), ("0.9.3".to_owned(), 2, 1)], "0.10 is newer than 0.9");
        assert_eq!(v.lagging.iter().map(|r| r.device_id).collect::<Vec<_>>(), ["KT-4", "KT-5"]);
        assert_eq!(v.drifting.len(), 1, "KT-4 is the only 0.9.3 with a hash: the usual one there");
        assert_eq!((v.drifting[0].0.device_id, v.drifting[0].1.as_str()), ("KT-3", a.as_str()));
        let html = render(&fleet, &[], "", 10);
        assert!(html.contains(r#"data-lagging="KT-5""#) && html.contains(r#"data-drifting="KT-3""#));
        assert!(!html.contains("lagging-none") && !html.contains("drifting-none"));
    }

    #[test]
    fn one_version_one_configuration_lists_nobody() {
        let a = "a".repeat(64);
        let fleet = [terminal("KT-1", "1.0.0", Some(&a)), terminal("KT-2", "1.0.0", Some(&a))];
        let html = render(&fleet, &[], "", 10);
        assert!(html.contains(r#"id="lagging-none""#) && html.contains(r#"id="drifting-none""#), "{html}");
    }
}
