//! `camera`: list cameras, capture a portrait, analyse image files.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use camera::{
    CameraRequest, CaptureConfig, CaptureSession, FaceAnalyzer, FrameSource, ImageSource, LivenessChallenge,
    QualityConfig, WatchdogConfig,
};
use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(name = "camera", about = "Kiosk camera: capture, face analysis, quality gates")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Liveness {
    None,
    Turn,
}

#[derive(Subcommand)]
enum Command {
    /// List V4L2 cameras.
    List,
    /// Capture one portrait from a camera (or from image files with --from).
    Capture {
        /// Camera index or device path.
        #[arg(long, default_value = "0")]
        device: String,
        /// Read frames from an image file or directory instead of a camera.
        #[arg(long)]
        from: Option<PathBuf>,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, value_enum, default_value = "none")]
        liveness: Liveness,
        #[arg(long, default_value_t = 640)]
        width: u32,
        #[arg(long, default_value_t = 480)]
        height: u32,
        #[arg(long, default_value_t = 30)]
        fps: u32,
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        #[arg(long, default_value_t = 90)]
        jpeg_quality: u8,
        /// Write per-frame analyses here (nothing is written otherwise).
        #[arg(long)]
        debug_dir: Option<PathBuf>,
    },
    /// Analyse image files: faces, gates, hints, score.
    Analyze {
        images: Vec<PathBuf>,
        /// One JSON object per image, one per line.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .init();
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("camera: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::List => list(),
        Command::Analyze { images, json } => analyze(&images, json),
        Command::Capture { device, from, out, liveness, width, height, fps, seconds, jpeg_quality, debug_dir } => {
            let config = CaptureConfig {
                duration: Duration::from_secs(seconds),
                liveness: match liveness {
                    Liveness::None => LivenessChallenge::None,
                    Liveness::Turn => LivenessChallenge::Turn,
                },
                jpeg_quality,
                debug_dir,
                ..CaptureConfig::default()
            };
            let session = CaptureSession::new(config)?;
            let mut source: Box<dyn FrameSource> = match from {
                Some(path) => Box::new(ImageSource::open(&path)?.looping(true)),
                None => {
                    let request = CameraRequest { device, width, height, fps, prefer_yuyv: false };
                    // Fail fast with a clear message when there is no camera at all.
                    camera::open_camera(&request).context("opening the camera")?;
                    Box::new(camera::watch_camera(request, WatchdogConfig::default()))
                }
            };
            let mut last = String::new();
            let outcome = session.run(source.as_mut(), |p| {
                let line = format!(
                    "hints: [{}] prompt: {:?} best: {:.2} remaining: {} s",
                    p.hints.iter().map(|h| h.code()).collect::<Vec<_>>().join(", "),
                    p.liveness_prompt,
                    p.best_score.unwrap_or(0.0),
                    p.remaining.as_secs()
                );
                if line != last {
                    eprintln!("{line}");
                    last = line;
                }
            })?;
            std::fs::write(&out, &outcome.portrait_jpeg).with_context(|| format!("writing {}", out.display()))?;
            println!("{}", serde_json::to_string(&outcome)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn list() -> anyhow::Result<ExitCode> {
    #[cfg(feature = "v4l")]
    {
        let cams = camera::list_cameras()?;
        if cams.is_empty() {
            eprintln!("camera: no camera found (no /dev/video* device): check the USB cable");
            return Ok(ExitCode::FAILURE);
        }
        for c in cams {
            println!("{}\t{}\t{}\t{}", c.index, c.path, c.name, c.description);
        }
        Ok(ExitCode::SUCCESS)
    }
    #[cfg(not(feature = "v4l"))]
    {
        Err(camera::CaptureError::Unsupported.into())
    }
}

fn analyze(images: &[PathBuf], json: bool) -> anyhow::Result<ExitCode> {
    let mut analyzer = FaceAnalyzer::new(QualityConfig::default())?;
    let mut failed = false;
    for path in images {
        let frame = match ImageSource::open(path).and_then(|mut s| s.next_frame()) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("camera: {}: {e}", path.display());
                failed = true;
                continue;
            }
        };
        let a = analyzer.analyze(&frame);
        if json {
            let mut v = serde_json::to_value(&a)?;
            v["image"] = serde_json::Value::String(path.display().to_string());
            println!("{v}");
        } else {
            println!(
                "{}: faces={} accepted={} score={:.2} eye_distance={} hints=[{}]",
                path.display(),
                a.faces,
                a.accepted,
                a.score,
                a.eye_distance_px.map_or("-".into(), |e| format!("{e:.0}px")),
                a.hints.iter().map(|h| h.code()).collect::<Vec<_>>().join(", ")
            );
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
