//! Slint screens for every service and the typed view-model seam to the runtime.
