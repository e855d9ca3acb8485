//! Log-in, second factor, sessions, API tokens and passwords.
//!
//! Password checks (Argon2id, ~50 ms of CPU) run on the blocking pool and *before* the write
//! transaction opens, so a slow hash never holds the SQLite writer. Unknown usernames are hashed
//! against a dummy so their timing matches real accounts.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use base64::Engine as _;
use linli_domain::auth::{Authz, Grant};
use linli_domain::password::after_failure;
use linli_domain::totp;
use linli_store::repo::sessions::{self, Session};
use linli_store::repo::users::{self, User};
use linli_store::repo::{roles, tokens};
use linli_store::{Tx, retry};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::audit::{Actor, Event, record};
use crate::{App, AppError, Ctx, Principal, Result};

pub const STAGE_ACTIVE: &str = "active";
pub const STAGE_TOTP: &str = "totp";
pub const STAGE_ENROL: &str = "totp_enrol";

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    rand::fill(&mut b);
    b
}

/// A URL-safe random secret of 32 bytes.
pub fn random_token() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// How stale `last_seen_at` may be before a request writes it again.
const TOUCH_GAP_SECS: i64 = 60;

/// Argon2id takes ~19 MiB and tens of milliseconds of one core per hash. Running more hashes at
/// once than there are cores only queues them inside the CPU and multiplies memory; this gate
/// keeps it to one per core (a burst of log-ins waits here instead).
fn hash_gate() -> &'static tokio::sync::Semaphore {
    static GATE: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    GATE.get_or_init(|| {
        tokio::sync::Semaphore::new(
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
        )
    })
}

pub async fn hash_password(password: &str) -> Result<String> {
    let pw = password.to_string();
    let _permit = hash_gate()
        .acquire()
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(pw.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| AppError::Internal(e.to_string()))
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))?
}

pub async fn verify_password(password: &str, hash: &str) -> bool {
    let pw = password.to_string();
    let h = hash.to_string();
    let Ok(_permit) = hash_gate().acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .verify_password(pw.as_bytes(), h.as_str())
            .is_ok()
    })
    .await
    .unwrap_or(false)
}

fn dummy_hash() -> &'static str {
    static H: OnceLock<String> = OnceLock::new();
    H.get_or_init(|| {
        Argon2::default()
            .hash_password(b"linli-timing-equaliser")
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

pub fn normalize_username(s: &str) -> Result<String> {
    let u = s.trim().to_lowercase();
    if u.is_empty() || u.chars().count() > 64 {
        return Err(AppError::invalid(
            "invalid_username",
            "用户名须为 1–64 个字符",
        ));
    }
    if !u
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(AppError::invalid(
            "invalid_username",
            "用户名只能包含字母、数字和 . _ -",
        ));
    }
    Ok(u)
}

/// What a password check leads to.
pub enum LoginOutcome {
    /// Fully signed in: set this token as the session cookie.
    Active { token: String, session: Session },
    /// Password accepted; a code from the authenticator app is needed next.
    NeedTotp { token: String },
    /// Password accepted; the user's role requires a second factor they have not set up yet.
    NeedEnrol { token: String, secret: Vec<u8> },
}

fn actor_for<'a>(u: &'a User, ctx: &'a Ctx) -> Actor<'a> {
    Actor {
        user_id: Some(u.id),
        username: &u.username,
        unit_id: Some(u.unit_id),
        chain: linli_domain::org::tenant_of_path(&u.unit_path),
        ctx,
    }
}

fn anon_actor<'a>(username: &'a str, ctx: &'a Ctx) -> Actor<'a> {
    Actor {
        user_id: None,
        username,
        unit_id: None,
        chain: linli_domain::org::ROOT_TENANT.to_string(),
        ctx,
    }
}

async fn new_session(
    app: &App,
    tx: &mut Tx,
    user: &User,
    stage: &str,
    pending: Option<Vec<u8>>,
    ctx: &Ctx,
) -> Result<(String, Session)> {
    let now = app.now();
    let token = random_token();
    let s = Session {
        id: linli_domain::ids::new_id(),
        user_id: user.id,
        stage: stage.to_string(),
        csrf_token: hex::encode(random_bytes::<24>()),
        pending_secret: pending,
        created_at: now,
        last_seen_at: now,
        expires_at: now.plus_secs(app.cfg.session_max_secs),
        ip: ctx.ip.chars().take(64).collect(),
        user_agent: ctx.user_agent.chars().take(256).collect(),
    };
    sessions::insert(tx, &s, &token_hash(&token)).await?;
    Ok((token, s))
}

/// Check a username and password (and, for one-step API log-in, a TOTP code).
pub async fn login(
    app: &App,
    username: &str,
    password: &str,
    code: Option<&str>,
    ctx: &Ctx,
) -> Result<LoginOutcome> {
    let username = normalize_username(username).map_err(|_| AppError::BadCredentials)?;
    if password.len() > 1024 {
        return Err(AppError::BadCredentials);
    }
    let user = users::by_username(&app.db, &username).await?;
    let ok = match &user {
        Some(u) => verify_password(password, &u.password_hash).await,
        None => {
            let _ = verify_password(password, dummy_hash()).await;
            false
        }
    };
    let now = app.now();
    let Some(user) = user else {
        write_tx!(app, |tx| {
            record(
                &mut tx,
                now,
                anon_actor(&username, ctx),
                Event::ok("login", "user", &username)
                    .result("failed")
                    .reason("用户名不存在"),
            )
            .await?;
        })?;
        return Err(AppError::BadCredentials);
    };

    let user = &user;
    retry(|| async move {
        let mut tx = app.db.begin_write().await?;
        // Re-read inside the transaction: the lock state may have moved while we hashed.
        let u = users::get_tx(&mut tx, user.id)
            .await?
            .ok_or(AppError::BadCredentials)?;
        if let Some(until) = u.locked_until
            && until > now
        {
            record(
                &mut tx,
                now,
                actor_for(&u, ctx),
                Event::ok("login", "user", u.id)
                    .result("denied")
                    .reason("账号锁定中"),
            )
            .await?;
            tx.commit().await?;
            return Ok(Err(AppError::Locked {
                minutes: ((until.0 - now.0) / 60_000_000).max(1),
            }));
        }
        if !ok {
            let (failed, lock) = after_failure(&app.cfg.lockout, u.failed_count, now);
            users::record_failure(&mut tx, u.id, failed, lock, now).await?;
            let reason = if lock.is_some() {
                "密码错误，账号已锁定"
            } else {
                "密码错误"
            };
            record(
                &mut tx,
                now,
                actor_for(&u, ctx),
                Event::ok("login", "user", u.id)
                    .result("failed")
                    .reason(reason),
            )
            .await?;
            tx.commit().await?;
            return Ok(Err(match lock {
                Some(_) => AppError::Locked {
                    minutes: (app.cfg.lockout.lock_secs / 60).max(1),
                },
                None => AppError::BadCredentials,
            }));
        }
        if u.disabled {
            record(
                &mut tx,
                now,
                actor_for(&u, ctx),
                Event::ok("login", "user", u.id)
                    .result("denied")
                    .reason("账号已停用"),
            )
            .await?;
            tx.commit().await?;
            return Ok(Err(AppError::Disabled));
        }
        users::record_success(&mut tx, u.id, now).await?;
        let required = roles::requires_totp(&mut tx, u.id).await?;
        let outcome = match (&u.totp_secret, code) {
            (Some(secret), Some(code)) => {
                let Some(counter) = totp::verify(
                    secret,
                    code,
                    now.unix_secs(),
                    u.totp_last_counter.map(|c| c as u64),
                ) else {
                    let (failed, lock) = after_failure(&app.cfg.lockout, u.failed_count, now);
                    users::record_failure(&mut tx, u.id, failed, lock, now).await?;
                    record(
                        &mut tx,
                        now,
                        actor_for(&u, ctx),
                        Event::ok("login", "user", u.id)
                            .result("failed")
                            .reason("动态验证码错误"),
                    )
                    .await?;
                    tx.commit().await?;
                    return Ok(Err(AppError::BadTotp));
                };
                users::use_totp_counter(&mut tx, u.id, counter as i64).await?;
                let (token, s) = new_session(app, &mut tx, &u, STAGE_ACTIVE, None, ctx).await?;
                LoginOutcome::Active { token, session: s }
            }
            (Some(_), None) => {
                let (token, _) = new_session(app, &mut tx, &u, STAGE_TOTP, None, ctx).await?;
                LoginOutcome::NeedTotp { token }
            }
            (None, _) if required => {
                let secret = random_bytes::<20>().to_vec();
                let (token, _) =
                    new_session(app, &mut tx, &u, STAGE_ENROL, Some(secret.clone()), ctx).await?;
                LoginOutcome::NeedEnrol { token, secret }
            }
            (None, _) => {
                let (token, s) = new_session(app, &mut tx, &u, STAGE_ACTIVE, None, ctx).await?;
                LoginOutcome::Active { token, session: s }
            }
        };
        let stage = match &outcome {
            LoginOutcome::Active { .. } => "已登录",
            LoginOutcome::NeedTotp { .. } => "待动态验证码",
            LoginOutcome::NeedEnrol { .. } => "待绑定动态验证码",
        };
        record(
            &mut tx,
            now,
            actor_for(&u, ctx),
            Event::ok("login", "user", u.id).reason(stage),
        )
        .await?;
        tx.commit().await?;
        Ok::<_, AppError>(Ok(outcome))
    })
    .await?
}

/// Finish a half-open session with a TOTP code (after [`LoginOutcome::NeedTotp`] or
/// [`LoginOutcome::NeedEnrol`]). Returns a fresh token: the pre-factor token stops working.
pub async fn complete_totp(
    app: &App,
    token: &str,
    code: &str,
    ctx: &Ctx,
) -> Result<(String, Session)> {
    let hash = token_hash(token);
    let now = app.now();
    let s = sessions::by_token_hash(&app.db, &hash)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    if s.stage == STAGE_ACTIVE || s.expires_at < now || s.last_seen_at.plus_secs(600) < now {
        return Err(AppError::Unauthenticated);
    }
    retry(|| async {
        let mut tx = app.db.begin_write().await?;
        let u = users::get_tx(&mut tx, s.user_id)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let (secret, enrol) = match (s.stage.as_str(), &s.pending_secret, &u.totp_secret) {
            (STAGE_ENROL, Some(p), _) => (p.clone(), true),
            (STAGE_TOTP, _, Some(sec)) => (sec.clone(), false),
            _ => return Err(AppError::Unauthenticated),
        };
        let last = if enrol {
            None
        } else {
            u.totp_last_counter.map(|c| c as u64)
        };
        let Some(counter) = totp::verify(&secret, code, now.unix_secs(), last) else {
            let (failed, lock) = after_failure(&app.cfg.lockout, u.failed_count, now);
            users::record_failure(&mut tx, u.id, failed, lock, now).await?;
            if lock.is_some() {
                sessions::delete(&mut tx, s.id).await?;
            }
            record(
                &mut tx,
                now,
                actor_for(&u, ctx),
                Event::ok("login.totp", "user", u.id)
                    .result("failed")
                    .reason("动态验证码错误"),
            )
            .await?;
            tx.commit().await?;
            return Ok(Err(if lock.is_some() {
                AppError::Locked {
                    minutes: (app.cfg.lockout.lock_secs / 60).max(1),
                }
            } else {
                AppError::BadTotp
            }));
        };
        if enrol {
            users::set_totp(&mut tx, u.id, Some(secret), Some(counter as i64), now).await?;
            record(
                &mut tx,
                now,
                actor_for(&u, ctx),
                Event::ok("totp.enrol", "user", u.id),
            )
            .await?;
        } else if !users::use_totp_counter(&mut tx, u.id, counter as i64).await? {
            tx.commit().await?;
            return Ok(Err(AppError::BadTotp));
        }
        sessions::delete(&mut tx, s.id).await?;
        let out = new_session(app, &mut tx, &u, STAGE_ACTIVE, None, ctx).await?;
        record(
            &mut tx,
            now,
            actor_for(&u, ctx),
            Event::ok("login.totp", "user", u.id),
        )
        .await?;
        tx.commit().await?;
        Ok::<_, AppError>(Ok(out))
    })
    .await?
}

/// The half-open session behind a token, for rendering the TOTP step (enrolment shows the
/// secret again).
pub async fn pending_session(app: &App, token: &str) -> Result<(Session, User)> {
    let (s, u) = sessions::with_user(&app.db, &token_hash(token))
        .await?
        .ok_or(AppError::Unauthenticated)?;
    if s.stage == STAGE_ACTIVE || s.expires_at < app.now() {
        return Err(AppError::Unauthenticated);
    }
    Ok((s, u))
}

/// Each user's grants as last read, keyed by the user's `version`: assigning or revoking a role
/// bumps it in the same transaction ([`roles::grant`], [`roles::revoke`]), and every request
/// reads the user row afresh, so a change is seen on the very next request on every server.
/// Entries also expire after [`GRANT_TTL`], which bounds how long the rarer changes that do not
/// touch the user row take to arrive (a role's permission list after an upgrade, a moved unit).
#[derive(Default)]
pub struct GrantCache(std::sync::Mutex<HashMap<Uuid, CachedGrants>>);

/// The user's version the grants were read at, the grants, and when.
type CachedGrants = (i64, Vec<Grant>, Instant);

pub const GRANT_TTL: Duration = Duration::from_secs(60);
const GRANT_CACHE_MAX: usize = 100_000;

async fn grants_for(app: &App, u: &User) -> Result<Vec<Grant>> {
    if let Ok(m) = app.grants.0.lock()
        && let Some((v, g, at)) = m.get(&u.id)
        && *v == u.version
        && at.elapsed() < GRANT_TTL
    {
        return Ok(g.clone());
    }
    let g = roles::grants_of(&app.db, u.id).await?;
    if let Ok(mut m) = app.grants.0.lock() {
        if m.len() >= GRANT_CACHE_MAX {
            m.clear();
        }
        m.insert(u.id, (u.version, g.clone(), Instant::now()));
    }
    Ok(g)
}

async fn principal_for(app: &App, u: &User, ctx: Ctx) -> Result<Principal> {
    let grants = grants_for(app, u).await?;
    Ok(Principal {
        user_id: u.id,
        username: u.username.clone(),
        display_name: u.display_name.clone(),
        unit_id: u.unit_id,
        unit_path: u.unit_path.clone(),
        authz: Authz {
            user_id: u.id,
            grants,
        },
        session_id: None,
        token_id: None,
        csrf: None,
        registry_fields: None,
        must_change_password: u.must_change_password,
        totp_enabled: u.totp_secret.is_some(),
        ctx,
    })
}

/// Resolve a session cookie to a principal, enforcing idle and absolute expiry.
pub async fn resolve_session(app: &App, token: &str, ctx: Ctx) -> Result<Principal> {
    if token.len() > 128 {
        return Err(AppError::Unauthenticated);
    }
    let now = app.now();
    let (s, u) = sessions::with_user(&app.db, &token_hash(token))
        .await?
        .ok_or(AppError::Unauthenticated)?;
    if s.stage != STAGE_ACTIVE {
        return Err(AppError::Unauthenticated);
    }
    if s.expires_at < now || s.last_seen_at.plus_secs(app.cfg.session_idle_secs) < now {
        let mut tx = app.db.begin_write().await?;
        sessions::delete(&mut tx, s.id).await?;
        tx.commit().await?;
        return Err(AppError::Unauthenticated);
    }
    if u.disabled {
        return Err(AppError::Unauthenticated);
    }
    // Write activity at most once a minute: most requests cost no write at all.
    if s.last_seen_at.plus_secs(TOUCH_GAP_SECS) < now {
        sessions::touch(&app.db, s.id, now, TOUCH_GAP_SECS).await?;
    }
    let mut p = principal_for(app, &u, ctx).await?;
    p.session_id = Some(s.id);
    p.csrf = Some(s.csrf_token);
    Ok(p)
}

/// What a token limited to resident fields may not do.
const REGISTRY_BEYOND_READING: &[linli_domain::auth::Permission] = &[
    linli_domain::auth::Permission::RegistryWrite,
    linli_domain::auth::Permission::RegistryImport,
    linli_domain::auth::Permission::RegistryUnmask,
    linli_domain::auth::Permission::RegistryRights,
];

/// Resolve `Authorization: Bearer …`. A token acts as its account, narrowed to the token's unit.
pub async fn resolve_api_token(app: &App, token: &str, ctx: Ctx) -> Result<Principal> {
    if token.len() > 128 {
        return Err(AppError::Unauthenticated);
    }
    let now = app.now();
    let t = tokens::by_hash(&app.db, &token_hash(token))
        .await?
        .ok_or(AppError::Unauthenticated)?;
    if t.revoked_at.is_some() || t.expires_at.is_some_and(|e| e < now) {
        return Err(AppError::Unauthenticated);
    }
    let u = users::get(&app.db, t.user_id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    if u.disabled {
        return Err(AppError::Unauthenticated);
    }
    tokens::touch(&app.db, t.id, now).await?;
    let mut p = principal_for(app, &u, ctx).await?;
    // Narrow every grant to the token's subtree: a grant above it is cut down to the token's
    // unit, a grant elsewhere disappears.
    p.authz.grants = p
        .authz
        .grants
        .into_iter()
        .filter_map(|mut g| {
            if g.unit_path.starts_with(&t.unit_path) {
                Some(g)
            } else if t.unit_path.starts_with(&g.unit_path)
                && g.scope == linli_domain::auth::DataScope::Subtree
            {
                g.unit_id = t.unit_id;
                g.unit_path = t.unit_path.clone();
                Some(g)
            } else {
                None
            }
        })
        .collect();
    // A department's field grant reads the registry and nothing more: no registry writes, no
    // unmasking, no rights requests, no imports (whatever the account's role could do).
    p.registry_fields = crate::tokens::granted(t.registry_fields.as_deref());
    if p.registry_fields.is_some() {
        for g in &mut p.authz.grants {
            g.permissions
                .retain(|x| !REGISTRY_BEYOND_READING.contains(x));
        }
    }
    p.token_id = Some(t.id);
    Ok(p)
}

pub async fn logout(app: &App, p: &Principal) -> Result<()> {
    let Some(sid) = p.session_id else {
        return Ok(());
    };
    let now = app.now();
    write_tx!(app, |tx| {
        sessions::delete(&mut tx, sid).await?;
        record(&mut tx, now, p.into(), Event::ok("logout", "session", sid)).await?;
    })
}

/// End every session of the caller (登出所有设备), including the current one.
pub async fn logout_everywhere(app: &App, p: &Principal) -> Result<u64> {
    let now = app.now();
    write_tx!(app, |tx| {
        let n = sessions::delete_for_user(&mut tx, p.user_id).await?;
        record(
            &mut tx,
            now,
            p.into(),
            Event::ok("logout.all", "user", p.user_id).detail(serde_json::json!({"sessions": n})),
        )
        .await?;
        n
    })
}

pub async fn my_sessions(app: &App, p: &Principal) -> Result<Vec<Session>> {
    Ok(sessions::list_for_user(&app.db, p.user_id).await?)
}

/// End one of the caller's own sessions.
pub async fn end_my_session(app: &App, p: &Principal, id: Uuid) -> Result<()> {
    let now = app.now();
    write_tx!(app, |tx| {
        let s = sessions::get_tx(&mut tx, id)
            .await?
            .filter(|s| s.user_id == p.user_id)
            .ok_or(AppError::NotFound("会话"))?;
        sessions::delete(&mut tx, s.id).await?;
        record(
            &mut tx,
            now,
            p.into(),
            Event::ok("session.end", "session", s.id),
        )
        .await?;
    })
}

/// Change one's own password; every other session of the account ends.
pub async fn change_password(app: &App, p: &Principal, current: &str, new: &str) -> Result<()> {
    app.cfg
        .password
        .check(&p.username, new)
        .map_err(|e| AppError::invalid("weak_password", e.to_string()))?;
    let u = users::get(&app.db, p.user_id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    if !verify_password(current, &u.password_hash).await {
        return Err(AppError::invalid(
            "wrong_current_password",
            "当前密码不正确",
        ));
    }
    if verify_password(new, &u.password_hash).await {
        return Err(AppError::invalid(
            "same_password",
            "新密码不能与当前密码相同",
        ));
    }
    let hash = hash_password(new).await?;
    let now = app.now();
    write_tx!(app, |tx| {
        users::set_password(&mut tx, p.user_id, &hash, false, now).await?;
        if let Some(keep) = p.session_id {
            sessions::delete_for_user_except(&mut tx, p.user_id, keep).await?;
        }
        record(
            &mut tx,
            now,
            p.into(),
            Event::ok("password.change", "user", p.user_id),
        )
        .await?;
    })
}

/// Start enrolling a TOTP authenticator from the profile page: a new secret is parked on the
/// session until a code proves the app has it.
pub async fn begin_totp_enrolment(app: &App, p: &Principal) -> Result<Vec<u8>> {
    let sid = p.session_id.ok_or(AppError::Forbidden)?;
    let secret = random_bytes::<20>().to_vec();
    let mut tx = app.db.begin_write().await?;
    sessions::set_pending_secret(&mut tx, sid, Some(secret.clone())).await?;
    tx.commit().await?;
    Ok(secret)
}

pub async fn pending_enrolment_secret(app: &App, p: &Principal) -> Result<Option<Vec<u8>>> {
    let sid = p.session_id.ok_or(AppError::Forbidden)?;
    let mut tx = app.db.begin_read().await?;
    Ok(sessions::get_tx(&mut tx, sid)
        .await?
        .and_then(|s| s.pending_secret))
}

pub async fn confirm_totp_enrolment(app: &App, p: &Principal, code: &str) -> Result<()> {
    let sid = p.session_id.ok_or(AppError::Forbidden)?;
    let now = app.now();
    write_tx!(app, |tx| {
        let s = sessions::get_tx(&mut tx, sid)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let secret = s
            .pending_secret
            .ok_or_else(|| AppError::invalid("no_pending_enrolment", "请先生成新的密钥"))?;
        let counter =
            totp::verify(&secret, code, now.unix_secs(), None).ok_or(AppError::BadTotp)?;
        users::set_totp(&mut tx, p.user_id, Some(secret), Some(counter as i64), now).await?;
        sessions::set_pending_secret(&mut tx, sid, None).await?;
        record(
            &mut tx,
            now,
            p.into(),
            Event::ok("totp.enrol", "user", p.user_id),
        )
        .await?;
    })
}

/// Purge sessions that can no longer be used (run periodically by the server).
pub async fn purge_sessions(app: &App) -> Result<u64> {
    Ok(sessions::purge_expired(&app.db, app.now(), app.cfg.session_idle_secs).await?)
}
