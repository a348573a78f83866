//! Active liveness: a head-turn challenge judged from the sequence of per-frame pose
//! estimates, with the evidence that led to pass or fail.

use std::time::Duration;

use serde::Serialize;

use crate::analysis::FrameAnalysis;

/// Which challenge the session asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LivenessChallenge {
    /// No challenge: liveness is reported as not requested.
    #[default]
    None,
    /// Look at the camera, turn the head left, then right. (Blink is not offered: the
    /// SeetaFace model gives no eye landmarks.)
    Turn,
}

/// What the UI should ask the person to do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LivenessPrompt {
    LookAtCamera,
    TurnLeft,
    TurnRight,
    Done,
}

/// Thresholds of the turn challenge (in the analyzer's yaw-estimate degrees).
#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct LivenessConfig {
    /// |yaw| at most this counts as facing the camera.
    pub frontal_max_deg: f32,
    /// |yaw| at least this counts as turned.
    pub turn_min_deg: f32,
    /// Consecutive frames a pose must be held.
    pub hold_frames: u32,
    /// The face centre may move at most this many face widths between frames.
    pub max_jump_face_widths: f32,
}

impl Default for LivenessConfig {
    fn default() -> Self {
        Self { frontal_max_deg: 8.0, turn_min_deg: 12.0, hold_frames: 2, max_jump_face_widths: 0.6 }
    }
}

/// Why liveness passed or failed: goes with the portrait to the central service.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LivenessEvidence {
    pub challenge: LivenessChallenge,
    pub passed: bool,
    /// Frames with exactly one face that were judged.
    pub frames_observed: u32,
    /// Most negative / most positive yaw seen (degrees), if any face was seen.
    pub max_left_yaw_deg: Option<f32>,
    pub max_right_yaw_deg: Option<f32>,
    /// Each completed step and when (since the session start).
    pub steps: Vec<(LivenessPrompt, Duration)>,
    /// Times the face jumped or changed size too much (another face, a swapped photo).
    pub continuity_breaks: u32,
    pub summary: String,
}

/// Follows the challenge frame by frame.
#[derive(Debug, Clone)]
pub struct LivenessTracker {
    challenge: LivenessChallenge,
    config: LivenessConfig,
    prompt: LivenessPrompt,
    held: u32,
    last: Option<(f32, f32, f32)>,
    evidence: LivenessEvidence,
}

impl LivenessTracker {
    pub fn new(challenge: LivenessChallenge, config: LivenessConfig) -> Self {
        let prompt =
            if challenge == LivenessChallenge::None { LivenessPrompt::Done } else { LivenessPrompt::LookAtCamera };
        Self {
            challenge,
            config,
            prompt,
            held: 0,
            last: None,
            evidence: LivenessEvidence {
                challenge,
                passed: false,
                frames_observed: 0,
                max_left_yaw_deg: None,
                max_right_yaw_deg: None,
                steps: Vec::new(),
                continuity_breaks: 0,
                summary: String::new(),
            },
        }
    }

    /// The instruction for the screen; `None` when no challenge was asked for.
    pub fn prompt(&self) -> Option<LivenessPrompt> {
        (self.challenge != LivenessChallenge::None).then_some(self.prompt)
    }

    pub fn passed(&self) -> bool {
        self.challenge != LivenessChallenge::None && self.prompt == LivenessPrompt::Done
    }

    /// Feeds one analysed frame.
    pub fn observe(&mut self, a: &FrameAnalysis, now: Duration) {
        if self.challenge == LivenessChallenge::None || self.prompt == LivenessPrompt::Done {
            return;
        }
        let (Some(face), Some(yaw), 1) = (a.main_face(), a.yaw_deg, a.faces) else {
            // No single face: a pose cannot be held across this frame.
            self.held = 0;
            return;
        };
        let (cx, cy) = face.center();
        if let Some((lx, ly, lw)) = self.last {
            let jump = ((cx - lx).powi(2) + (cy - ly).powi(2)).sqrt() / lw.max(1.0);
            let size_change = (face.w / lw.max(1.0) - 1.0).abs();
            if jump > self.config.max_jump_face_widths || size_change > 0.4 {
                // A different face (or a swapped photo): start the challenge again.
                self.evidence.continuity_breaks += 1;
                self.prompt = LivenessPrompt::LookAtCamera;
                self.evidence.steps.clear();
                self.held = 0;
            }
        }
        self.last = Some((cx, cy, face.w));
        self.evidence.frames_observed += 1;
        let ev = &mut self.evidence;
        ev.max_left_yaw_deg = Some(ev.max_left_yaw_deg.map_or(yaw, |m| m.min(yaw)));
        ev.max_right_yaw_deg = Some(ev.max_right_yaw_deg.map_or(yaw, |m| m.max(yaw)));
        let in_pose = match self.prompt {
            LivenessPrompt::LookAtCamera => yaw.abs() <= self.config.frontal_max_deg,
            LivenessPrompt::TurnLeft => yaw <= -self.config.turn_min_deg,
            LivenessPrompt::TurnRight => yaw >= self.config.turn_min_deg,
            LivenessPrompt::Done => false,
        };
        self.held = if in_pose { self.held + 1 } else { 0 };
        if self.held >= self.config.hold_frames {
            self.evidence.steps.push((self.prompt, now));
            self.held = 0;
            self.prompt = match self.prompt {
                LivenessPrompt::LookAtCamera => LivenessPrompt::TurnLeft,
                LivenessPrompt::TurnLeft => LivenessPrompt::TurnRight,
                LivenessPrompt::TurnRight | LivenessPrompt::Done => LivenessPrompt::Done,
            };
        }
    }

    /// The final evidence.
    pub fn evidence(&self) -> LivenessEvidence {
        let mut ev = self.evidence.clone();
        ev.passed = self.passed();
        let fmt = |v: Option<f32>| v.map_or("none".to_owned(), |v| format!("{v:.0}"));
        ev.summary = match self.challenge {
            LivenessChallenge::None => "no liveness challenge requested".to_owned(),
            LivenessChallenge::Turn => format!(
                "head turn {}: {} of 3 steps, {} frames with one face, yaw range {}..{} deg (need <= -{:.0} and >= {:.0}), {} continuity breaks",
                if ev.passed { "passed" } else { "failed" },
                ev.steps.len(),
                ev.frames_observed,
                fmt(ev.max_left_yaw_deg),
                fmt(ev.max_right_yaw_deg),
                self.config.turn_min_deg,
                self.config.turn_min_deg,
                ev.continuity_breaks
            ),
        };
        ev
    }
}
