//! Pools, transactions, the uniform query API and the retry helper.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, Decode, PgPool, Postgres, Row as _, Sqlite, SqlitePool, Type};
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// A unique constraint refused the write; carries the constraint or index name when known.
    #[error("unique constraint violated: {0}")]
    Unique(String),
    #[error("row decode error in column {column}: {message}")]
    Decode { column: String, message: String },
    #[error("migration error: {0}")]
    Migration(String),
    #[error("unsupported database url (use sqlite://… or postgres://…)")]
    BadUrl,
}

impl StoreError {
    /// Serialization failure, deadlock or a busy SQLite database: the whole transaction may be
    /// retried as it is.
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::Db(sqlx::Error::Database(e)) => {
                matches!(
                    e.code().as_deref(),
                    Some("40001" | "40P01" | "5" | "6" | "261" | "262" | "517")
                )
            }
            StoreError::Db(sqlx::Error::PoolTimedOut) => true,
            _ => false,
        }
    }
}

fn classify(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(d) = &e
        && d.is_unique_violation()
    {
        let name = d
            .constraint()
            .map(str::to_string)
            .unwrap_or_else(|| d.message().to_string());
        return StoreError::Unique(name);
    }
    StoreError::Db(e)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }
}

/// A connection pool on one engine. Cheap to clone.
#[derive(Clone)]
pub enum Db {
    /// SQLite allows one writer at a time; the gate queues this process's writers fairly instead
    /// of letting them spin in SQLite's busy handler. Other processes still meet `busy_timeout`.
    Sqlite(SqlitePool, Arc<tokio::sync::Mutex<()>>),
    Postgres(PgPool),
}

/// SQL text: a literal, or one assembled from literal fragments and `$n` placeholders (never
/// from input — every value travels as an [`Arg`]).
pub enum Sql {
    Static(&'static str),
    Built(String),
}

impl From<&'static str> for Sql {
    fn from(s: &'static str) -> Self {
        Sql::Static(s)
    }
}
impl From<String> for Sql {
    fn from(s: String) -> Self {
        Sql::Built(s)
    }
}

/// A bound value. Nulls are typed so that PostgreSQL infers parameter types.
#[derive(Debug, Clone)]
pub enum Arg {
    Uuid(Uuid),
    OptUuid(Option<Uuid>),
    Text(String),
    OptText(Option<String>),
    I64(i64),
    OptI64(Option<i64>),
    Bool(bool),
    OptBool(Option<bool>),
    Bytes(Vec<u8>),
    OptBytes(Option<Vec<u8>>),
}

impl From<Uuid> for Arg {
    fn from(v: Uuid) -> Self {
        Arg::Uuid(v)
    }
}
impl From<Option<Uuid>> for Arg {
    fn from(v: Option<Uuid>) -> Self {
        Arg::OptUuid(v)
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(v.to_string())
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(v)
    }
}
impl From<&String> for Arg {
    fn from(v: &String) -> Self {
        Arg::Text(v.clone())
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::OptText(v)
    }
}
impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Self {
        Arg::OptText(v.map(str::to_string))
    }
}
impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::I64(v)
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Arg::OptI64(v)
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Arg::Bool(v)
    }
}
impl From<Option<bool>> for Arg {
    fn from(v: Option<bool>) -> Self {
        Arg::OptBool(v)
    }
}
impl From<Vec<u8>> for Arg {
    fn from(v: Vec<u8>) -> Self {
        Arg::Bytes(v)
    }
}
impl From<&[u8]> for Arg {
    fn from(v: &[u8]) -> Self {
        Arg::Bytes(v.to_vec())
    }
}
impl From<Option<Vec<u8>>> for Arg {
    fn from(v: Option<Vec<u8>>) -> Self {
        Arg::OptBytes(v)
    }
}
impl From<linli_domain::Ts> for Arg {
    fn from(v: linli_domain::Ts) -> Self {
        Arg::I64(v.0)
    }
}
impl From<Option<linli_domain::Ts>> for Arg {
    fn from(v: Option<linli_domain::Ts>) -> Self {
        Arg::OptI64(v.map(|t| t.0))
    }
}

/// `args![a, b, c]` builds a `Vec<Arg>`.
#[macro_export]
macro_rules! args {
    ($($v:expr),* $(,)?) => { vec![$($crate::Arg::from($v)),*] };
}

macro_rules! bind_args {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Arg::Uuid(v) => q.bind(v),
                Arg::OptUuid(v) => q.bind(v),
                Arg::Text(v) => q.bind(v),
                Arg::OptText(v) => q.bind(v),
                Arg::I64(v) => q.bind(v),
                Arg::OptI64(v) => q.bind(v),
                Arg::Bool(v) => q.bind(v),
                Arg::OptBool(v) => q.bind(v),
                Arg::Bytes(v) => q.bind(v),
                Arg::OptBytes(v) => q.bind(v),
            };
        }
        q
    }};
}

fn query_of<DB: sqlx::Database>(
    sql: Sql,
) -> sqlx::query::Query<'static, DB, <DB as sqlx::Database>::Arguments> {
    match sql {
        Sql::Static(s) => sqlx::query(s),
        Sql::Built(s) => sqlx::query(AssertSqlSafe(s)),
    }
}

/// SQLite resolves each *named* parameter (`$7`) by a linear scan of the statement's names, so a
/// statement with thousands of `$n` (a multi-row INSERT) binds in quadratic time. When the
/// placeholders appear exactly as `$1, $2, …, $n` in order, each once, anonymous `?` means the
/// same and binds in constant time. Otherwise the text is returned unchanged.
fn sqlite_positional(sql: Sql) -> Sql {
    let Sql::Built(s) = sql else { return sql };
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut expected = 1u64;
    let mut last = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' {
            let start = i + 1;
            let mut end = start;
            while end < bytes.len() && bytes[end].is_ascii_digit() {
                end += 1;
            }
            if end > start {
                if s[start..end].parse::<u64>().ok() != Some(expected) {
                    return Sql::Built(s);
                }
                out.push_str(&s[last..i]);
                out.push('?');
                expected += 1;
                last = end;
                i = end;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&s[last..]);
    Sql::Built(out)
}

/// A row from either engine.
#[derive(Clone, Copy)]
pub enum Row<'a> {
    Sqlite(&'a SqliteRow),
    Postgres(&'a PgRow),
}

impl Row<'_> {
    pub fn get<T>(&self, col: &str) -> Result<T, StoreError>
    where
        T: for<'r> Decode<'r, Sqlite>
            + Type<Sqlite>
            + for<'r> Decode<'r, Postgres>
            + Type<Postgres>,
    {
        let r = match self {
            Row::Sqlite(r) => r.try_get::<T, _>(col),
            Row::Postgres(r) => r.try_get::<T, _>(col),
        };
        r.map_err(|e| StoreError::Decode {
            column: col.to_string(),
            message: e.to_string(),
        })
    }
    pub fn uuid(&self, col: &str) -> Result<Uuid, StoreError> {
        self.get(col)
    }
    pub fn opt_uuid(&self, col: &str) -> Result<Option<Uuid>, StoreError> {
        self.get(col)
    }
    pub fn text(&self, col: &str) -> Result<String, StoreError> {
        self.get(col)
    }
    pub fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError> {
        self.get(col)
    }
    pub fn i64(&self, col: &str) -> Result<i64, StoreError> {
        self.get(col)
    }
    pub fn opt_i64(&self, col: &str) -> Result<Option<i64>, StoreError> {
        self.get(col)
    }
    pub fn ts(&self, col: &str) -> Result<linli_domain::Ts, StoreError> {
        self.i64(col).map(linli_domain::Ts)
    }
    pub fn opt_ts(&self, col: &str) -> Result<Option<linli_domain::Ts>, StoreError> {
        self.opt_i64(col).map(|o| o.map(linli_domain::Ts))
    }
    pub fn bool(&self, col: &str) -> Result<bool, StoreError> {
        self.get(col)
    }
    pub fn opt_bool(&self, col: &str) -> Result<Option<bool>, StoreError> {
        self.get(col)
    }
    pub fn bytes(&self, col: &str) -> Result<Vec<u8>, StoreError> {
        self.get(col)
    }
    pub fn opt_bytes(&self, col: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.get(col)
    }
}

/// Runs one query on whichever engine `$conn` belongs to. `$c` is bound to an executor.
macro_rules! run {
    (fetch_all, $c:expr, $sql:expr, $args:expr, $f:expr, $wrap:path) => {{
        let rows = bind_args!(query_of($sql), $args)
            .fetch_all($c)
            .await
            .map_err(classify)?;
        rows.iter().map(|r| $f($wrap(r))).collect()
    }};
    (fetch_optional, $c:expr, $sql:expr, $args:expr, $f:expr, $wrap:path) => {{
        match bind_args!(query_of($sql), $args)
            .fetch_optional($c)
            .await
            .map_err(classify)?
        {
            Some(r) => $f($wrap(&r)).map(Some),
            None => Ok(None),
        }
    }};
    (execute, $c:expr, $sql:expr, $args:expr) => {{
        Ok(bind_args!(query_of($sql), $args)
            .execute($c)
            .await
            .map_err(classify)?
            .rows_affected())
    }};
}

impl Db {
    /// Connect by URL: `sqlite://path/to/file.db` or `postgres://…`. SQLite files are created,
    /// put in WAL mode and told to wait for locks; PostgreSQL pools are sized for a service.
    pub async fn connect(url: &str) -> Result<Db, StoreError> {
        if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // NORMAL in WAL mode loses nothing on a process crash (SIGKILL); only an OS crash
                // or power loss can drop the last transactions.
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                .pragma("temp_store", "memory")
                .pragma("cache_size", "-65536");
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .min_connections(1)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(opts)
                .await?;
            Ok(Db::Sqlite(pool, Arc::new(tokio::sync::Mutex::new(()))))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let opts = PgConnectOptions::from_str(url)?.application_name("linli");
            let pool = PgPoolOptions::new()
                .max_connections(32)
                .min_connections(1)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(opts)
                .await?;
            Ok(Db::Postgres(pool))
        } else {
            Err(StoreError::BadUrl)
        }
    }

    pub fn engine(&self) -> Engine {
        match self {
            Db::Sqlite(..) => Engine::Sqlite,
            Db::Postgres(_) => Engine::Postgres,
        }
    }

    /// Open a write transaction. On SQLite it takes this process's writer gate and starts with
    /// `BEGIN IMMEDIATE`, so the write lock is held from the start and never upgraded mid-way.
    pub async fn begin_write(&self) -> Result<Tx, StoreError> {
        match self {
            Db::Sqlite(pool, gate) => {
                let guard = gate.clone().lock_owned().await;
                let tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                Ok(Tx::Sqlite(tx, Some(guard)))
            }
            Db::Postgres(pool) => Ok(Tx::Postgres(pool.begin().await?)),
        }
    }

    /// A read-only snapshot spanning several queries.
    pub async fn begin_read(&self) -> Result<Tx, StoreError> {
        match self {
            Db::Sqlite(pool, _) => Ok(Tx::Sqlite(pool.begin().await?, None)),
            Db::Postgres(pool) => Ok(Tx::Postgres(pool.begin().await?)),
        }
    }

    pub async fn fetch_all<T>(
        &self,
        sql: impl Into<Sql>,
        args: Vec<Arg>,
        f: impl Fn(Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        match self {
            Db::Sqlite(p, _) => run!(
                fetch_all,
                p,
                sqlite_positional(sql.into()),
                args,
                f,
                Row::Sqlite
            ),
            Db::Postgres(p) => run!(fetch_all, p, sql.into(), args, f, Row::Postgres),
        }
    }

    pub async fn fetch_optional<T>(
        &self,
        sql: impl Into<Sql>,
        args: Vec<Arg>,
        f: impl Fn(Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        match self {
            Db::Sqlite(p, _) => run!(
                fetch_optional,
                p,
                sqlite_positional(sql.into()),
                args,
                f,
                Row::Sqlite
            ),
            Db::Postgres(p) => run!(fetch_optional, p, sql.into(), args, f, Row::Postgres),
        }
    }

    /// A single statement outside an explicit transaction (reads, or idempotent housekeeping).
    pub async fn execute(&self, sql: impl Into<Sql>, args: Vec<Arg>) -> Result<u64, StoreError> {
        match self {
            Db::Sqlite(p, _) => run!(execute, p, sqlite_positional(sql.into()), args),
            Db::Postgres(p) => run!(execute, p, sql.into(), args),
        }
    }

    /// Is the database answering?
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.fetch_one_i64("SELECT CAST(1 AS BIGINT) AS n", vec![])
            .await
            .map(|_| ())
    }

    pub async fn fetch_one_i64(
        &self,
        sql: impl Into<Sql>,
        args: Vec<Arg>,
    ) -> Result<i64, StoreError> {
        let v = self
            .fetch_optional(sql, args, |r| r.get::<i64>("n").or_else(|_| first_i64(&r)))
            .await?;
        Ok(v.unwrap_or(0))
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(p, _) => p.close().await,
            Db::Postgres(p) => p.close().await,
        }
    }

    /// Pool statistics for /metrics: (size, idle).
    pub fn pool_stats(&self) -> (u32, usize) {
        match self {
            Db::Sqlite(p, _) => (p.size(), p.num_idle()),
            Db::Postgres(p) => (p.size(), p.num_idle()),
        }
    }

    pub fn sqlite_pool(&self) -> Option<&SqlitePool> {
        match self {
            Db::Sqlite(p, _) => Some(p),
            Db::Postgres(_) => None,
        }
    }

    pub fn pg_pool(&self) -> Option<&PgPool> {
        match self {
            Db::Postgres(p) => Some(p),
            Db::Sqlite(..) => None,
        }
    }
}

fn first_i64(r: &Row<'_>) -> Result<i64, StoreError> {
    match r {
        Row::Sqlite(r) => r.try_get::<i64, _>(0usize),
        Row::Postgres(r) => r.try_get::<i64, _>(0usize),
    }
    .map_err(|e| StoreError::Decode {
        column: "0".into(),
        message: e.to_string(),
    })
}

/// An open transaction on either engine. Dropped without [`Tx::commit`] it rolls back.
pub enum Tx {
    Sqlite(
        sqlx::Transaction<'static, Sqlite>,
        Option<tokio::sync::OwnedMutexGuard<()>>,
    ),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

impl Tx {
    pub fn engine(&self) -> Engine {
        match self {
            Tx::Sqlite(..) => Engine::Sqlite,
            Tx::Postgres(_) => Engine::Postgres,
        }
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(t, _guard) => t.commit().await.map_err(classify),
            Tx::Postgres(t) => t.commit().await.map_err(classify),
        }
    }

    pub async fn fetch_all<T>(
        &mut self,
        sql: impl Into<Sql>,
        args: Vec<Arg>,
        f: impl Fn(Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        match self {
            Tx::Sqlite(t, _) => run!(
                fetch_all,
                &mut **t,
                sqlite_positional(sql.into()),
                args,
                f,
                Row::Sqlite
            ),
            Tx::Postgres(t) => run!(fetch_all, &mut **t, sql.into(), args, f, Row::Postgres),
        }
    }

    pub async fn fetch_optional<T>(
        &mut self,
        sql: impl Into<Sql>,
        args: Vec<Arg>,
        f: impl Fn(Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        match self {
            Tx::Sqlite(t, _) => run!(
                fetch_optional,
                &mut **t,
                sqlite_positional(sql.into()),
                args,
                f,
                Row::Sqlite
            ),
            Tx::Postgres(t) => run!(fetch_optional, &mut **t, sql.into(), args, f, Row::Postgres),
        }
    }

    pub async fn execute(
        &mut self,
        sql: impl Into<Sql>,
        args: Vec<Arg>,
    ) -> Result<u64, StoreError> {
        match self {
            Tx::Sqlite(t, _) => run!(execute, &mut **t, sqlite_positional(sql.into()), args),
            Tx::Postgres(t) => run!(execute, &mut **t, sql.into(), args),
        }
    }

    pub async fn fetch_one_i64(
        &mut self,
        sql: impl Into<Sql>,
        args: Vec<Arg>,
    ) -> Result<i64, StoreError> {
        let v = self.fetch_optional(sql, args, |r| first_i64(&r)).await?;
        Ok(v.unwrap_or(0))
    }

    /// PostgreSQL: `COPY table (columns) FROM STDIN` of `rows` (one value per column each), in
    /// COPY's text format, sent in pieces of about [`COPY_CHUNK`] bytes. A bulk load's fastest
    /// path (no bind parameters, no statement to plan); constraint violations are reported as by
    /// an INSERT. `table` and `columns` are literals of the caller, never input. SQLite has no
    /// COPY: there this returns `None` and the caller inserts.
    pub async fn copy_in(
        &mut self,
        table: &str,
        columns: &str,
        rows: &[Vec<Arg>],
    ) -> Option<Result<u64, StoreError>> {
        let Tx::Postgres(t) = self else { return None };
        Some(copy_in_pg(t, table, columns, rows).await)
    }
}

/// About how many bytes of COPY data are sent at a time.
pub const COPY_CHUNK: usize = 1 << 20;

async fn copy_in_pg(
    conn: &mut sqlx::PgConnection,
    table: &str,
    columns: &str,
    rows: &[Vec<Arg>],
) -> Result<u64, StoreError> {
    if rows.is_empty() {
        return Ok(0);
    }
    let mut copy = conn
        .copy_in_raw(&format!("COPY {table} ({columns}) FROM STDIN"))
        .await
        .map_err(classify)?;
    let mut buf: Vec<u8> = Vec::with_capacity(COPY_CHUNK + 4096);
    for row in rows {
        for (i, a) in row.iter().enumerate() {
            if i > 0 {
                buf.push(b'\t');
            }
            copy_field(&mut buf, a);
        }
        buf.push(b'\n');
        if buf.len() >= COPY_CHUNK {
            copy.send(buf.as_slice()).await.map_err(classify)?;
            buf.clear();
        }
    }
    if !buf.is_empty() {
        copy.send(buf.as_slice()).await.map_err(classify)?;
    }
    copy.finish().await.map_err(classify)
}

/// One value in COPY's text format: `\N` for NULL, text with backslash, tab, newline and
/// carriage return escaped, bytea as `\\x` and hex.
fn copy_field(out: &mut Vec<u8>, a: &Arg) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match a {
        Arg::Uuid(u) | Arg::OptUuid(Some(u)) => {
            let mut b = Uuid::encode_buffer();
            out.extend_from_slice(u.hyphenated().encode_lower(&mut b).as_bytes());
        }
        Arg::Text(s) | Arg::OptText(Some(s)) => {
            for &c in s.as_bytes() {
                match c {
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    b'\t' => out.extend_from_slice(b"\\t"),
                    _ => out.push(c),
                }
            }
        }
        Arg::I64(n) | Arg::OptI64(Some(n)) => {
            use std::io::Write as _;
            let _ = write!(out, "{n}");
        }
        Arg::Bool(b) | Arg::OptBool(Some(b)) => out.push(if *b { b't' } else { b'f' }),
        Arg::Bytes(b) | Arg::OptBytes(Some(b)) => {
            out.extend_from_slice(b"\\\\x");
            for &x in b {
                out.push(HEX[usize::from(x >> 4)]);
                out.push(HEX[usize::from(x & 15)]);
            }
        }
        Arg::OptUuid(None)
        | Arg::OptText(None)
        | Arg::OptI64(None)
        | Arg::OptBool(None)
        | Arg::OptBytes(None) => out.extend_from_slice(b"\\N"),
    }
}

/// Errors that may say "try the whole transaction again".
pub trait Retryable {
    fn is_retryable(&self) -> bool;
}

impl Retryable for StoreError {
    fn is_retryable(&self) -> bool {
        StoreError::is_retryable(self)
    }
}

/// Run a write transaction, retrying it from the start on serialization failures, deadlocks
/// and a busy SQLite file (at most 6 attempts, with growing jittered pauses). The closure must
/// open, use and commit its own [`Tx`]; it is called again from scratch on each attempt.
pub async fn retry<T, E, F, Fut>(mut f: F) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
    E: Retryable,
{
    let mut attempt: u32 = 0;
    loop {
        match f().await {
            Err(e) if e.is_retryable() && attempt < 5 => {
                attempt += 1;
                let base = 5u64 << attempt;
                let jitter = u64::from(Uuid::now_v7().as_bytes()[15]) % base.max(1);
                tracing::debug!(attempt, "retrying transaction");
                tokio::time::sleep(Duration::from_millis(base + jitter)).await;
            }
            other => return other,
        }
    }
}

/// Swap the database name in a PostgreSQL URL, keeping query parameters.
pub fn replace_db_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = base[scheme_end..].find('/').map(|i| i + scheme_end);
    let mut out = match path_start {
        Some(i) => format!("{}/{name}", &base[..i]),
        None => format!("{base}/{name}"),
    };
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// `$1, $2, …` placeholder numbering for SQL assembled from fragments.
#[derive(Default)]
pub struct Params {
    pub args: Vec<Arg>,
}

impl Params {
    pub fn push(&mut self, a: impl Into<Arg>) -> String {
        self.args.push(a.into());
        format!("${}", self.args.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn db_name_swap() {
        assert_eq!(
            replace_db_name("postgres://u@h:5432/postgres", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            replace_db_name("postgres://h/db?sslmode=disable", "x"),
            "postgres://h/x?sslmode=disable"
        );
        assert_eq!(replace_db_name("postgres://h", "x"), "postgres://h/x");
    }

    #[test]
    fn copy_text_format_escapes_and_nulls() {
        let mut out = Vec::new();
        for a in [
            Arg::Text("a\\b\tc\nd\re 张".into()),
            Arg::OptText(None),
            Arg::Bytes(vec![0, 0xab, 0x10]),
            Arg::I64(-42),
            Arg::Bool(true),
            Arg::Uuid(Uuid::nil()),
        ] {
            copy_field(&mut out, &a);
            out.push(b'|');
        }
        assert_eq!(
            String::from_utf8_lossy(&out),
            "a\\\\b\\tc\\nd\\re 张|\\N|\\\\x00ab10|-42|t|00000000-0000-0000-0000-000000000000|"
        );
    }

    #[test]
    fn positional_rewrite_only_for_in_order_placeholders() {
        let text = |s: Sql| match s {
            Sql::Built(s) => s,
            Sql::Static(s) => s.to_string(),
        };
        assert_eq!(
            text(sqlite_positional(Sql::Built(
                "INSERT INTO t VALUES ($1, $2), ($3, $4)".into()
            ))),
            "INSERT INTO t VALUES (?, ?), (?, ?)"
        );
        // A placeholder used twice, or out of order, keeps its number.
        let reused = "SELECT 1 WHERE a LIKE $1 OR b LIKE $1 LIMIT $2";
        assert_eq!(text(sqlite_positional(Sql::Built(reused.into()))), reused);
        let swapped = "SELECT 1 WHERE a = $2 AND b = $1";
        assert_eq!(text(sqlite_positional(Sql::Built(swapped.into()))), swapped);
        assert_eq!(
            text(sqlite_positional(Sql::Built("SELECT $10".into()))),
            "SELECT $10"
        );
        assert_eq!(
            text(sqlite_positional(Sql::Static("SELECT $1"))),
            "SELECT $1"
        );
    }

    #[tokio::test]
    async fn retry_repeats_retryable_failures_then_gives_up() {
        let mut calls = 0;
        let r: Result<(), StoreError> = retry(|| {
            calls += 1;
            async { Err(StoreError::Db(sqlx::Error::PoolTimedOut)) }
        })
        .await;
        assert!(r.is_err());
        assert_eq!(calls, 6, "first attempt plus five retries");

        let mut calls = 0;
        let r: Result<u8, StoreError> = retry(|| {
            calls += 1;
            let fail = calls < 3;
            async move {
                if fail {
                    Err(StoreError::Db(sqlx::Error::PoolTimedOut))
                } else {
                    Ok(7)
                }
            }
        })
        .await;
        assert_eq!((r.ok(), calls), (Some(7), 3));

        let mut calls = 0;
        let r: Result<(), StoreError> = retry(|| {
            calls += 1;
            async { Err(StoreError::Unique("x".into())) }
        })
        .await;
        assert!(r.is_err());
        assert_eq!(calls, 1, "a unique violation is not retried");
    }
}
