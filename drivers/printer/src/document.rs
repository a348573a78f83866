//! The receipt document model (also its JSON form) and the column layout shared by the
//! native and raster encoders: display widths with Chinese counted double, wrapping.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use crate::escpos::{Align, Cut, Hri, QrEc};

/// A receipt: items printed top to bottom.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Document {
    pub items: Vec<Item>,
    /// Folder that relative image paths are resolved against (set by [`Document::from_file`]).
    #[serde(skip)]
    pub base_dir: Option<PathBuf>,
}

/// One thing on a receipt. The JSON form is the object with the named key, e.g.
/// `{"text": "...", "align": "center", "bold": true, "size": [2, 2]}` or `{"row": ["姓名", "张伟明"]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Item {
    Text(Text),
    Row(Row),
    Separator(Separator),
    Qr(Qr),
    Barcode(Barcode),
    Image(ImageItem),
    Feed(Feed),
    Cut(CutItem),
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn one_by_one() -> [u8; 2] {
    [1, 1]
}

fn is_one_by_one(s: &[u8; 2]) -> bool {
    *s == [1, 1]
}

/// A paragraph; long text wraps at the paper width.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Text {
    pub text: String,
    #[serde(default)]
    pub align: Align,
    #[serde(default, skip_serializing_if = "is_false")]
    pub bold: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub underline: bool,
    /// Width and height multipliers, 1..=8.
    #[serde(default = "one_by_one", skip_serializing_if = "is_one_by_one")]
    pub size: [u8; 2],
}

/// Label on the left, value on the right; a long value wraps under itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Row {
    pub row: [String; 2],
    #[serde(default, skip_serializing_if = "is_false")]
    pub bold: bool,
}

/// A full-width line of one repeated character, e.g. `"-"` or `"="`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Separator {
    pub separator: String,
}

fn default_module() -> u8 {
    6
}

/// A QR code (model 2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Qr {
    pub qr: String,
    #[serde(default = "default_module")]
    pub module: u8,
    #[serde(default)]
    pub ec: QrEc,
    #[serde(default = "center")]
    pub align: Align,
}

fn center() -> Align {
    Align::Center
}

/// Barcode symbologies supported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Symbology {
    #[default]
    Code128,
}

fn default_bar_height() -> u8 {
    80
}

fn default_bar_module() -> u8 {
    2
}

/// A 1D barcode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Barcode {
    pub barcode: String,
    #[serde(default)]
    pub symbology: Symbology,
    #[serde(default = "default_bar_height")]
    pub height: u8,
    #[serde(default)]
    pub hri: Hri,
    /// Narrowest bar in dots, 2..=6.
    #[serde(default = "default_bar_module")]
    pub module_width: u8,
    #[serde(default = "center")]
    pub align: Align,
}

/// A picture file (PNG/JPEG), dithered to dots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageItem {
    pub image: String,
    #[serde(default = "center")]
    pub align: Align,
}

/// Blank lines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Feed {
    pub feed: u8,
}

/// Cut the paper (after feeding it past the cutter).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CutItem {
    pub cut: Cut,
}

/// Why a document could not be read or encoded.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("cannot read document {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("document is not valid receipt JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("cannot load image {path}: {reason}")]
    Image { path: PathBuf, reason: String },
    #[error("barcode {content:?}: {source}")]
    Barcode { content: String, source: crate::code128::Code128Error },
    #[error("QR data {len} bytes does not fit a QR code: {reason}")]
    Qr { len: usize, reason: String },
}

/// Typed construction, for programs that lay receipts out in code (the terminal):
/// the same items the JSON form writes, with that form's defaults.
impl Item {
    /// A left-aligned paragraph.
    pub fn text(text: impl Into<String>) -> Self {
        Item::Text(Text { text: text.into(), align: Align::Left, bold: false, underline: false, size: one_by_one() })
    }
    /// A centred paragraph.
    pub fn centered(text: impl Into<String>) -> Self {
        Item::Text(Text { align: Align::Center, ..Self::plain(text) })
    }
    /// A bold left-aligned paragraph.
    pub fn bold(text: impl Into<String>) -> Self {
        Item::Text(Text { bold: true, ..Self::plain(text) })
    }
    /// A centred heading at double width and height.
    pub fn title(text: impl Into<String>) -> Self {
        Item::Text(Text { align: Align::Center, size: [2, 2], ..Self::plain(text) })
    }
    fn plain(text: impl Into<String>) -> Text {
        Text { text: text.into(), align: Align::Left, bold: false, underline: false, size: one_by_one() }
    }
    /// Label on the left, value on the right.
    pub fn row(label: impl Into<String>, value: impl Into<String>) -> Self {
        Item::Row(Row { row: [label.into(), value.into()], bold: false })
    }
    /// A full-width line of `c`.
    pub fn separator(c: char) -> Self {
        Item::Separator(Separator { separator: c.to_string() })
    }
    /// A centred QR code at the default module size and error correction.
    pub fn qr(data: impl Into<String>) -> Self {
        Item::Qr(Qr { qr: data.into(), module: default_module(), ec: QrEc::default(), align: center() })
    }
    /// A centred CODE128 barcode with no human-readable line (print the text yourself
    /// where it reads best).
    pub fn barcode(data: impl Into<String>) -> Self {
        Item::Barcode(Barcode {
            barcode: data.into(),
            symbology: Symbology::Code128,
            height: default_bar_height(),
            hri: Hri::None,
            module_width: default_bar_module(),
            align: center(),
        })
    }
    /// Feed past the cutter and cut partially.
    pub fn cut() -> Self {
        Item::Cut(CutItem { cut: Cut::Partial })
    }
    /// The strings this item puts on paper (texts, both sides of a row, barcode and QR
    /// payloads), for tests and logs that check what a receipt says.
    pub fn strings(&self) -> Vec<&str> {
        match self {
            Item::Text(t) => vec![t.text.as_str()],
            Item::Row(r) => vec![r.row[0].as_str(), r.row[1].as_str()],
            Item::Qr(q) => vec![q.qr.as_str()],
            Item::Barcode(b) => vec![b.barcode.as_str()],
            Item::Separator(_) | Item::Image(_) | Item::Feed(_) | Item::Cut(_) => vec![],
        }
    }
}

impl Document {
    /// A document of `items`.
    pub fn new(items: Vec<Item>) -> Self {
        Self { items, base_dir: None }
    }

    /// Every string the document puts on paper, in order (see [`Item::strings`]).
    pub fn strings(&self) -> Vec<&str> {
        self.items.iter().flat_map(Item::strings).collect()
    }

    /// Parses the JSON form.
    pub fn from_json(json: &str) -> Result<Self, DocumentError> {
        Ok(serde_json::from_str(json)?)
    }

    /// Reads a JSON document; image paths in it are relative to the file's folder.
    pub fn from_file(path: &Path) -> Result<Self, DocumentError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| DocumentError::Read { path: path.to_owned(), source })?;
        let mut doc = Self::from_json(&text)?;
        doc.base_dir = path.parent().map(Path::to_owned);
        Ok(doc)
    }

    /// The JSON form.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Resolves an image path of this document.
    pub fn image_path(&self, image: &str) -> PathBuf {
        let p = Path::new(image);
        match &self.base_dir {
            Some(base) if p.is_relative() => base.join(p),
            _ => p.to_owned(),
        }
    }

    /// Loads an image of this document as grayscale.
    pub fn load_image(&self, image: &str) -> Result<image::GrayImage, DocumentError> {
        let path = self.image_path(image);
        let img = image::open(&path).map_err(|e| DocumentError::Image { path: path.clone(), reason: e.to_string() })?;
        Ok(img.to_luma8())
    }
}

/// Display width of a character in font-A columns: CJK and full-width forms take two.
pub fn char_columns(c: char) -> usize {
    let u = u32::from(c);
    let wide = matches!(u,
        0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF |
        0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 |
        0xFFE0..=0xFFE6 | 0x20000..=0x3FFFD);
    if wide {
        2
    } else if c.is_control() {
        0
    } else {
        1
    }
}

/// Display width of a string in font-A columns.
pub fn text_columns(s: &str) -> usize {
    s.chars().map(char_columns).sum()
}

/// Wraps text into lines of at most `width` columns; breaks at spaces for Latin words,
/// anywhere between Chinese characters. `\n` forces a break.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(2);
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        let mut cols = 0;
        let mut last_space: Option<usize> = None;
        for c in para.chars() {
            let w = char_columns(c);
            if cols + w > width {
                // Break at the last space if the current Latin word would be cut.
                if let (Some(sp), false) = (last_space, c == ' ' || w == 2) {
                    let rest = line.split_off(sp);
                    lines.push(line.trim_end().to_owned());
                    line = rest.trim_start().to_owned();
                } else {
                    lines.push(line.trim_end().to_owned());
                    line = String::new();
                }
                cols = text_columns(&line);
                last_space = None;
                if c == ' ' && line.is_empty() {
                    continue;
                }
            }
            if c == ' ' {
                last_space = Some(line.len());
            }
            line.push(c);
            cols += w;
        }
        lines.push(line);
    }
    lines
}

/// Lays out a label/value row into full lines of exactly `width` columns: the value is
/// right-aligned, and when too long it wraps into the value column under itself.
pub fn row_lines(label: &str, value: &str, width: usize) -> Vec<String> {
    let label_cols = text_columns(label);
    let value_cols = text_columns(value);
    if label_cols + 1 + value_cols <= width {
        let pad = width - label_cols - value_cols;
        return vec![format!("{label}{}{value}", " ".repeat(pad))];
    }
    // Long label: it wraps in the left half, the value keeps at least half the line.
    let value_width = width.saturating_sub(label_cols + 1).max(width / 2);
    let label_lines = wrap(label, width - value_width - 1);
    let value_lines = wrap(value, value_width);
    let n = label_lines.len().max(value_lines.len());
    (0..n)
        .map(|i| {
            let l = label_lines.get(i).map_or("", String::as_str);
            let v = value_lines.get(i).map_or("", String::as_str);
            let pad = width.saturating_sub(text_columns(l) + text_columns(v));
            format!("{l}{}{v}", " ".repeat(pad))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUE_JSON: &str = r#"{"items": [{"text": "...", "align": "center", "bold": true, "size": [2, 2]}, {"row": ["姓名", "张伟明"]}, {"separator": "-"}, {"qr": "https://...", "module": 6, "ec": "M"}, {"barcode": "202611210001", "symbology": "code128", "height": 80, "hri": "below"}, {"image": "logo.png"}, {"feed": 3}, {"cut": "partial"}]}"#;

    #[test]
    fn the_issue_json_parses_into_every_item_kind() {
        let doc = Document::from_json(ISSUE_JSON).unwrap();
        assert_eq!(doc.items.len(), 8);
        assert!(matches!(&doc.items[0], Item::Text(t) if t.align == Align::Center && t.bold && t.size == [2, 2]));
        assert!(matches!(&doc.items[1], Item::Row(r) if r.row[1] == "张伟明"));
        assert!(matches!(&doc.items[2], Item::Separator(s) if s.separator == "-"));
        assert!(matches!(&doc.items[3], Item::Qr(q) if q.module == 6 && q.ec == QrEc::M));
        assert!(matches!(&doc.items[4], Item::Barcode(b) if b.height == 80 && b.hri == Hri::Below));
        assert!(matches!(&doc.items[5], Item::Image(i) if i.image == "logo.png"));
        assert!(matches!(&doc.items[6], Item::Feed(Feed { feed: 3 })));
        assert!(matches!(&doc.items[7], Item::Cut(CutItem { cut: Cut::Partial })));
        let again = Document::from_json(&doc.to_json()).unwrap();
        assert_eq!(again, doc);
    }

    #[test]
    fn unknown_keys_are_an_error_not_silently_dropped() {
        assert!(Document::from_json(r#"{"items": [{"txet": "x"}]}"#).is_err());
    }

    #[test]
    fn chinese_counts_double_width() {
        assert_eq!(text_columns("姓名"), 4);
        assert_eq!(text_columns("ID 110105"), 9);
        assert_eq!(text_columns("，："), 4);
    }

    #[test]
    fn rows_align_the_value_to_the_right_edge() {
        let lines = row_lines("姓名", "张伟明", 32);
        assert_eq!(lines.len(), 1);
        assert_eq!(text_columns(&lines[0]), 32);
        assert!(lines[0].ends_with("张伟明"));
    }

    #[test]
    fn long_values_wrap_under_the_value_column() {
        let addr = "北京市东城区景山前街四号故宫博物院东华门内大街一百二十三号";
        let lines = row_lines("住址", addr, 32);
        assert!(lines.len() > 1);
        for l in &lines {
            assert!(text_columns(l) <= 32, "{l}");
        }
        let joined: String = lines.iter().map(|l| l.trim_start().trim_start_matches("住址").trim()).collect();
        assert_eq!(joined, addr);
    }

    #[test]
    fn latin_text_wraps_at_spaces() {
        assert_eq!(wrap("hello big world", 9), ["hello big", "world"]);
        assert_eq!(wrap("中文字符测试", 5), ["中文", "字符", "测试"]);
    }

    #[test]
    fn typed_items_are_the_json_forms_items() {
        let typed = Document::new(vec![
            Item::title("标题"),
            Item::centered("居中"),
            Item::bold("粗体"),
            Item::text("左"),
            Item::row("姓名", "张秀英"),
            Item::separator('-'),
            Item::qr("https://example.invalid/v/1"),
            Item::barcode("QC-20261121-000001"),
            Item::cut(),
        ]);
        let json = Document::from_json(
            r#"{"items":[
                {"text":"标题","align":"center","size":[2,2]},
                {"text":"居中","align":"center"},
                {"text":"粗体","bold":true},
                {"text":"左"},
                {"row":["姓名","张秀英"]},
                {"separator":"-"},
                {"qr":"https://example.invalid/v/1","align":"center"},
                {"barcode":"QC-20261121-000001","hri":"none"},
                {"cut":"partial"}
            ]}"#,
        )
        .unwrap();
        assert_eq!(typed, json);
        assert_eq!(
            typed.strings(),
            ["标题", "居中", "粗体", "左", "姓名", "张秀英", "https://example.invalid/v/1", "QC-20261121-000001"]
        );
    }
}
