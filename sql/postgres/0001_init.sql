-- Portico's PostgreSQL store: the same tables as the embedded store (sql/sqlite/0001_init.sql),
-- read and written by the same code (gateway/store/sql_store.cpp). Text columns that order keyset
-- pagination use the "C" collation so that pages come back in byte order, as in SQLite.

CREATE TABLE entities (
    entity TEXT COLLATE "C" NOT NULL,
    id     TEXT COLLATE "C" NOT NULL,
    doc    TEXT NOT NULL,
    PRIMARY KEY (entity, id)
);

CREATE TABLE unique_keys (
    entity TEXT COLLATE "C" NOT NULL,
    key    TEXT COLLATE "C" NOT NULL,
    value  TEXT COLLATE "C" NOT NULL,
    id     TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (entity, key, value)
);
CREATE INDEX unique_keys_by_entity ON unique_keys (entity, id);

CREATE TABLE refs (
    entity        TEXT COLLATE "C" NOT NULL,
    id            TEXT COLLATE "C" NOT NULL,
    field         TEXT COLLATE "C" NOT NULL,
    parent_id     TEXT COLLATE "C" NOT NULL,
    parent_entity TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (entity, id, field, parent_id)
);
CREATE INDEX refs_by_parent ON refs (parent_entity, parent_id);

CREATE TABLE tags (
    tag    TEXT COLLATE "C" NOT NULL,
    entity TEXT COLLATE "C" NOT NULL,
    id     TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (tag, entity, id)
);
CREATE INDEX tags_by_entity ON tags (entity, id);

CREATE TABLE revisions (
    revision  BIGINT NOT NULL,
    seq       BIGINT NOT NULL,
    at        DOUBLE PRECISION NOT NULL,
    entity    TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    operation TEXT NOT NULL,
    before    TEXT,
    after     TEXT,
    PRIMARY KEY (revision, seq)
);

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO meta (key, value) VALUES ('revision', 0);

-- One row per gateway node sharing this database, refreshed by the node every few seconds
-- (GET /clustering/nodes). `health` is the node's view of target health, JSON.
CREATE TABLE cluster_nodes (
    id               TEXT PRIMARY KEY,
    hostname         TEXT NOT NULL,
    version          TEXT NOT NULL,
    proxy_listen     TEXT NOT NULL,   -- JSON array of addresses
    admin_listen     TEXT NOT NULL,   -- JSON array of addresses
    started_at       DOUBLE PRECISION NOT NULL,
    last_seen        DOUBLE PRECISION NOT NULL,
    applied_revision BIGINT NOT NULL,
    config_hash      TEXT NOT NULL,
    health           TEXT NOT NULL DEFAULT '[]'
);

-- Manual target health overrides (PUT /upstreams/{u}/targets/{t}[/{address}]/healthy|unhealthy),
-- applied by every node: sent to running nodes with NOTIFY, read from here by nodes that start
-- later. One row per (upstream, target, address) as given in the request; the latest wins.
CREATE TABLE health_overrides (
    upstream TEXT NOT NULL,
    target   TEXT NOT NULL,
    address  TEXT NOT NULL,       -- '' for every address of the target
    healthy  BOOLEAN NOT NULL,
    at       DOUBLE PRECISION NOT NULL,
    node_id  TEXT NOT NULL,
    PRIMARY KEY (upstream, target, address)
);
