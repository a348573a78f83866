//! End-to-end and fault tests of the whole terminal over simulated devices.
