//! Screen rotation on the console display, and the touch calibration that goes with it.
//!
//! Slint's LinuxKMS backend rotates what it draws (`SLINT_KMS_ROTATION`, degrees
//! clockwise) but, in 1.18, not the touches: `calloop_backend/input.rs` scales libinput's
//! normalised touch position by the *rotated* window's width and height, so on a
//! rotated screen a touch lands where the unrotated picture would have been (a tap on
//! the top-right corner of a screen turned 90° presses what is drawn top-left). The
//! touch is turned with libinput's calibration matrix, computed here from the same
//! [`Rotation`], so the two cannot disagree. `tests/rotation.rs` renders with Slint's
//! own software renderer to check that a touch on a drawn spot reaches that spot, for
//! each angle, and that an unrotated touch would not.

/// How far the picture is turned on the panel, clockwise (Slint's `SLINT_KMS_ROTATION`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Rotation {
    #[default]
    Deg0,
    Deg90,
    Deg180,
    Deg270,
}

/// libinput's identity calibration: touches as the panel reports them.
pub const IDENTITY: [f32; 6] = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];

impl Rotation {
    pub const ALL: [Rotation; 4] = [Rotation::Deg0, Rotation::Deg90, Rotation::Deg180, Rotation::Deg270];

    /// The rotation for `degrees` (0, 90, 180 or 270); `None` for anything else.
    pub fn from_degrees(degrees: u16) -> Option<Self> {
        match degrees {
            0 => Some(Self::Deg0),
            90 => Some(Self::Deg90),
            180 => Some(Self::Deg180),
            270 => Some(Self::Deg270),
            _ => None,
        }
    }

    pub fn degrees(self) -> u16 {
        match self {
            Self::Deg0 => 0,
            Self::Deg90 => 90,
            Self::Deg180 => 180,
            Self::Deg270 => 270,
        }
    }

    /// The value of `SLINT_KMS_ROTATION` that turns the picture this way.
    pub fn slint_kms_rotation(self) -> String {
        self.degrees().to_string()
    }

    /// libinput's calibration matrix `[a, b, c, d, e, f]` that turns a touch in the
    /// panel's own normalised coordinates `(x, y)` into the rotated picture's:
    /// `x' = a·x + b·y + c`, `y' = d·x + e·y + f`. The picture turns clockwise, so the
    /// touch turns the other way: for 90° the panel's top-right corner `(1, 0)` is the
    /// picture's top-left `(0, 0)`. (libinput's documentation names this matrix "270°
    /// clockwise": it names how the *touch* turns.) The same six numbers, space
    /// separated, are what a udev `LIBINPUT_CALIBRATION_MATRIX` property would hold.
    pub fn touch_calibration(self) -> [f32; 6] {
        match self {
            Self::Deg0 => IDENTITY,
            Self::Deg90 => [0.0, 1.0, 0.0, -1.0, 0.0, 1.0],
            Self::Deg180 => [-1.0, 0.0, 1.0, 0.0, -1.0, 1.0],
            Self::Deg270 => [0.0, -1.0, 1.0, 1.0, 0.0, 0.0],
        }
    }
}

/// The calibration that applies `first` (e.g. a panel's own correction from udev's
/// `LIBINPUT_CALIBRATION_MATRIX`), then `then` (the rotation): both as libinput
/// matrices, the result as one.
pub fn compose(then: [f32; 6], first: [f32; 6]) -> [f32; 6] {
    let [a, b, c, d, e, f] = then;
    let [g, h, i, j, k, l] = first;
    [a * g + b * j, a * h + b * k, a * i + b * l + c, d * g + e * j, d * h + e * k, d * i + e * l + f]
}

/// Where libinput's calibration `m` sends the normalised point `(x, y)`.
pub fn apply(m: [f32; 6], (x, y): (f32, f32)) -> (f32, f32) {
    (m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: (f32, f32), b: (f32, f32)) -> bool {
        (a.0 - b.0).abs() < 1e-6 && (a.1 - b.1).abs() < 1e-6
    }

    /// The panel's corners (normalised: top-left, top-right, bottom-right, bottom-left)
    /// and the picture's corner each lands on, turned clockwise by the rotation.
    #[test]
    fn each_angle_sends_the_panels_corners_to_the_pictures_corners() {
        let tl = (0.0, 0.0);
        let tr = (1.0, 0.0);
        let br = (1.0, 1.0);
        let bl = (0.0, 1.0);
        // Panel corner -> the picture's corner drawn there.
        let table = [
            (Rotation::Deg0, [(tl, tl), (tr, tr), (br, br), (bl, bl)]),
            // Turned 90° clockwise, the picture's top-left is at the panel's top-right.
            (Rotation::Deg90, [(tr, tl), (br, tr), (bl, br), (tl, bl)]),
            (Rotation::Deg180, [(br, tl), (bl, tr), (tl, br), (tr, bl)]),
            (Rotation::Deg270, [(bl, tl), (tl, tr), (tr, br), (br, bl)]),
        ];
        for (rotation, corners) in table {
            for (panel, picture) in corners {
                let got = apply(rotation.touch_calibration(), panel);
                assert!(close(got, picture), "{rotation:?}: panel {panel:?} -> {got:?}, expected {picture:?}");
            }
        }
    }

    #[test]
    fn degrees_round_trip_and_other_angles_are_refused() {
        for r in Rotation::ALL {
            assert_eq!(Rotation::from_degrees(r.degrees()), Some(r));
            assert_eq!(r.slint_kms_rotation(), r.degrees().to_string());
        }
        for bad in [1, 45, 89, 91, 360, 270 + 360] {
            assert_eq!(Rotation::from_degrees(bad), None, "{bad}");
        }
    }

    #[test]
    fn four_quarter_turns_are_no_turn_and_opposite_turns_cancel() {
        let q = Rotation::Deg90.touch_calibration();
        let full = compose(q, compose(q, compose(q, q)));
        assert_eq!(full, IDENTITY);
        assert_eq!(compose(q, q), Rotation::Deg180.touch_calibration());
        assert_eq!(compose(Rotation::Deg270.touch_calibration(), q), IDENTITY);
        for r in Rotation::ALL {
            assert_eq!(compose(r.touch_calibration(), IDENTITY), r.touch_calibration());
            assert_eq!(compose(IDENTITY, r.touch_calibration()), r.touch_calibration());
        }
    }

    #[test]
    fn a_panels_own_correction_is_applied_before_the_rotation() {
        // A panel that reports x mirrored (its udev matrix flips x back).
        let mirror_x = [-1.0, 0.0, 1.0, 0.0, 1.0, 0.0];
        let m = compose(Rotation::Deg90.touch_calibration(), mirror_x);
        // The panel reports its top-right corner as (0, 0): corrected to (1, 0), which
        // a 90° picture shows as its top-left.
        assert!(close(apply(m, (0.0, 0.0)), (0.0, 0.0)));
        assert!(close(apply(m, (1.0, 1.0)), (1.0, 1.0)), "{:?}", apply(m, (1.0, 1.0)));
    }
}
