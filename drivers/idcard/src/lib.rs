//! Second-generation ID card reader: GA/T 467 SAM protocol, card data, reader task, simulator.
