-- The fleet CA this database's devices were enrolled under (SHA-256 of its DER
-- certificate), recorded at the first start. Instances share this database with copies
-- of one data directory; an instance started with another CA (a data directory that
-- was not copied, so it made its own) would issue certificates the other instances
-- refuse and refuse theirs: it is stopped at start instead.
CREATE TABLE fleet_ca (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    ca_sha256 TEXT NOT NULL,
    bound_at BIGINT NOT NULL
);
