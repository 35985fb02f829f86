-- Portico's embedded store. Entities are JSON documents; the side tables index what the store
-- enforces (unique and composite keys, references, tags) and are rewritten with every write,
-- in the same transaction. See gateway/store/sql_store.hpp.

CREATE TABLE entities (
    entity TEXT NOT NULL,         -- table name: "services", "keyauth_credentials", ...
    id     TEXT NOT NULL,
    doc    TEXT NOT NULL,         -- the normalized entity, JSON
    PRIMARY KEY (entity, id)
) WITHOUT ROWID;

-- Unique fields (key = field name) and composite cache keys (key = '@' + cache key name); value
-- is the JSON text of the field's value (a JSON array of the values for a composite key).
CREATE TABLE unique_keys (
    entity TEXT NOT NULL,
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    id     TEXT NOT NULL,
    PRIMARY KEY (entity, key, value)
) WITHOUT ROWID;
CREATE INDEX unique_keys_by_entity ON unique_keys (entity, id);

-- Every reference from an entity to another one: foreign fields ({"id": ...}) and arrays of ids
-- (services.ca_certificates). Looked up by parent on delete (restrict / cascade) and for
-- nested lists (/services/{id}/routes).
-- The primary-key columns come first: SQLite 3.40's integrity_check reports a false "NULL value"
-- for a WITHOUT ROWID table whose key columns are not declared first.
CREATE TABLE refs (
    entity        TEXT NOT NULL,
    id            TEXT NOT NULL,
    field         TEXT NOT NULL,
    parent_id     TEXT NOT NULL,
    parent_entity TEXT NOT NULL,
    PRIMARY KEY (entity, id, field, parent_id)
) WITHOUT ROWID;
CREATE INDEX refs_by_parent ON refs (parent_entity, parent_id);

-- Kong's hidden tags table (GET /tags, ?tags=).
CREATE TABLE tags (
    tag    TEXT NOT NULL,
    entity TEXT NOT NULL,
    id     TEXT NOT NULL,
    PRIMARY KEY (tag, entity, id)
) WITHOUT ROWID;
CREATE INDEX tags_by_entity ON tags (entity, id);

-- The revision log: one revision number per write transaction, one row per entity it changed.
CREATE TABLE revisions (
    revision  INTEGER NOT NULL,
    seq       INTEGER NOT NULL,   -- order of the rows within one revision
    at        REAL NOT NULL,      -- Unix seconds
    entity    TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    operation TEXT NOT NULL,      -- create, update, delete
    before    TEXT,               -- JSON, NULL on create
    after     TEXT,               -- JSON, NULL on delete
    PRIMARY KEY (revision, seq)
);

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO meta (key, value) VALUES ('revision', 0);
