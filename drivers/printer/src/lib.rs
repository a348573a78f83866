//! Receipt printer: ESC/POS encoder, receipt layout, status, transports, virtual printer.
