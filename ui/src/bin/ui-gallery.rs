//! `ui-gallery --out DIR`: renders every screen (both languages, both orientations,
//! normal and large text) to PNG files plus an index.html for review at a glance.
//! `ui-gallery --window SCREEN`: shows one sample screen in a real window (benchmarks).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use ui::gallery::{sample_views, synthetic_frame};
use ui::render::ScreenRenderer;
use ui::{KioskWindow, Language, Orientation, TextSize};

#[derive(Parser)]
#[command(about = "Render every kiosk screen for review, or show one in a window")]
struct Args {
    /// Folder to write the PNGs and index.html into.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Show this sample screen (e.g. "home", "face-capture") in a real window instead.
    #[arg(long)]
    window: Option<String>,
    #[arg(long)]
    portrait: bool,
    /// With --window face-capture: feed a synthetic camera preview at this many fps.
    #[arg(long, default_value_t = 0)]
    fps: u32,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match (&args.out, &args.window) {
        (Some(out), None) => write_gallery(out),
        (None, Some(name)) => show_window(name, &args),
        _ => Err("give exactly one of --out DIR or --window SCREEN".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ui-gallery: {e}");
            ExitCode::FAILURE
        }
    }
}

type Error = Box<dyn std::error::Error>;

fn combos() -> Vec<(Orientation, Language, TextSize)> {
    let mut v = Vec::new();
    for o in [Orientation::Landscape, Orientation::Portrait] {
        for l in [Language::ZhCn, Language::En] {
            for t in [TextSize::Normal, TextSize::Large] {
                v.push((o, l, t));
            }
        }
    }
    v
}

pub fn combo_name(o: Orientation, l: Language, t: TextSize) -> String {
    let o = if o == Orientation::Landscape { "landscape" } else { "portrait" };
    let t = if t == TextSize::Large { "-large" } else { "" };
    format!("{o}-{}{t}", l.locale())
}

fn write_gallery(out: &PathBuf) -> Result<(), Error> {
    std::fs::create_dir_all(out)?;
    let mut html = String::from(
        "<!doctype html><meta charset=utf-8><title>Kiosk screens</title>\
         <style>body{font-family:sans-serif;background:#eee}figure{display:inline-block;margin:8px}\
         img{width:480px;border:1px solid #999}figure.p img{width:270px}</style>",
    );
    let mut renderers = [ScreenRenderer::new(Orientation::Landscape)?, ScreenRenderer::new(Orientation::Portrait)?];
    for (o, l, t) in combos() {
        let combo = combo_name(o, l, t);
        let _ = write!(html, "<h2>{combo}</h2>");
        let renderer = &mut renderers[usize::from(o == Orientation::Portrait)];
        for (name, view) in sample_views(l, t) {
            let file = format!("{combo}-{name}.png");
            renderer.render(&view).save(out.join(&file))?;
            let class = if o == Orientation::Portrait { "p" } else { "l" };
            let _ = write!(
                html,
                "<figure class={class}><a href=\"{file}\"><img src=\"{file}\"></a><figcaption>{name}</figcaption></figure>"
            );
        }
    }
    std::fs::write(out.join("index.html"), html)?;
    println!("wrote {}", out.join("index.html").display());
    Ok(())
}

fn show_window(name: &str, args: &Args) -> Result<(), Error> {
    let orientation = if args.portrait { Orientation::Portrait } else { Orientation::Landscape };
    let view = sample_views(Language::ZhCn, TextSize::Normal)
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
        .ok_or_else(|| format!("no sample screen named {name:?}"))?;
    let (window, _intents) = KioskWindow::new(orientation)?;
    window.apply(&view);
    let _timer = (args.fps > 0).then(|| {
        let handle = window.handle();
        let frames: Vec<_> = (0..30).map(synthetic_frame).collect();
        let mut n = 0usize;
        let timer = slint::Timer::default();
        timer.start(slint::TimerMode::Repeated, std::time::Duration::from_secs(1) / args.fps, move || {
            n += 1;
            let _ = handle.show_frame(frames[n % frames.len()].clone());
        });
        timer
    });
    window.run()?;
    Ok(())
}
