//! Camera capture, on-device face analysis, quality gates, liveness and portrait encoding.
