//! Every string the screens translate has a Chinese translation in lang/zh_CN.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::Path;

fn tr_strings(dir: &Path, out: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            tr_strings(&path, out);
        } else if path.extension().is_some_and(|e| e == "slint") {
            let text = std::fs::read_to_string(&path).unwrap();
            for part in text.split("@tr(\"").skip(1) {
                out.insert(part.split('"').next().unwrap().to_string());
            }
        }
    }
}

#[test]
fn every_translatable_string_has_a_chinese_translation() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut used = BTreeSet::new();
    tr_strings(&root.join("ui"), &mut used);
    assert!(used.len() > 100, "found only {} @tr strings", used.len());

    let po = std::fs::read_to_string(root.join("lang/zh_CN/LC_MESSAGES/ui.po")).unwrap();
    let mut translated = BTreeSet::new();
    let mut id = None;
    for line in po.lines() {
        if let Some(rest) = line.strip_prefix("msgid \"") {
            id = Some(rest.trim_end_matches('"').to_string());
        } else if let Some(rest) = line.strip_prefix("msgstr \"") {
            let text = rest.trim_end_matches('"');
            if let Some(id) = id.take().filter(|i| !i.is_empty()) {
                assert!(!text.is_empty(), "empty translation for {id:?}");
                assert_eq!(id.matches("{}").count(), text.matches("{}").count(), "placeholders of {id:?}");
                translated.insert(id);
            }
        }
    }
    let missing: Vec<_> = used.difference(&translated).collect();
    assert!(missing.is_empty(), "no zh_CN translation for {missing:?}");
}
