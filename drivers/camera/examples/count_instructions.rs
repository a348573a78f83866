//! Instruction counts per analysed frame, for `bench/run` under callgrind: analyses every
//! PNG in DIR whose name starts with PREFIX once (after one warm-up call). The analysis
//! runs in a function of its own so callgrind's `--toggle-collect` counts only it.
//!
//!   valgrind --tool=callgrind --toggle-collect='*analyze_once*' \
//!       count_instructions DIR 640x480
use camera::{FaceAnalyzer, Frame, FrameAnalysis, QualityConfig};

#[inline(never)]
fn analyze_once(a: &mut FaceAnalyzer, f: &Frame) -> FrameAnalysis {
    a.analyze(f)
}

fn main() -> anyhow::Result<()> {
    let usage = || anyhow::anyhow!("usage: count_instructions DIR PREFIX");
    let dir = std::env::args().nth(1).ok_or_else(usage)?;
    let prefix = std::env::args().nth(2).ok_or_else(usage)?;
    let mut files: Vec<_> = std::fs::read_dir(&dir)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(&prefix)))
        .collect();
    files.sort();
    let mut a = FaceAnalyzer::new(QualityConfig::default())?;
    // The model's first use sets up its tables: not part of any frame's cost.
    std::hint::black_box(a.analyze(&Frame::from_rgb(64, 64, vec![0; 64 * 64 * 3])?));
    for p in &files {
        let img = image::open(p)?.to_rgb8();
        let f = Frame::from_rgb(img.width(), img.height(), img.into_raw())?;
        let r = analyze_once(&mut a, &f);
        println!("{}\t{}\t{}", p.display(), r.faces, r.accepted);
    }
    // The count of frames, for the per-frame figure.
    eprintln!("frames\t{}", files.len());
    Ok(())
}
