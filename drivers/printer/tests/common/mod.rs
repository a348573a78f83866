//! Shared test helpers: a realistic certificate receipt, and decoders that read QR and
//! CODE128 symbols back off rendered paper.
#![allow(dead_code, clippy::unwrap_used)]

use image::GrayImage;
use printer::Document;

/// Ten rows of Chinese key/value text, a QR code and a tracking number (synthetic person).
pub fn certificate() -> Document {
    Document::from_json(include_str!("../../examples/certificate.json")).unwrap()
}

pub const CERT_QR: &str = "https://zwfw.example.gov.cn/verify?id=202611210001&sig=8f3a9c";
pub const CERT_BARCODE: &str = "202611210001";

/// Every QR code rqrr finds on the paper.
pub fn decode_qr(img: &GrayImage) -> Vec<String> {
    let mut prepared = rqrr::PreparedImage::prepare(img.clone());
    prepared.detect_grids().into_iter().filter_map(|g| g.decode().ok().map(|(_, s)| s)).collect()
}

/// Scans every row for a CODE128 symbol: measures bar/space runs, matches them to the
/// symbol table, checks start, checksum and stop. Returns the decoded text.
pub fn decode_code128(img: &GrayImage) -> Option<String> {
    (0..img.height()).find_map(|y| {
        let row: Vec<bool> = (0..img.width()).map(|x| img.get_pixel(x, y).0[0] < 128).collect();
        decode_row(&row)
    })
}

fn runs(row: &[bool]) -> Vec<(bool, usize)> {
    let mut out: Vec<(bool, usize)> = Vec::new();
    for &b in row {
        match out.last_mut() {
            Some((c, n)) if *c == b => *n += 1,
            _ => out.push((b, 1)),
        }
    }
    out
}

fn decode_row(row: &[bool]) -> Option<String> {
    let r = runs(row);
    for start in 0..r.len() {
        if !r[start].0 || start + 6 > r.len() {
            continue;
        }
        if let Some(text) = decode_from(&r[start..]) {
            return Some(text);
        }
    }
    None
}

fn match_symbol(runs: &[(bool, usize)], count: usize, modules: usize) -> Option<usize> {
    if runs.len() < count {
        return None;
    }
    let total: usize = runs[..count].iter().map(|r| r.1).sum();
    let unit = total as f64 / modules as f64;
    let pattern: String =
        runs[..count].iter().map(|r| char::from(b'0' + ((r.1 as f64 / unit).round() as u8).clamp(1, 4))).collect();
    printer::code128::WIDTHS.iter().position(|w| *w == pattern)
}

fn decode_from(r: &[(bool, usize)]) -> Option<String> {
    let start = match_symbol(r, 6, 11)?;
    if !(103..=105).contains(&start) {
        return None;
    }
    let mut values = vec![start];
    let mut i = 6;
    loop {
        if let Some(106) = match_symbol(&r[i..], 7, 13) {
            break;
        }
        let v = match_symbol(&r[i..], 6, 11)?;
        if v >= 103 {
            return None;
        }
        values.push(v);
        i += 6;
    }
    let check = values.pop()?;
    let sum: usize = values.iter().enumerate().map(|(k, v)| k.max(1) * v).sum();
    if sum % 103 != check {
        return None;
    }
    let mut set = values[0];
    let mut text = String::new();
    for &v in &values[1..] {
        match (set, v) {
            (105, 0..=99) => text.push_str(&format!("{v:02}")),
            (_, 99) => set = 105,
            (_, 100) if set != 104 => set = 104,
            (_, 101) if set != 103 => set = 103,
            (103 | 104, 0..=95) => text.push(char::from(32 + v as u8)),
            _ => {}
        }
    }
    Some(text)
}

/// Share of black dots in the paper.
pub fn ink(img: &GrayImage) -> f64 {
    img.pixels().filter(|p| p.0[0] < 128).count() as f64 / (img.width() * img.height()).max(1) as f64
}
