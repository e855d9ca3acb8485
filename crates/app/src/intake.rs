//! Intake suggestions: what a request is about (the dispatch-catalogue categories the district's
//! classifier proposes, with confidence) and where it is (the street and community its address
//! names). Suggestions only ever help: without a model, or for an address that resolves to
//! nothing, intake works exactly as before.
//!
//! **Models.** Each district (tenant) has its own model, trained from its own finished cases
//! (待回访 and 已回访: their final category, title and description — never personal data) with
//! [`linli_classify`]. Training runs on demand ([`train`]: a catalogue manager of the district) or
//! on a schedule ([`AppConfig::classifier_retrain_hours`](crate::AppConfig)) inside the sweeper
//! loop. The model is stored content-addressed in the blob store (`models/<hh>/<sha256>`), and its
//! key is recorded as the result of the job lease `classifier:<tenant>`; every server compares
//! that key with the model it holds on each sweeper round ([`refresh`]) and loads a new one, so
//! a model trained on one server is used by all (with the S3 store, or a shared `fs` directory).
//! The lease also keeps two servers from training the same district at once.

use std::collections::HashMap;
use std::sync::RwLock;

use linli_classify::{Model, Options, Sample, Suggester};
use linli_store::repo::cases as case_repo;
use linli_store::repo::catalogue as cat_repo;
use linli_store::repo::jobs;
use sha2::{Digest, Sha256};

use crate::audit::{Actor, Event, record};
use crate::catalogue::{self, DISPATCH};
use crate::{App, AppError, Principal, Result};

/// Fewest finished cases worth learning from.
pub const MIN_SAMPLES: usize = 50;
/// Most cases one training reads (the newest).
pub const MAX_SAMPLES: i64 = 200_000;
/// A first suggestion at least this sure may pre-fill the form (on the sample data about six
/// texts in ten reach it, and nine in ten of those are right: docs/classify.md).
pub const PREFILL_SCORE: f32 = 0.8;
/// How long a training may hold its lease.
const TRAIN_LEASE_SECS: i64 = 3600;

fn job_name(tenant: &str) -> String {
    format!("classifier:{tenant}")
}

/// The models this server holds, by tenant, with the blob key each was loaded from.
#[derive(Default)]
pub struct Models(RwLock<HashMap<String, (String, Suggester)>>);

impl Models {
    fn get(&self, tenant: &str) -> Option<(String, Suggester)> {
        self.0.read().ok()?.get(tenant).cloned()
    }

    fn put(&self, tenant: &str, key: String, s: Suggester) {
        if let Ok(mut m) = self.0.write() {
            m.insert(tenant.to_string(), (key, s));
        }
    }
}

/// One proposed category: the model's label (a catalogue code) and the item it names in the
/// district's active catalogue, when it still exists there.
#[derive(Debug, Clone)]
pub struct CategorySuggestion {
    pub code: String,
    pub score: f32,
    pub item: Option<catalogue::Entry>,
}

/// What a district's model can say about a text.
#[derive(Debug, Clone, Default)]
pub struct CategorySuggestions {
    pub items: Vec<CategorySuggestion>,
    /// The first suggestion's item, when sure enough to pre-fill ([`PREFILL_SCORE`]).
    pub prefill: Option<catalogue::Entry>,
    /// Why there are no suggestions, when there is no usable model.
    pub problem: Option<String>,
}

/// The top three categories for a request text in `tenant`. Needs the right to read the
/// district's catalogue (every intake and dispatch role has it).
pub async fn suggest_categories(
    app: &App,
    p: &Principal,
    tenant: &str,
    text: &str,
) -> Result<CategorySuggestions> {
    catalogue::for_reading(app, p, tenant).await?;
    suggest_in(app, tenant, text).await
}

/// [`suggest_categories`] without the permission check, for callers that decided who may ask
/// (the resident portal asks for its own district's public catalogue).
pub(crate) async fn suggest_in(app: &App, tenant: &str, text: &str) -> Result<CategorySuggestions> {
    let Some((_, suggester)) = app.models.get(tenant) else {
        return Ok(CategorySuggestions {
            problem: Some("本区尚未训练分类模型".into()),
            ..Default::default()
        });
    };
    if let Some((_, why)) = suggester.problem() {
        return Ok(CategorySuggestions {
            problem: Some(why.to_string()),
            ..Default::default()
        });
    }
    let text: String = text.chars().take(linli_text::DEFAULT_MAX_CHARS).collect();
    let found = tokio::task::spawn_blocking(move || suggester.suggest(&text, 3))
        .await
        .map_err(|e| AppError::Internal(format!("classifier task: {e}")))?;
    let version = cat_repo::active_version(&app.db, tenant, DISPATCH).await?;
    let mut items = Vec::new();
    for s in found {
        let item = match &version {
            Some(v) => cat_repo::item_by_code(&app.db, tenant, v.id, &s.label)
                .await?
                .map(|r| catalogue::entry_of(&r, v.version)),
            None => None,
        };
        items.push(CategorySuggestion {
            code: s.label,
            score: s.score,
            item,
        });
    }
    let prefill = items
        .first()
        .filter(|s| s.score >= PREFILL_SCORE)
        .and_then(|s| s.item.clone())
        .filter(|e| e.leaf);
    Ok(CategorySuggestions {
        items,
        prefill,
        problem: None,
    })
}

/// What a training did.
#[derive(Debug, Clone)]
pub struct Trained {
    pub tenant: String,
    pub samples: usize,
    pub labels: usize,
    pub key: String,
    pub seconds: f64,
}

/// Train `tenant`'s model now, from its finished cases (a catalogue manager of the district).
pub async fn train(app: &App, p: &Principal, tenant: &str) -> Result<Trained> {
    catalogue::for_managing(app, p, tenant).await?;
    let owner = format!("train-{}", p.user_id);
    let t = run(app, tenant, &owner).await?;
    write_tx!(app, |tx| {
        record(
            &mut tx,
            app.now(),
            Actor::from(p),
            Event::ok("classifier.train", "classifier", tenant).detail(serde_json::json!({
                "samples": t.samples, "labels": t.labels, "model": t.key,
            })),
        )
        .await?;
    })?;
    Ok(t)
}

/// Train under the district's lease, store the model, record its key, and use it here.
async fn run(app: &App, tenant: &str, owner: &str) -> Result<Trained> {
    let now = app.now();
    let job = job_name(tenant);
    if !jobs::acquire(&app.db, &job, owner, now, now.plus_secs(TRAIN_LEASE_SECS)).await? {
        return Err(AppError::Refused {
            key: "training_running",
            message: "本区的分类模型正在训练，请稍后再试".into(),
        });
    }
    let out = fit(app, tenant).await;
    // Free the lease whatever happened; a success also records the model's key.
    let result = match &out {
        Ok(t) => t.key.clone(),
        Err(e) => format!("failed: {}", e.key()),
    };
    jobs::finish(&app.db, &job, owner, app.now(), &result).await?;
    jobs::release(&app.db, &job, owner).await?;
    out
}

async fn fit(app: &App, tenant: &str) -> Result<Trained> {
    let started = std::time::Instant::now();
    let rows = case_repo::training_samples(&app.db, tenant, MAX_SAMPLES).await?;
    let samples: Vec<Sample> = rows
        .into_iter()
        .map(|(text, label)| Sample::new(text, label))
        .collect();
    let mut labels: Vec<&str> = samples.iter().map(|s| s.label.as_str()).collect();
    labels.sort_unstable();
    labels.dedup();
    let labels = labels.len();
    if samples.len() < MIN_SAMPLES || labels < 2 {
        return Err(AppError::invalid(
            "too_few_cases",
            format!(
                "已办结且有分类的工单只有 {} 件（{labels} 类），至少需要 {MIN_SAMPLES} 件、2 类才能训练",
                samples.len()
            ),
        ));
    }
    let n = samples.len();
    let model = tokio::task::spawn_blocking(move || {
        linli_classify::train(&samples, &Options::default()).map(|m| {
            let bytes = m.to_bytes();
            (m, bytes)
        })
    })
    .await
    .map_err(|e| AppError::Internal(format!("training task: {e}")))?
    .map_err(|e| AppError::invalid("training_failed", e.to_string()))?;
    let (model, bytes) = model;
    let sha = hex::encode(Sha256::digest(&bytes));
    let key = crate::blobs::content_key("models", &sha)
        .map_err(|e| AppError::Internal(format!("model key: {e}")))?;
    app.blobs
        .put(&key, &bytes)
        .await
        .map_err(|e| AppError::Internal(format!("storing the model: {e}")))?;
    app.models
        .put(tenant, key.clone(), Suggester::from_model(model));
    Ok(Trained {
        tenant: tenant.to_string(),
        samples: n,
        labels,
        key,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Load every district model recorded in the job leases that this server does not hold yet
/// (at start and on every sweeper round). A model that cannot be read leaves a suggester that
/// says why and suggests nothing.
pub async fn refresh(app: &App) -> Result<usize> {
    let mut loaded = 0;
    for l in jobs::all(&app.db).await? {
        let Some(tenant) = l.name.strip_prefix("classifier:") else {
            continue;
        };
        if !l.last_result.starts_with("models/") {
            continue;
        }
        if app
            .models
            .get(tenant)
            .is_some_and(|(k, _)| k == l.last_result)
        {
            continue;
        }
        let suggester = match app.blobs.get(&l.last_result).await {
            Ok(bytes) => match Model::from_bytes(&bytes) {
                Ok(m) => Suggester::from_model(m),
                Err(e) => Suggester::without_model(&e),
            },
            Err(e) => {
                tracing::warn!(tenant, error = %e, "classifier model not readable");
                continue;
            }
        };
        app.models.put(tenant, l.last_result.clone(), suggester);
        loaded += 1;
    }
    Ok(loaded)
}

/// The scheduled retraining: every district with an active catalogue whose model is older than
/// `every_hours` (or missing) is trained again. Too few cases is not an error here; it is
/// recorded and tried again next period.
pub async fn retrain_due(app: &App, owner: &str, every_hours: i64) -> Result<usize> {
    if every_hours <= 0 {
        return Ok(0);
    }
    let now = app.now();
    let last: HashMap<String, Option<linli_domain::Ts>> = jobs::all(&app.db)
        .await?
        .into_iter()
        .map(|l| (l.name, l.last_run_at))
        .collect();
    let mut trained = 0;
    for tenant in cat_repo::tenants_with_active(&app.db, DISPATCH).await? {
        let due = match last.get(&job_name(&tenant)).copied().flatten() {
            Some(t) => t.plus_secs(every_hours * 3600) <= now,
            None => true,
        };
        if !due {
            continue;
        }
        match run(app, &tenant, owner).await {
            Ok(t) => {
                tracing::info!(tenant, samples = t.samples, "classifier retrained");
                trained += 1;
            }
            Err(e) if e.key() == "too_few_cases" || e.key() == "training_running" => {}
            Err(e) => tracing::warn!(tenant, error = %e, "classifier retraining failed"),
        }
    }
    Ok(trained)
}
