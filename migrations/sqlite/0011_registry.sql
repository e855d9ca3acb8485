-- The base registry (issue 4): 人、地、物、组织 of each district, shared with departments.
-- Every row carries the unit it belongs to (unit_id, a grid or community) and that unit's
-- materialized path (unit_path), so scopes are the range predicates of every other table.
-- Sensitive values are sealed by the application (AES-256-GCM / SM4-GCM, bound to table,
-- column and row) and found through blind indexes (*_hash); *_masked is what lists show.
-- Sensitive tags are stored as their blind index, never as their name.
-- Coordinates are WGS84 micro-degrees, areas hundredths of a square metre.
-- Keep in step with migrations/postgres/0011_registry.sql.

-- A grid's polygon: GeoJSON text plus its bounding box (the in-memory R-tree is built from these).
CREATE TABLE grid_shapes (
    tenant      TEXT   NOT NULL,
    unit_id     BLOB   NOT NULL,
    geojson     TEXT   NOT NULL,
    min_lng_e6  BIGINT NOT NULL,
    min_lat_e6  BIGINT NOT NULL,
    max_lng_e6  BIGINT NOT NULL,
    max_lat_e6  BIGINT NOT NULL,
    area_m2     BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    version     BIGINT NOT NULL,
    PRIMARY KEY (tenant, unit_id)
);

CREATE TABLE buildings (
    tenant      TEXT   NOT NULL,
    id          BLOB   NOT NULL,
    unit_id     BLOB   NOT NULL,
    unit_path   TEXT   NOT NULL,
    name        TEXT   NOT NULL,
    address     TEXT   NOT NULL,
    kind        TEXT   NOT NULL,
    floors      BIGINT NOT NULL,
    build_year  BIGINT,
    lat_e6      BIGINT,
    lng_e6      BIGINT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    version     BIGINT NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX buildings_path ON buildings (tenant, unit_path, id);
CREATE UNIQUE INDEX buildings_address ON buildings (tenant, address);

CREATE TABLE entrances (
    tenant      TEXT   NOT NULL,
    id          BLOB   NOT NULL,
    building_id BLOB   NOT NULL,
    name        TEXT   NOT NULL,
    sort        BIGINT NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE UNIQUE INDEX entrances_building ON entrances (tenant, building_id, name);

CREATE TABLE houses (
    tenant       TEXT   NOT NULL,
    id           BLOB   NOT NULL,
    building_id  BLOB   NOT NULL,
    entrance_id  BLOB,
    unit_id      BLOB   NOT NULL,
    unit_path    TEXT   NOT NULL,
    number       TEXT   NOT NULL,
    floor        BIGINT NOT NULL,
    area_m2_x100 BIGINT NOT NULL,
    house_use    TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    version      BIGINT NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE UNIQUE INDEX houses_number ON houses (tenant, building_id, number);
CREATE INDEX houses_path ON houses (tenant, unit_path, id);

CREATE TABLE households (
    tenant      TEXT   NOT NULL,
    id          BLOB   NOT NULL,
    house_id    BLOB,
    unit_id     BLOB   NOT NULL,
    unit_path   TEXT   NOT NULL,
    kind        TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    version     BIGINT NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX households_house ON households (tenant, house_id);
CREATE INDEX households_path ON households (tenant, unit_path, id);

-- status: active, moved_out, deceased, anonymised. birth_date is YYYY-MM-DD (age bands are
-- ranges on it). name is personal but not sensitive: lists show it masked.
CREATE TABLE residents (
    tenant        TEXT   NOT NULL,
    id            BLOB   NOT NULL,
    unit_id       BLOB   NOT NULL,
    unit_path     TEXT   NOT NULL,
    house_id      BLOB,
    household_id  BLOB,
    relation      TEXT   NOT NULL,
    name          TEXT   NOT NULL,
    sex           TEXT   NOT NULL,
    birth_date    TEXT   NOT NULL,
    id_number     BLOB NOT NULL,
    id_hash       TEXT   NOT NULL,
    id_masked     TEXT   NOT NULL,
    phone         BLOB,
    phone_hash    TEXT,
    phone_masked  TEXT   NOT NULL,
    residency     TEXT   NOT NULL,
    status        TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    version       BIGINT NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE UNIQUE INDEX residents_id_hash ON residents (tenant, id_hash);
CREATE INDEX residents_phone ON residents (tenant, phone_hash);
CREATE INDEX residents_path ON residents (tenant, unit_path, id);
CREATE INDEX residents_house ON residents (tenant, house_id);
CREATE INDEX residents_household ON residents (tenant, household_id);
CREATE INDEX residents_birth ON residents (tenant, birth_date, unit_path);

-- tag: the tag's key, or for a sensitive tag the blind index of its key.
CREATE TABLE resident_tags (
    tenant      TEXT   NOT NULL,
    resident_id BLOB   NOT NULL,
    tag         TEXT   NOT NULL,
    PRIMARY KEY (tenant, resident_id, tag)
);
CREATE INDEX resident_tags_tag ON resident_tags (tenant, tag, resident_id);

-- The tag vocabulary, extendable per deployment; sensitive tags are stored blind.
CREATE TABLE registry_tags (
    tag_key     TEXT    NOT NULL PRIMARY KEY,
    label       TEXT    NOT NULL,
    sensitive   BOOLEAN NOT NULL,
    sort        BIGINT  NOT NULL,
    created_at  BIGINT  NOT NULL
);

-- Life-cycle events (迁入/迁出/出生/死亡/更正…): the history a resident's record keeps.
CREATE TABLE resident_events (
    tenant      TEXT   NOT NULL,
    id          BLOB   NOT NULL,
    resident_id BLOB   NOT NULL,
    kind        TEXT   NOT NULL,
    on_date     TEXT   NOT NULL,
    note        TEXT   NOT NULL,
    actor_id    BLOB,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX resident_events_resident ON resident_events (tenant, resident_id, created_at);

-- City components (部件), coded per GB/T 30428 / CJ/T 214.
CREATE TABLE components (
    tenant      TEXT   NOT NULL,
    id          BLOB   NOT NULL,
    code        TEXT   NOT NULL,
    class_code  TEXT   NOT NULL,
    name        TEXT   NOT NULL,
    owner_id    BLOB,
    state       TEXT   NOT NULL,
    unit_id     BLOB   NOT NULL,
    unit_path   TEXT   NOT NULL,
    address     TEXT   NOT NULL,
    lat_e6      BIGINT,
    lng_e6      BIGINT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    version     BIGINT NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE UNIQUE INDEX components_code ON components (tenant, code);
CREATE INDEX components_path ON components (tenant, unit_path, id);

-- Organisations (驻区单位, 社会组织, 物业公司, 业主委员会, 党组织) and their contact.
CREATE TABLE organisations (
    tenant        TEXT   NOT NULL,
    id            BLOB   NOT NULL,
    kind          TEXT   NOT NULL,
    name          TEXT   NOT NULL,
    unit_id       BLOB   NOT NULL,
    unit_path     TEXT   NOT NULL,
    address       TEXT   NOT NULL,
    contact_name  TEXT   NOT NULL,
    contact_phone BLOB,
    phone_masked  TEXT   NOT NULL,
    member_count  BIGINT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    version       BIGINT NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX organisations_path ON organisations (tenant, unit_path, id);

CREATE TABLE organisation_buildings (
    tenant          TEXT NOT NULL,
    organisation_id BLOB NOT NULL,
    building_id     BLOB NOT NULL,
    PRIMARY KEY (tenant, organisation_id, building_id)
);
