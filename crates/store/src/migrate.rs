//! Schema migrations, embedded in the binary and run at start.
//!
//! Each version has one script per engine under `migrations/<engine>/NNNN_name.sql`; both trees
//! must hold the same versions, tables and columns (tested). Applied versions are recorded with a
//! checksum so an edited, already-applied script is refused rather than silently diverging.
//! Two servers starting at once on PostgreSQL race harmlessly: DDL is transactional there, the
//! loser's attempt rolls back, and it re-reads the version table and finds the work done.

use sha2::{Digest, Sha256};

use crate::db::{Db, Engine, StoreError};

pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "foundation",
        sqlite: include_str!("../../../migrations/sqlite/0001_foundation.sql"),
        postgres: include_str!("../../../migrations/postgres/0001_foundation.sql"),
    },
    Migration {
        version: 2,
        name: "org_kind_index",
        sqlite: include_str!("../../../migrations/sqlite/0002_org_kind_index.sql"),
        postgres: include_str!("../../../migrations/postgres/0002_org_kind_index.sql"),
    },
    Migration {
        version: 3,
        name: "cases",
        sqlite: include_str!("../../../migrations/sqlite/0003_cases.sql"),
        postgres: include_str!("../../../migrations/postgres/0003_cases.sql"),
    },
    Migration {
        version: 4,
        name: "open311",
        sqlite: include_str!("../../../migrations/sqlite/0004_open311.sql"),
        postgres: include_str!("../../../migrations/postgres/0004_open311.sql"),
    },
    Migration {
        version: 5,
        name: "queue_counts",
        sqlite: include_str!("../../../migrations/sqlite/0005_queue_counts.sql"),
        postgres: include_str!("../../../migrations/postgres/0005_queue_counts.sql"),
    },
    Migration {
        version: 6,
        name: "notify",
        sqlite: include_str!("../../../migrations/sqlite/0006_notify.sql"),
        postgres: include_str!("../../../migrations/postgres/0006_notify.sql"),
    },
    Migration {
        version: 7,
        name: "portal",
        sqlite: include_str!("../../../migrations/sqlite/0007_portal.sql"),
        postgres: include_str!("../../../migrations/postgres/0007_portal.sql"),
    },
    Migration {
        version: 8,
        name: "search",
        sqlite: include_str!("../../../migrations/sqlite/0008_search.sql"),
        postgres: include_str!("../../../migrations/postgres/0008_search.sql"),
    },
    Migration {
        version: 9,
        name: "duplicates",
        sqlite: include_str!("../../../migrations/sqlite/0009_duplicates.sql"),
        postgres: include_str!("../../../migrations/postgres/0009_duplicates.sql"),
    },
    Migration {
        version: 10,
        name: "keys",
        sqlite: include_str!("../../../migrations/sqlite/0010_keys.sql"),
        postgres: include_str!("../../../migrations/postgres/0010_keys.sql"),
    },
    Migration {
        version: 11,
        name: "registry",
        sqlite: include_str!("../../../migrations/sqlite/0011_registry.sql"),
        postgres: include_str!("../../../migrations/postgres/0011_registry.sql"),
    },
    Migration {
        version: 12,
        name: "registry_unit",
        sqlite: include_str!("../../../migrations/sqlite/0012_registry_unit.sql"),
        postgres: include_str!("../../../migrations/postgres/0012_registry_unit.sql"),
    },
    Migration {
        version: 13,
        name: "import_jobs",
        sqlite: include_str!("../../../migrations/sqlite/0013_import_jobs.sql"),
        postgres: include_str!("../../../migrations/postgres/0013_import_jobs.sql"),
    },
    Migration {
        version: 14,
        name: "token_fields",
        sqlite: include_str!("../../../migrations/sqlite/0014_token_fields.sql"),
        postgres: include_str!("../../../migrations/postgres/0014_token_fields.sql"),
    },
    Migration {
        version: 15,
        name: "resident_retention",
        sqlite: include_str!("../../../migrations/sqlite/0015_resident_retention.sql"),
        postgres: include_str!("../../../migrations/postgres/0015_resident_retention.sql"),
    },
    Migration {
        version: 18,
        name: "search_time_keys",
        sqlite: include_str!("../../../migrations/sqlite/0018_search_time_keys.sql"),
        postgres: include_str!("../../../migrations/postgres/0018_search_time_keys.sql"),
    },
];

impl Migration {
    pub fn script(&self, engine: Engine) -> &'static str {
        match engine {
            Engine::Sqlite => self.sqlite,
            Engine::Postgres => self.postgres,
        }
    }
    fn checksum(&self, engine: Engine) -> String {
        hex::encode(Sha256::digest(self.script(engine).as_bytes()))
    }
}

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at BIGINT NOT NULL
)";

/// Apply every pending migration. Returns the versions applied by this call.
pub async fn migrate(db: &Db, now_micros: i64) -> Result<Vec<i64>, StoreError> {
    let engine = db.engine();
    let mut applied_now = Vec::new();
    for attempt in 0..3 {
        match run_pending(db, engine, now_micros, &mut applied_now).await {
            Ok(()) => return Ok(applied_now),
            Err(e) if attempt < 2 => {
                tracing::warn!(error = %e, "migration attempt failed; re-checking (another server may be migrating)");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(applied_now)
}

async fn run_pending(
    db: &Db,
    engine: Engine,
    now: i64,
    applied_now: &mut Vec<i64>,
) -> Result<(), StoreError> {
    db.execute(CREATE_TABLE, vec![]).await?;
    for m in MIGRATIONS {
        let existing = db
            .fetch_optional(
                "SELECT checksum FROM schema_migrations WHERE version = $1",
                crate::args![m.version],
                |r| r.text("checksum"),
            )
            .await?;
        match existing {
            Some(sum) if sum == m.checksum(engine) => continue,
            Some(_) => {
                return Err(StoreError::Migration(format!(
                    "migration {:04}_{} was changed after it was applied; restore it and add a new migration instead",
                    m.version, m.name
                )));
            }
            None => {}
        }
        let mut tx = db.begin_write().await?;
        match &mut tx {
            crate::Tx::Sqlite(t, _) => {
                sqlx::raw_sql(m.sqlite).execute(&mut **t).await?;
            }
            crate::Tx::Postgres(t) => {
                sqlx::raw_sql(m.postgres).execute(&mut **t).await?;
            }
        }
        tx.execute(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)",
            crate::args![m.version, m.name, m.checksum(engine), now],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(
            version = m.version,
            name = m.name,
            engine = engine.name(),
            "migration applied"
        );
        applied_now.push(m.version);
    }
    Ok(())
}

/// The highest applied version, or 0.
pub async fn current_version(db: &Db) -> Result<i64, StoreError> {
    db.fetch_one_i64(
        "SELECT COALESCE(MAX(version), 0) AS n FROM schema_migrations",
        vec![],
    )
    .await
}

#[cfg(test)]
mod tests {
    //! The two migration trees must describe the same schema, and the PostgreSQL tree must stay
    //! portable to distributed PostgreSQL (Citus, YugabyteDB, CockroachDB).

    use std::collections::BTreeMap;
    use std::path::Path;

    use super::MIGRATIONS;

    fn dir(engine: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../migrations")
            .join(engine)
    }

    /// Versions present as files, e.g. `0001_foundation.sql` → (1, "foundation").
    fn files(engine: &str) -> Vec<(i64, String)> {
        let mut v: Vec<(i64, String)> = std::fs::read_dir(dir(engine))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().to_string();
                let stem = name.strip_suffix(".sql")?;
                let (num, rest) = stem.split_once('_')?;
                Some((num.parse().ok()?, rest.to_string()))
            })
            .collect();
        v.sort();
        v
    }

    /// table → column names, from CREATE TABLE statements (lines inside the parentheses whose
    /// first word is not a constraint keyword).
    fn tables(sql: &str) -> BTreeMap<String, Vec<String>> {
        let mut out = BTreeMap::new();
        let mut current: Option<(String, Vec<String>)> = None;
        for line in sql.lines() {
            let l = line.trim();
            if let Some(rest) = l.strip_prefix("CREATE TABLE ") {
                let name = rest
                    .trim_start_matches("IF NOT EXISTS ")
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_string();
                current = Some((name, vec![]));
                continue;
            }
            if let Some((name, cols)) = current.as_mut() {
                if l.starts_with(')') {
                    out.insert(name.clone(), cols.clone());
                    current = None;
                    continue;
                }
                let first = l.split_whitespace().next().unwrap_or("");
                if !first.is_empty()
                    && !["PRIMARY", "UNIQUE", "CONSTRAINT", "FOREIGN", "CHECK", "--"]
                        .contains(&first)
                {
                    cols.push(first.to_string());
                }
            }
        }
        out
    }

    #[test]
    fn the_first_migration_creates_the_tables() {
        assert!(tables(MIGRATIONS[0].sqlite).len() >= 9);
    }

    #[test]
    fn both_trees_have_the_same_versions_registered() {
        let registered: Vec<(i64, String)> = MIGRATIONS
            .iter()
            .map(|m| (m.version, m.name.to_string()))
            .collect();
        assert_eq!(
            files("sqlite"),
            registered,
            "migrations/sqlite matches MIGRATIONS"
        );
        assert_eq!(
            files("postgres"),
            registered,
            "migrations/postgres matches MIGRATIONS"
        );
    }

    /// The full-text index is the one engine-specific structure (issue 6): FTS5 on SQLite (a
    /// virtual table and its triggers), a GIN expression index on PostgreSQL.
    const ENGINE_SPECIFIC_INDEXES: &[&str] = &["case_search_tsv"];

    #[test]
    fn both_trees_have_the_same_tables_and_columns() {
        for m in MIGRATIONS {
            let s = tables(m.sqlite);
            let p = tables(m.postgres);
            assert_eq!(s, p, "migration {} differs between engines", m.version);
            let indexes = |sql: &str| -> Vec<String> {
                let mut v: Vec<String> = sql
                    .lines()
                    .filter_map(|l| l.trim().split("INDEX ").nth(1))
                    .filter_map(|rest| rest.split_whitespace().next().map(str::to_string))
                    .collect();
                v.sort();
                v
            };
            let portable = |v: Vec<String>| -> Vec<String> {
                v.into_iter()
                    .filter(|i| !ENGINE_SPECIFIC_INDEXES.contains(&i.as_str()))
                    .collect()
            };
            assert_eq!(
                portable(indexes(m.sqlite)),
                portable(indexes(m.postgres)),
                "migration {} indexes differ",
                m.version
            );
        }
    }

    #[test]
    fn postgres_migrations_are_portable() {
        const FORBIDDEN: &[&str] = &[
            "TRIGGER",
            "FUNCTION",
            "PROCEDURE",
            "SERIAL",
            "SEQUENCE",
            "IDENTITY",
            "LISTEN",
            "NOTIFY",
            "PG_ADVISORY",
            "LOCK TABLE",
            "DEFERRABLE",
            "GENERATED",
            "NOW()",
            "CURRENT_TIMESTAMP",
            "CREATE EXTENSION",
            "INHERITS",
            "JSONB",
            "GEN_RANDOM_UUID",
            "RULE ",
        ];
        for m in MIGRATIONS {
            let code: String = m
                .postgres
                .lines()
                .map(|l| l.split("--").next().unwrap_or(""))
                .collect::<Vec<_>>()
                .join("\n")
                .to_uppercase();
            for f in FORBIDDEN {
                assert!(
                    !code.contains(f),
                    "migration {} uses non-portable construct {f}",
                    m.version
                );
            }
        }
    }

    #[test]
    fn tenant_tables_lead_their_primary_key_with_tenant() {
        for m in MIGRATIONS {
            for (table, cols) in tables(m.postgres) {
                if cols.first().map(String::as_str) == Some("tenant") {
                    let body = m
                        .postgres
                        .split(&format!("CREATE TABLE {table} ("))
                        .nth(1)
                        .unwrap_or("");
                    let body = body.split(");").next().unwrap_or("");
                    assert!(
                        body.contains("PRIMARY KEY (tenant"),
                        "{table}: primary key must start with tenant"
                    );
                }
            }
        }
    }
}
